package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/s3index"
	"github.com/efskeeper/efskeeper/pkg/index/walk"
)

func init() { commandGroups = append(commandGroups, newIndexCmd) }

func newIndexCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Build and read EFS file indexes (local files or s3://bucket/key)",
	}
	cmd.AddCommand(newIndexBuildCmd(), newIndexLsCmd(), newIndexSearchCmd(), newIndexDumpCmd(), newIndexHistoryCmd())
	return cmd
}

// indexStore opens index locations, sharing one S3 client.
type indexStore struct {
	ctx    context.Context
	once   sync.Once
	client *s3.Client
	err    error
}

func (s *indexStore) s3() (*s3.Client, error) {
	s.once.Do(func() { s.client, s.err = s3index.NewClient(s.ctx) })
	return s.client, s.err
}

func (s *indexStore) openRaw(loc string) (io.ReaderAt, int64, error) {
	if bucket, key, ok := s3index.ParseURL(loc); ok {
		c, err := s.s3()
		if err != nil {
			return nil, 0, err
		}
		o, err := s3index.Open(s.ctx, c, bucket, key, 0)
		if err != nil {
			return nil, 0, err
		}
		return o, o.Size(), nil
	}
	f, err := os.Open(loc)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	return f, st.Size(), nil
}

func (s *indexStore) open(loc string) (*index.Reader, error) {
	r, size, err := s.openRaw(loc)
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", loc, err)
	}
	rd, err := index.Open(r, size, &index.OpenOptions{OpenBase: func(base string) (io.ReaderAt, int64, error) {
		return s.openRaw(s3index.Resolve(loc, base))
	}})
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", loc, err)
	}
	return rd, nil
}

