package worker

import (
	"bytes"
	"context"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index"
)

// MemoryBucket is an index bucket in memory, for the simulator and tests:
// the workers' Objects and the engine's IndexObjects in one.
type MemoryBucket struct {
	mu   sync.Mutex
	objs map[string][]byte
}

var (
	_ Objects             = (*MemoryBucket)(nil)
	_ engine.IndexObjects = (*MemoryBucket)(nil)
)

// NewMemoryBucket returns an empty bucket.
func NewMemoryBucket() *MemoryBucket { return &MemoryBucket{objs: map[string][]byte{}} }

// Open implements Objects.
func (m *MemoryBucket) Open(_ context.Context, key string) (io.ReaderAt, int64, error) {
	b, ok := m.Get(key)
	if !ok {
		return nil, 0, engine.Errorf(engine.ENOTFOUND, "open %s: no such object", key)
	}
	return bytes.NewReader(b), int64(len(b)), nil
}

// Upload implements Objects: the object appears only if write succeeds.
func (m *MemoryBucket) Upload(ctx context.Context, key string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	return m.Put(ctx, key, b.Bytes())
}

// Put implements Objects.
func (m *MemoryBucket) Put(_ context.Context, key string, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[key] = slices.Clone(body)
	return nil
}

// Get returns a copy of an object.
func (m *MemoryBucket) Get(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	return slices.Clone(b), ok
}

// DeleteIndex implements engine.IndexObjects: deleting an absent object
// is no error, as in S3; a key that is not an index's is refused, as
// awscloud.Bucket refuses it.
func (m *MemoryBucket) DeleteIndex(_ context.Context, key string) error {
	if !strings.HasPrefix(key, engine.IndexesPrefix) || !strings.HasSuffix(key, ".idx") {
		return engine.Errorf(engine.EINVALID, "delete %s: not an index key", key)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, key)
	return nil
}

// Keys lists the objects' keys, sorted.
func (m *MemoryBucket) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.objs))
	for k := range m.objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// IndexInfo implements engine.IndexObjects: it opens the index at key (and
// its base, a sibling key, for a delta).
func (m *MemoryBucket) IndexInfo(ctx context.Context, key string) (engine.IndexSummary, error) {
	r, size, err := m.Open(ctx, key)
	if err != nil {
		return engine.IndexSummary{}, err
	}
	base := ""
	idx, err := index.Open(r, size, &index.OpenOptions{OpenBase: func(loc string) (io.ReaderAt, int64, error) {
		base = path.Join(path.Dir(key), loc)
		return m.Open(ctx, base)
	}})
	if err != nil {
		return engine.IndexSummary{}, &engine.Error{Code: engine.EINVALID, Message: "read index " + key, Err: err}
	}
	i := idx.Info()
	return engine.IndexSummary{FileSystemID: i.FileSystemID, RecoveryPointArn: i.RestorePointARN, Entries: i.Entries,
		Records: i.Records, Bytes: i.Size, WalkErrors: i.ErrorCount, BaseKey: base}, nil
}
