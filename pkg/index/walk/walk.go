// Package walk reads a directory tree with many system calls in flight and
// hands its entries, in index key order, to a visitor.
//
// EFS answers each metadata call in about a millisecond, so a walk is fast
// only when dozens of readdir and lstat calls run at once. The walker keeps a
// list of directories in depth-first pre-order whose children still need an
// lstat or whose names are still to be read; workers take the earliest task
// (so the work the visitor needs next is done first): read a directory's
// names, or lstat a chunk of its children and open each child directory (an
// unopenable one is marked Incomplete before its entry is handed out). A
// directory's subdirectories join the list, in name order and in its place,
// once all its chunks are done. A single emitter goroutine hands entries to
// the visitor group by group in key order.
//
// Memory is bounded: workers only run ahead of the emitter while fewer than
// Options.MaxBuffered entries are waiting (the task the emitter waits for may
// always run), so at most MaxBuffered + Workers × (largest directory) names
// are held, and nothing is kept per entry once it has been visited.
// The largest single directory is held as a sorted list of names, which is
// what sorting it requires.
package walk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/efskeeper/efskeeper/pkg/index"
)

// Options tunes a walk.
type Options struct {
	// Workers is the number of system calls in flight (default 64).
	Workers int
	// MaxBuffered bounds the entries read ahead of the visitor (default 128k).
	MaxBuffered int
	// FS is the system call layer (default OS{}).
	FS FS
	// OnError is called, from the visitor's goroutine and in key order, for
	// each problem that did not stop the walk: an unreadable directory, an
	// entry that vanished between readdir and lstat.
	OnError func(path string, err error)
	// Stats, if set, is updated as the walk goes (for progress displays).
	Stats *Stats
	// maxFDs bounds the directories kept open between chunks; tests lower it.
	maxFDs int
}

// Stats counts a walk's progress; read it with the atomic loads.
type Stats struct {
	Entries atomic.Int64
	Dirs    atomic.Int64
	Errors  atomic.Int64
	// Buffered is the number of entries read ahead of the visitor now;
	// MaxBufferedSeen its high-water mark.
	Buffered        atomic.Int64
	MaxBufferedSeen atomic.Int64
}

// DefaultWorkers is the default number of system calls in flight.
const DefaultWorkers = 64

const (
	defaultMaxBuffered = 128 << 10
	maxChunk           = 256
	minChunk           = 8
	defaultMaxFDs      = 4096
	direntBufSize      = 64 << 10
	// pathOpenLimit: below this length a closed directory is reopened by
	// its path from the root, above it component by component.
	pathOpenLimit = 3000
)

// dir is a directory whose names have been read.
type dir struct {
	parent *dir
	name   string

	fdMu    sync.Mutex
	fd      int // -1 when closed; reopened on demand
	counted bool

	listing bool          // a worker took the task of reading the names
	loaded  chan struct{} // closed when names and chunks are set
	listErr error         // reading the names failed part way

	names     []string
	chunks    []*chunk
	nextChunk int // next chunk to hand to a worker
	undone    int // chunks not finished
	subdirs   []*dir
	allDone   chan struct{}

	prev, next *dir // pending list
}

// chunk is a run of a directory's children that one worker lstats.
type chunk struct {
	lo, hi  int
	ents    []rawEntry
	errs    []walkErr
	subdirs []*dir
	done    chan struct{}
}

type rawEntry struct {
	name       string
	e          index.Entry // Path left empty: the emitter fills it in
	incomplete bool
}

type walkErr struct {
	name string // relative to the chunk's directory
	err  error
}

type walker struct {
	ctx     context.Context
	opts    Options
	fs      FS
	rootFD  int
	stats   *Stats
	maxBuf  int64
	keptFDs atomic.Int64

	mu         sync.Mutex
	cond       *sync.Cond
	head, tail *dir
	buffered   int64
	stop       bool
	emitWait   *chunk // the chunk the emitter waits for
	emitDir    *dir   // the directory whose names the emitter waits for

	fdMu sync.Mutex
	fds  map[int]struct{} // every fd the walker holds, to close on abort
}