func newIndexBuildCmd() *cobra.Command {
	var source, out, base, fsID, arn, backupTime string
	var workers int
	cmd := &cobra.Command{
		Use:   "build --source DIR --out FILE|s3://BUCKET/KEY",
		Short: "Walk a directory tree and write its index",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if source == "" || out == "" {
				return usageError(cmd, "needs --source DIR and --out FILE or s3://BUCKET/KEY")
			}
			meta := index.Meta{FileSystemID: fsID, RestorePointARN: arn, Source: source}
			if backupTime != "" {
				t, err := time.Parse(time.RFC3339Nano, backupTime)
				if err != nil {
					return usageError(cmd, "--backup-time %q is not an RFC 3339 time (like 2025-03-01T02:00:00Z)", backupTime)
				}
				meta.BackupCreated = t
			}
			store := &indexStore{ctx: cmd.Context()}
			opts := walk.BuildOptions{Meta: meta, Walk: walk.Options{Workers: workers, Stats: &walk.Stats{}}}
			if base != "" {
				b, err := store.open(base)
				if err != nil {
					return err
				}
				if ref := b.Info().Base; ref != nil { // deltas are always over a full index
					return fmt.Errorf("--base %s is a delta index; give its full base index instead (%s)", base, s3index.Resolve(base, ref.Location))
				}
				opts.Base = b
				opts.BaseLocation = relativeTo(out, base)
			}
			return runBuild(cmd, store, source, out, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&source, "source", "", "directory to index")
	f.StringVar(&out, "out", "", "index file or s3://bucket/key to write")
	f.IntVar(&workers, "workers", walk.DefaultWorkers, "system calls in flight")
	f.StringVar(&base, "base", "", "full index of an earlier restore point: write only the differences")
	f.StringVar(&fsID, "filesystem-id", "", "EFS file system id to record")
	f.StringVar(&arn, "restore-point-arn", "", "restore point ARN to record")
	f.StringVar(&backupTime, "backup-time", "", "restore point creation time (RFC 3339); later ctimes are flagged")
	return cmd
}

// relativeTo names base relative to out when both are in the same
// directory or S3 prefix, so that indexes can be moved together.
func relativeTo(out, base string) string {
	if s3index.Resolve(out, filepath.Base(base)) == base || (!strings.HasPrefix(base, "s3://") && filepath.Dir(absPath(out)) == filepath.Dir(absPath(base))) {
		return filepath.Base(base)
	}
	if strings.HasPrefix(base, "s3://") {
		return base
	}
	return absPath(base)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func runBuild(cmd *cobra.Command, store *indexStore, source, out string, opts walk.BuildOptions) error {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	var w io.Writer
	var finish func(ok bool) error
	if bucket, key, ok := s3index.ParseURL(out); ok {
		c, err := store.s3()
		if err != nil {
			return err
		}
		up := s3index.NewWriter(ctx, c, bucket, key)
		w = up
		finish = func(ok bool) error {
			if !ok {
				up.Abort(errors.New("index build failed"))
				return nil
			}
			return up.Close()
		}
	} else {
		// Write beside the target and rename, so a failed build leaves no
		// half-written index behind.
		tmp, err := os.CreateTemp(filepath.Dir(out), ".efskeeper-index-*")
		if err != nil {
			return fmt.Errorf("create index file: %w", err)
		}
		bw := bufio.NewWriterSize(tmp, 1<<20)
		w = bw
		finish = func(ok bool) error {
			err := bw.Flush()
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if ok && err == nil {
				err = os.Rename(tmp.Name(), out)
			}
			if !ok || err != nil {
				os.Remove(tmp.Name())
			}
			if err != nil {
				return fmt.Errorf("write index %s: %w", out, err)
			}
			return nil
		}
	}
	stop := startProgress(stderr, opts.Walk.Stats)
	start := time.Now()
	var errLines []string
	opts.Walk.OnError = func(path string, err error) {
		if len(errLines) < 10 {
			errLines = append(errLines, fmt.Sprintf("  %s: %v", escapeName(path), err))
		}
	}
	st, err := walk.Build(ctx, source, w, opts)
	stop()
	if err != nil {
		finish(false)
		return err
	}
	if err := finish(true); err != nil {
		return err
	}
	kind := "index"
	if opts.Base != nil {
		kind = fmt.Sprintf("delta index (%d changed rows over %s)", st.Records, opts.BaseLocation)
	}
	fmt.Fprintf(stderr, "indexed %d entries of %s into %s: %s, %d bytes, %s\n", st.Entries, source, out, kind, st.Bytes, time.Since(start).Round(time.Millisecond))
	if st.Errors > 0 {
		fmt.Fprintf(stderr, "%d entries could not be read (they are listed in the index):\n%s\n", st.Errors, strings.Join(errLines, "\n"))
	}
	return nil
}

// startProgress draws one status line on stderr while a walk runs, only when
// stderr is a terminal.
func startProgress(w io.Writer, st *walk.Stats) func() {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(f, "\r\033[K")
				return
			case <-t.C:
				n := st.Entries.Load()
				rate := float64(n) / time.Since(start).Seconds()
				fmt.Fprintf(f, "\r\033[K%d entries, %.0f/s, %d errors", n, rate, st.Errors.Load())
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// output wraps stdout for the read commands.
type output struct {
	w       *bufio.Writer
	print0  bool
	flagged bool
}

func newOutput(cmd *cobra.Command, print0 bool) *output {
	return &output{w: bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10), print0: print0}
}

func (o *output) done() error {
	if o.flagged && !o.print0 {
		fmt.Fprintf(o.w, "! %s\n", index.ChangedAfterBackupNote)
	}
	return o.w.Flush()
}

// row prints one entry in the human format: type and mode, owner, size,
// mtime (UTC), a '!' for entries changed after the backup, and the name.
func (o *output) row(e *index.Entry, name string) {
	mark := " "
	if e.ChangedAfterBackup {
		mark = "!"
		o.flagged = true
	}
	fmt.Fprintf(o.w, "%s %5d %5d %12d %s %s %s", modeString(e), e.UID, e.GID, e.Size,
		time.Unix(0, e.MTime).UTC().Format("2006-01-02 15:04:05"), mark, escapeName(name))
	if e.Type == index.TypeSymlink {
		fmt.Fprintf(o.w, " -> %s", escapeName(e.Target))
	}
	if e.Incomplete {
		fmt.Fprint(o.w, "  (contents not fully readable)")
	}
	o.w.WriteByte('\n')
}

func modeString(e *index.Entry) string {
	const rwx = "rwxrwxrwx"
	b := []byte{byte(e.Type)}
	if e.Type == index.TypeFile {
		b[0] = '-'
	}
	for i := 0; i < 9; i++ {
		if e.Mode&(1<<(8-i)) != 0 {
			b = append(b, rwx[i])
		} else {
			b = append(b, '-')
		}
	}
	if e.Mode&0o4000 != 0 {
		b[3] = map[bool]byte{true: 's', false: 'S'}[b[3] == 'x']
	}
	if e.Mode&0o2000 != 0 {
		b[6] = map[bool]byte{true: 's', false: 'S'}[b[6] == 'x']
	}
	if e.Mode&0o1000 != 0 {
		b[9] = map[bool]byte{true: 't', false: 'T'}[b[9] == 'x']
	}
	return string(b)
}

// escapeName makes a name safe for a terminal: printable UTF-8 stays,
// backslash, control and invalid bytes become C-style escapes.
func escapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			for j := 0; j < size; j++ {
				fmt.Fprintf(&b, `\x%02x`, s[i+j])
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func newIndexLsCmd() *cobra.Command {
	var print0 bool
	cmd := &cobra.Command{
		Use:   "ls INDEX [PATH]",
		Short: "List the immediate children of one directory (the root by default)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := (&indexStore{ctx: cmd.Context()}).open(args[0])
			if err != nil {
				return err
			}
			dir := ""
			if len(args) == 2 {
				dir = args[1]
			}
			o := newOutput(cmd, print0)
			for e, err := range r.List(dir) {
				if err != nil {
					o.w.Flush()
					return err
				}
				if print0 {
					o.w.WriteString(e.Name())
					o.w.WriteByte(0)
					continue
				}
				o.row(&e, e.Name())
			}
			return o.done()
		},
	}
	cmd.Flags().BoolVar(&print0, "print0", false, "print names only, each followed by NUL")
	return cmd
}

func newIndexSearchCmd() *cobra.Command {
	var print0 bool
	var pathContains string
	cmd := &cobra.Command{
		Use:   "search INDEX [PATTERN]",
		Short: "Find entries whose name matches a find -name pattern (and/or whose path contains a string)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var q index.Query
			if len(args) == 2 {
				g, err := index.CompileGlob(args[1])
				if err != nil {
					return fmt.Errorf("pattern %q: %w", args[1], err)
				}
				q.Name = g
			}
			q.PathContains = pathContains
			if q.Name == nil && q.PathContains == "" {
				return usageError(cmd, "needs a PATTERN, --path-contains S, or both")
			}
			r, err := (&indexStore{ctx: cmd.Context()}).open(args[0])
			if err != nil {
				return err
			}
			o := newOutput(cmd, print0)
			for e, err := range r.Search(q) {
				if err != nil {
					o.w.Flush()
					return err
				}
				if print0 {
					o.w.WriteString(e.Path)
					o.w.WriteByte(0)
					continue
				}
				o.row(&e, e.Path)
			}
			return o.done()
		},
	}
	cmd.Flags().BoolVar(&print0, "print0", false, "print paths only, each followed by NUL")
	cmd.Flags().StringVar(&pathContains, "path-contains", "", "only entries whose path contains this string")
	return cmd
}

func newIndexDumpCmd() *cobra.Command {
	var print0 bool
	cmd := &cobra.Command{
		Use:   "dump INDEX",
		Short: "Print every entry of an index",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := (&indexStore{ctx: cmd.Context()}).open(args[0])
			if err != nil {
				return err
			}
			o := newOutput(cmd, print0)
			if !print0 {
				info := r.Info()
				fmt.Fprintf(o.w, "# file system %s, restore point %s\n# backup created %s, index created %s, %d entries, %d walk errors\n",
					orDash(info.FileSystemID), orDash(info.RestorePointARN), fmtTime(info.BackupCreated), fmtTime(info.IndexCreated), info.Entries, info.ErrorCount)
			}
			for e, err := range r.All() {
				if err != nil {
					o.w.Flush()
					return err
				}
				if print0 {
					// find -printf '%y %s %P\0'
					fmt.Fprintf(o.w, "%c %d %s\x00", e.Type, e.Size, e.Path)
					continue
				}
				o.row(&e, e.Path)
			}
			return o.done()
		},
	}
	cmd.Flags().BoolVar(&print0, "print0", false, "print '%y %s %P' records as find -printf does, each followed by NUL")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

func newIndexHistoryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history PATH INDEX...",
		Short: "Show one path across the indexes of a file system's restore points",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			store := &indexStore{ctx: cmd.Context()}
			var rs []*index.Reader
			for _, loc := range args[1:] {
				r, err := store.open(loc)
				if err != nil {
					return err
				}
				rs = append(rs, r)
			}
			path := index.CleanDir(args[0])
			points, err := index.History(path, rs)
			if err != nil {
				return err
			}
			o := newOutput(cmd, false)
			fmt.Fprintf(o.w, "%s\n", escapeName("/"+path))
			for _, p := range points {
				fmt.Fprintf(o.w, "%-20s %-9s ", fmtTime(p.Index.BackupCreated), p.Change)
				if p.Exists {
					o.row(&p.Entry, orDash(p.Index.RestorePointARN))
				} else {
					fmt.Fprintf(o.w, "%s\n", orDash(p.Index.RestorePointARN))
				}
			}
			return o.done()
		},
	}
	return cmd
}
