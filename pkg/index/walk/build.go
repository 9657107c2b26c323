package walk

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/efskeeper/efskeeper/pkg/index"
)

// BuildOptions configures Build.
type BuildOptions struct {
	// Walk options; OnError is set by Build.
	Walk Options
	// Meta is recorded in the index. IndexCreated defaults to now.
	Meta index.Meta
	// Base and BaseLocation make a delta index (see index.WriterOptions).
	Base         *index.Reader
	BaseLocation string
}

// Build walks root and writes its index to out.
func Build(ctx context.Context, root string, out io.Writer, opts BuildOptions) (index.Stats, error) {
	if opts.Meta.IndexCreated.IsZero() {
		opts.Meta.IndexCreated = time.Now()
	}
	if opts.Meta.Source == "" {
		opts.Meta.Source = root
	}
	w, err := index.NewWriter(out, index.WriterOptions{Meta: opts.Meta, Base: opts.Base, BaseLocation: opts.BaseLocation})
	if err != nil {
		return index.Stats{}, err
	}
	wo := opts.Walk
	wo.OnError = func(path string, err error) {
		w.AddError(path, err)
		if opts.Walk.OnError != nil {
			opts.Walk.OnError(path, err)
		}
	}
	// The writer takes each entry as its directory's path and its name,
	// which the walker holds anyway: no path string per entry.
	add := func(e *index.Entry, dir, name []byte) error { return w.AddIn(dir, name, e) }
	if err := walkTree(ctx, root, wo, add, false); err != nil {
		return w.Stats(), fmt.Errorf("index %s: %w", root, err)
	}
	if err := w.Close(); err != nil {
		return w.Stats(), fmt.Errorf("index %s: %w", root, err)
	}
	return w.Stats(), nil
}