// Walk reads the tree under root and calls visit for every entry below it
// (root itself excluded) in index key order. e is reused after visit
// returns. An error from visit or ctx ends the walk; unreadable parts of the
// tree do not (see Options.OnError).
func Walk(ctx context.Context, root string, opts Options, visit func(e *index.Entry) error) error {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.MaxBuffered <= 0 {
		opts.MaxBuffered = defaultMaxBuffered
	}
	if opts.FS == nil {
		opts.FS = OS{}
	}
	if opts.maxFDs <= 0 {
		opts.maxFDs = defaultMaxFDs
		var lim unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && lim.Cur < uint64(4*defaultMaxFDs) {
			opts.maxFDs = max(16, int(lim.Cur/4))
		}
	}
	if opts.Stats == nil {
		opts.Stats = &Stats{}
	}
	w := &walker{ctx: ctx, opts: opts, fs: opts.FS, stats: opts.Stats, maxBuf: int64(opts.MaxBuffered), fds: map[int]struct{}{}}
	w.cond = sync.NewCond(&w.mu)

	fd, err := w.fs.OpenDir(unix.AT_FDCWD, root)
	if err != nil {
		return fmt.Errorf("open %s: %w", root, err)
	}
	w.track(fd)
	w.rootFD = fd
	defer w.closeAll()

	rootDir := newDir(nil, "", w.rootFD)
	rootDir.listing = true
	names, err := w.readNames(fd, make([]byte, direntBufSize))
	if err != nil {
		return fmt.Errorf("read directory %s: %w", root, err)
	}
	w.setNames(rootDir, names)
	close(rootDir.loaded)
	w.buffered = int64(len(names))
	if len(rootDir.chunks) == 0 {
		return nil
	}
	w.pushBack(rootDir)

	var wg sync.WaitGroup
	for i := 0; i < opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.work()
		}()
	}
	err = w.emit(rootDir, visit)
	w.mu.Lock()
	w.stop = true
	w.cond.Broadcast()
	w.mu.Unlock()
	wg.Wait()
	return err
}

func (w *walker) track(fd int) {
	w.fdMu.Lock()
	w.fds[fd] = struct{}{}
	w.fdMu.Unlock()
}

func (w *walker) closeFD(fd int) {
	w.fdMu.Lock()
	delete(w.fds, fd)
	w.fdMu.Unlock()
	w.fs.Close(fd)
}

func (w *walker) closeAll() {
	w.fdMu.Lock()
	defer w.fdMu.Unlock()
	for fd := range w.fds {
		w.fs.Close(fd)
	}
	w.fds = nil
}

// readNames reads all names of an open directory, sorted bytewise. On error
// it returns what it read so far.
func (w *walker) readNames(fd int, buf []byte) ([]string, error) {
	var names []string
	for {
		n, err := w.fs.Getdents(fd, buf)
		if err != nil {
			slices.Sort(names)
			return names, err
		}
		if n <= 0 {
			break
		}
		names = parseDirents(buf[:n], names)
	}
	slices.Sort(names)
	return names, nil
}

func newDir(parent *dir, name string, fd int) *dir {
	return &dir{parent: parent, name: name, fd: fd, loaded: make(chan struct{}), allDone: make(chan struct{})}
}

// setNames splits a directory's children into chunks small enough that all
// workers get a share of a directory of a few hundred entries.
func (w *walker) setNames(d *dir, names []string) {
	d.names = names
	size := len(names) / w.opts.Workers
	size = max(minChunk, min(maxChunk, size))
	for lo := 0; lo < len(names); lo += size {
		d.chunks = append(d.chunks, &chunk{lo: lo, hi: min(lo+size, len(names)), done: make(chan struct{})})
	}
	d.undone = len(d.chunks)
}

// pushBack and the list helpers run under w.mu.
func (w *walker) pushBack(d *dir) {
	d.prev, d.next = w.tail, nil
	if w.tail != nil {
		w.tail.next = d
	} else {
		w.head = d
	}
	w.tail = d
}

// replace puts subs (in order) where d is in the list and removes d.
func (w *walker) replace(d *dir, subs []*dir) {
	prev, next := d.prev, d.next
	for _, s := range subs {
		s.prev = prev
		if prev != nil {
			prev.next = s
		} else {
			w.head = s
		}
		prev = s
	}
	if prev != nil {
		prev.next = next
	} else {
		w.head = next
	}
	if next != nil {
		next.prev = prev
	} else {
		w.tail = prev
	}
	d.prev, d.next = nil, nil
}

// claim returns the earliest task a worker may take: a directory to list
// (chunk nil) or a chunk to lstat. It returns a nil dir when there is none.
func (w *walker) claim() (*dir, *chunk) {
	over := w.buffered >= w.maxBuf
	for d := w.head; d != nil; d = d.next {
		if !d.listing {
			if over && d != w.emitDir {
				return nil, nil // over budget: only what the emitter waits for may run
			}
			d.listing = true
			return d, nil
		}
		if d.nextChunk >= len(d.chunks) {
			continue // being listed, or all chunks taken
		}
		c := d.chunks[d.nextChunk]
		if over && c != w.emitWait {
			return nil, nil
		}
		d.nextChunk++
		return d, c
	}
	return nil, nil
}

func (w *walker) work() {
	buf := make([]byte, direntBufSize)
	link := make([]byte, 4096)
	for {
		w.mu.Lock()
		var d *dir
		var c *chunk
		for {
			if w.stop {
				w.mu.Unlock()
				return
			}
			if d, c = w.claim(); d != nil {
				break
			}
			w.cond.Wait()
		}
		w.mu.Unlock()
		if c == nil {
			w.list(d, buf)
			continue
		}
		w.runChunk(d, c, &link)
		w.finishChunk(d, c)
	}
}

// dirFD returns d's open descriptor, reopening it if it was closed to save
// descriptors.
func (w *walker) dirFD(d *dir) (int, error) {
	d.fdMu.Lock()
	defer d.fdMu.Unlock()
	if d.fd >= 0 {
		return d.fd, nil
	}
	var parts []string
	n := 0
	for x := d; x.parent != nil; x = x.parent {
		parts = append(parts, x.name)
		n += len(x.name) + 1
	}
	slices.Reverse(parts)
	var fd int
	var err error
	if n < pathOpenLimit {
		fd, err = w.fs.OpenDir(w.rootFD, joinPath(parts))
	} else {
		fd, err = w.openChain(parts)
	}
	if err != nil {
		return -1, err
	}
	w.track(fd)
	d.fd = fd
	return fd, nil
}

func joinPath(parts []string) string {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, p...)
	}
	return string(b)
}

// openChain opens a deep path one component at a time.
func (w *walker) openChain(parts []string) (int, error) {
	cur := w.rootFD
	for i, p := range parts {
		fd, err := w.fs.OpenDir(cur, p)
		if cur != w.rootFD {
			w.fs.Close(cur)
		}
		if err != nil {
			return -1, fmt.Errorf("reopen component %d of %d: %w", i+1, len(parts), err)
		}
		cur = fd
	}
	return cur, nil
}

// list reads a directory's names and makes its chunks.
func (w *walker) list(d *dir, buf []byte) {
	var names []string
	fd, err := w.dirFD(d)
	if err == nil {
		names, err = w.readNames(fd, buf)
	}
	if err != nil {
		d.listErr = fmt.Errorf("read directory: %w", err)
	}
	w.mu.Lock()
	w.setNames(d, names)
	w.buffered += int64(len(names))
	w.noteBuffered()
	close(d.loaded)
	w.cond.Broadcast()
	w.mu.Unlock()
	if len(d.chunks) == 0 {
		w.finishDir(d)
	}
}

func (w *walker) runChunk(d *dir, c *chunk, link *[]byte) {
	c.ents = make([]rawEntry, 0, c.hi-c.lo)
	fd, err := w.dirFD(d)
	if err != nil {
		for _, name := range d.names[c.lo:c.hi] {
			c.errs = append(c.errs, walkErr{name, fmt.Errorf("lstat: directory could not be reopened: %w", err)})
		}
		return
	}
	var st unix.Stat_t
	for _, name := range d.names[c.lo:c.hi] {
		if w.ctx.Err() != nil {
			return
		}
		if err := w.fs.Lstat(fd, name, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				err = errors.New("vanished during the walk (lstat: no such file or directory)")
			} else {
				err = fmt.Errorf("lstat: %w", err)
			}
			c.errs = append(c.errs, walkErr{name, err})
			continue
		}
		re := rawEntry{name: name, e: entryFromStat(&st)}
		switch re.e.Type {
		case index.TypeSymlink:
			target, err := w.readlink(fd, name, st.Size, link)
			if err != nil {
				c.errs = append(c.errs, walkErr{name, fmt.Errorf("readlink: %w", err)})
			}
			re.e.Target = target
		case index.TypeDir:
			sub, err := w.openSubdir(d, fd, name)
			if err != nil {
				re.incomplete = true
				c.errs = append(c.errs, walkErr{name, err})
			} else {
				c.subdirs = append(c.subdirs, sub)
			}
		}
		c.ents = append(c.ents, re)
	}
}

func (w *walker) readlink(fd int, name string, size int64, link *[]byte) (string, error) {
	for {
		if int64(len(*link)) <= size {
			*link = make([]byte, size+1)
		}
		n, err := w.fs.Readlink(fd, name, *link)
		if err != nil {
			return "", err
		}
		if n < len(*link) {
			return string((*link)[:n]), nil
		}
		*link = make([]byte, 2*len(*link)) // target grew since lstat
	}
}

// openSubdir opens a child directory, so that one that cannot be opened is
// marked before its entry is handed out; its names are read later, in turn.
// The descriptor is kept for that unless too many are open.
func (w *walker) openSubdir(parent *dir, pfd int, name string) (*dir, error) {
	fd, err := w.fs.OpenDir(pfd, name)
	if err != nil {
		return nil, fmt.Errorf("open directory: %w", err)
	}
	w.track(fd)
	w.stats.Dirs.Add(1)
	sub := newDir(parent, name, fd)
	if w.keptFDs.Add(1) <= int64(w.opts.maxFDs) {
		sub.counted = true
	} else {
		w.keptFDs.Add(-1)
		w.closeFD(fd)
		sub.fd = -1
	}
	return sub, nil
}

func (w *walker) noteBuffered() {
	w.stats.Buffered.Store(w.buffered)
	if w.buffered > w.stats.MaxBufferedSeen.Load() {
		w.stats.MaxBufferedSeen.Store(w.buffered)
	}
}

func (w *walker) finishChunk(d *dir, c *chunk) {
	if len(c.errs) > 0 {
		w.stats.Errors.Add(int64(len(c.errs)))
	}
	w.mu.Lock()
	d.undone--
	last := d.undone == 0
	close(c.done)
	w.mu.Unlock()
	if last {
		w.finishDir(d)
	}
}

// finishDir puts a directory's subdirectories in its place in the list and
// closes it.
func (w *walker) finishDir(d *dir) {
	w.mu.Lock()
	var subs []*dir
	for _, ch := range d.chunks {
		subs = append(subs, ch.subdirs...)
	}
	d.subdirs = subs
	w.replace(d, subs)
	d.names = nil
	w.cond.Broadcast()
	w.mu.Unlock()
	d.fdMu.Lock()
	if d.fd >= 0 && d.fd != w.rootFD {
		w.closeFD(d.fd)
		if d.counted {
			w.keptFDs.Add(-1)
		}
	}
	d.fd = -1
	d.fdMu.Unlock()
	close(d.allDone)
}

// emit hands entries to visit in key order: each directory's chunks in
// order, then its subdirectories depth first.
func (w *walker) emit(root *dir, visit func(*index.Entry) error) error {
	type frame struct {
		d      *dir
		prefix int // length of path buffer for d's children
		next   int // next subdir to descend into
	}
	var path []byte
	stack := []frame{{d: root}}
	var e index.Entry
	group := true // the top frame's own entries are not emitted yet
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		d := top.d
		if group {
			w.mu.Lock()
			w.emitDir = d
			if w.buffered >= w.maxBuf {
				w.cond.Broadcast()
			}
			w.mu.Unlock()
			select {
			case <-d.loaded:
			case <-w.ctx.Done():
				return w.ctx.Err()
			}
			if d.listErr != nil {
				w.stats.Errors.Add(1)
				if w.opts.OnError != nil {
					w.opts.OnError(string(path[:max(0, len(path)-1)]), d.listErr)
				}
			}
			for _, c := range d.chunks {
				w.mu.Lock()
				w.emitWait = c
				if w.buffered >= w.maxBuf { // only then can a worker wait for this
					w.cond.Broadcast()
				}
				w.mu.Unlock()
				select {
				case <-c.done:
				case <-w.ctx.Done():
					return w.ctx.Err()
				}
				if err := w.ctx.Err(); err != nil {
					return err
				}
				for _, we := range c.errs {
					w.reportError(path, we)
				}
				for i := range c.ents {
					re := &c.ents[i]
					e = re.e
					e.Path = string(append(path, re.name...))
					e.Incomplete = re.incomplete
					if err := visit(&e); err != nil {
						return err
					}
				}
				w.stats.Entries.Add(int64(len(c.ents)))
				c.ents, c.errs = nil, nil
				w.mu.Lock()
				wasFull := w.buffered >= w.maxBuf
				w.buffered -= int64(c.hi - c.lo)
				w.noteBuffered()
				if wasFull && w.buffered < w.maxBuf {
					w.cond.Broadcast()
				}
				w.mu.Unlock()
			}
			<-d.allDone
			d.chunks = nil
			group = false
		}
		if top.next >= len(d.subdirs) {
			d.subdirs = nil
			stack = stack[:len(stack)-1]
			continue
		}
		sub := d.subdirs[top.next]
		top.next++
		path = append(path[:top.prefix], sub.name...)
		path = append(path, '/')
		stack = append(stack, frame{d: sub, prefix: len(path)})
		group = true
	}
	return nil
}

func (w *walker) reportError(prefix []byte, we walkErr) {
	if w.opts.OnError != nil {
		w.opts.OnError(string(prefix)+we.name, we.err)
	}
}

func entryFromStat(st *unix.Stat_t) index.Entry {
	e := index.Entry{
		Size:  st.Size,
		Mode:  st.Mode & 0o7777,
		UID:   st.Uid,
		GID:   st.Gid,
		MTime: st.Mtim.Nano(),
		CTime: st.Ctim.Nano(),
		Inode: st.Ino,
		Nlink: uint64(st.Nlink),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		e.Type = index.TypeDir
	case unix.S_IFLNK:
		e.Type = index.TypeSymlink
	case unix.S_IFBLK:
		e.Type = index.TypeBlock
	case unix.S_IFCHR:
		e.Type = index.TypeChar
	case unix.S_IFIFO:
		e.Type = index.TypeFIFO
	case unix.S_IFSOCK:
		e.Type = index.TypeSocket
	default:
		e.Type = index.TypeFile
	}
	return e
}
