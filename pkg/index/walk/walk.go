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
// Chunks are sized by how long a call takes: when calls are slow (a network
// file system), a directory is split so that every worker gets a share of
// it; when they take microseconds (a local or cached tree), a chunk holds
// enough calls to make handing it out cheap next to them.
//
// Memory is bounded: workers only run ahead of the emitter while fewer than
// Options.MaxBuffered entries are waiting (the task the emitter waits for may
// always run), so at most MaxBuffered + Workers × (largest directory) names
// are held, and nothing is kept per entry once it has been visited.
// The largest single directory is held as a sorted list of names, which is
// what sorting it requires. Names and lstat results are held in flat buffers
// without pointers (a name buffer per directory, a record per entry), so the
// garbage collector has nothing to scan in them and a walk allocates per
// chunk and per directory, not per entry.
package walk

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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
	// maxShare bounds the chunks of a directory split between workers
	// because its calls are slow, so that the emitter gets them steadily.
	maxShare = 256
	// chunkWork is the least time a chunk should take: handing one out
	// costs a few microseconds (locks, a channel, a wake-up), so when calls
	// take a microsecond a chunk holds a thousand of them, up to maxChunk.
	// Then the worker that read a directory's names usually lstats all of
	// them, while they are in its CPU's cache, and no two threads share
	// the directory's descriptor (whose reference count every fstatat of
	// a multithreaded process takes and drops).
	chunkWork     = time.Millisecond
	maxChunk      = 4096
	defaultMaxFDs = 4096
	direntBufSize = 64 << 10
	// pathOpenLimit: below this length a closed directory is reopened by
	// its path from the root, above it component by component.
	pathOpenLimit = 3000
)

// nameRef locates one name in its directory's name buffer.
type nameRef struct {
	// key is the name's first 8 bytes, big-endian and zero-padded: it
	// orders most pairs of names without reading the buffer (names hold no
	// NUL, so padding sorts a prefix first, as bytewise order does).
	key uint64
	off uint32 // the name is names[off:off+n], followed by a NUL
	n   uint32
}

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

	names     []byte    // the names as getdents64 returned them, NUL-terminated
	refs      []nameRef // sorted bytewise
	chunks    []chunk
	nextChunk int // next chunk to hand to a worker
	undone    int // chunks not finished
	subdirs   []*dir
	allDone   chan struct{}

	prev, next *dir // pending list
}

// chunk is a run of a directory's children that one worker lstats.
type chunk struct {
	lo, hi  int
	recs    []rec
	targets []byte // symlink targets of recs
	errs    []walkErr
	subdirs []*dir
	done    chan struct{}
}

// rec is one child's lstat result. It holds no pointers: its name is in the
// directory's buffer, a symlink's target in the chunk's.
type rec struct {
	name, nameLen     uint32
	target, targetLen uint32
	typ               index.Type
	incomplete        bool
	mode, uid, gid    uint32
	size              int64
	mtime, ctime      int64
	ino, nlink        uint64
}

type walkErr struct {
	name string // relative to the chunk's directory
	err  error
}

type walker struct {
	ctx     context.Context
	opts    Options
	fs      FS
	osFS    bool // fs is OS{}: lstat names in place
	rootFD  int
	stats   *Stats
	maxBuf  int64
	keptFDs atomic.Int64
	// callNanos is a running average of the time one lstat takes, which
	// sizes chunks (0 until the first chunk is done).
	callNanos atomic.Int64

	mu         sync.Mutex
	cond       *sync.Cond
	idle       int // workers waiting on cond
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
	return walkTree(ctx, root, opts, func(e *index.Entry, _, _ []byte) error { return visit(e) }, true)
}

// visitFunc receives each entry; dir is its parent's path with a trailing
// slash ("" for the root's children) and name its name. e.Path is set only
// when the walk was started with paths.
type visitFunc func(e *index.Entry, dir, name []byte) error

func walkTree(ctx context.Context, root string, opts Options, visit visitFunc, paths bool) error {
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
	_, w.osFS = opts.FS.(OS)
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
	names, refs, err := w.readNames(fd, make([]byte, direntBufSize))
	if err != nil {
		return fmt.Errorf("read directory %s: %w", root, err)
	}
	w.setNames(rootDir, names, refs)
	close(rootDir.loaded)
	w.buffered = int64(len(refs))
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
	err = w.emit(rootDir, visit, paths)
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
func (w *walker) readNames(fd int, buf []byte) ([]byte, []nameRef, error) {
	var names []byte
	var refs []nameRef
	for {
		n, err := w.fs.Getdents(fd, buf)
		if err != nil {
			sortNames(names, refs)
			return names, refs, err
		}
		if n <= 0 {
			break
		}
		names, refs = parseDirents(buf[:n], names, refs)
	}
	sortNames(names, refs)
	return names, refs, nil
}

// sortNames sorts refs by their names' bytes. It is a quicksort written
// for nameRef, so that the comparison, mostly of the 8-byte keys, is
// inlined: slices.SortFunc's call through a function value per comparison
// made sorting a tenth of a local walk's CPU time.
func sortNames(names []byte, refs []nameRef) {
	sortRange(names, refs, 2*bits.Len(uint(len(refs))))
}

// sortRange sorts refs; past depth levels of partitioning (names chosen to
// defeat the median of three) it hands over to slices.SortFunc, whose
// pattern-defeating quicksort guarantees n log n.
func sortRange(names []byte, refs []nameRef, depth int) {
	for len(refs) > 12 {
		if depth--; depth < 0 {
			slices.SortFunc(refs, func(a, b nameRef) int {
				switch {
				case refLess(names, a, b):
					return -1
				case refLess(names, b, a):
					return 1
				}
				return 0
			})
			return
		}
		// Median of three as the pivot, moved to refs[0].
		m, last := len(refs)/2, len(refs)-1
		if refLess(names, refs[m], refs[0]) {
			refs[m], refs[0] = refs[0], refs[m]
		}
		if refLess(names, refs[last], refs[m]) {
			refs[last], refs[m] = refs[m], refs[last]
			if refLess(names, refs[m], refs[0]) {
				refs[m], refs[0] = refs[0], refs[m]
			}
		}
		refs[0], refs[m] = refs[m], refs[0]
		p := refs[0]
		// Hoare partition: refs[1:i] <= p, refs[j+1:] >= p.
		i, j := 1, last
		for {
			for i <= j && refLess(names, refs[i], p) {
				i++
			}
			for i <= j && refLess(names, p, refs[j]) {
				j--
			}
			if i >= j {
				break
			}
			refs[i], refs[j] = refs[j], refs[i]
			i++
			j--
		}
		refs[0], refs[j] = refs[j], refs[0]
		// Recurse into the smaller side, loop on the larger: the stack
		// stays logarithmic whatever the names.
		if j < len(refs)-1-j {
			sortRange(names, refs[:j], depth)
			refs = refs[j+1:]
		} else {
			sortRange(names, refs[j+1:], depth)
			refs = refs[:j]
		}
	}
	for i := 1; i < len(refs); i++ {
		for k := i; k > 0 && refLess(names, refs[k], refs[k-1]); k-- {
			refs[k], refs[k-1] = refs[k-1], refs[k]
		}
	}
}

// refLess orders two names bytewise, by their keys when they differ.
func refLess(names []byte, a, b nameRef) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return tailLess(names, a, b)
}

// tailLess orders two names whose first 8 bytes are equal.
func tailLess(names []byte, a, b nameRef) bool {
	if a.n <= 8 || b.n <= 8 { // one name is all in its key: it is a prefix of the other
		return a.n < b.n
	}
	return bytes.Compare(names[a.off+8:a.off+a.n], names[b.off+8:b.off+b.n]) < 0
}

func newDir(parent *dir, name string, fd int) *dir {
	return &dir{parent: parent, name: name, fd: fd, loaded: make(chan struct{}), allDone: make(chan struct{})}
}

// setNames splits a directory's children into chunks: one per worker when
// calls are slow, else big enough to take about chunkWork each.
func (w *walker) setNames(d *dir, names []byte, refs []nameRef) {
	d.names, d.refs = names, refs
	n := len(refs)
	size := min(maxShare, (n+w.opts.Workers-1)/w.opts.Workers)
	if call := w.callNanos.Load(); call > 0 {
		size = max(size, min(maxChunk, int(int64(chunkWork)/call)))
	}
	size = max(1, size)
	d.chunks = make([]chunk, 0, (n+size-1)/size)
	for lo := 0; lo < n; lo += size {
		d.chunks = append(d.chunks, chunk{lo: lo, hi: min(lo+size, n), done: make(chan struct{})})
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

// wake wakes up to n idle workers for n new tasks; it runs under w.mu.
func (w *walker) wake(n int) {
	if n >= w.idle {
		w.cond.Broadcast()
		return
	}
	for ; n > 0; n-- {
		w.cond.Signal()
	}
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
		c := &d.chunks[d.nextChunk]
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
	w.mu.Lock()
	for !w.stop {
		d, c := w.claim()
		if d == nil {
			w.idle++
			w.cond.Wait()
			w.idle--
			continue
		}
		w.mu.Unlock()
		if c == nil {
			// The names just read are in this CPU's cache: lstat the
			// first chunk of them here, unless another worker took it.
			if c = w.list(d, buf); c == nil {
				w.mu.Lock()
				continue
			}
		}
		w.runChunk(d, c, &link)
		w.finishChunk(d, c)
		// On a fast file system workers never block, and the emitter,
		// readied by the chunk just done, would wait for a preemption
		// (10 ms) while the read-ahead fills up; then it drains it alone
		// on one CPU. Yielding here lets it keep up.
		runtime.Gosched()
		w.mu.Lock()
	}
	w.mu.Unlock()
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

// list reads a directory's names and makes its chunks; it claims and
// returns the first one when the read-ahead budget allows.
func (w *walker) list(d *dir, buf []byte) *chunk {
	var names []byte
	var refs []nameRef
	fd, err := w.dirFD(d)
	if err == nil {
		names, refs, err = w.readNames(fd, buf)
	}
	if err != nil {
		d.listErr = fmt.Errorf("read directory: %w", err)
	}
	w.mu.Lock()
	w.setNames(d, names, refs)
	w.buffered += int64(len(refs))
	w.noteBuffered()
	close(d.loaded)
	var first *chunk
	if len(d.chunks) > 0 && (w.buffered < w.maxBuf || &d.chunks[0] == w.emitWait) {
		first = &d.chunks[0]
		d.nextChunk = 1
	}
	empty := len(d.chunks) == 0 // read under w.mu: the emitter drops d.chunks once d is done
	if n := len(d.chunks) - d.nextChunk; n > 0 {
		w.wake(n)
	}
	w.mu.Unlock()
	if empty {
		w.finishDir(d)
	}
	return first
}

// lstat stats a NUL-terminated name in the directory fd.
func (w *walker) lstat(fd int, name []byte, st *unix.Stat_t) error {
	if w.osFS {
		return fstatatName(fd, name, st)
	}
	return w.fs.Lstat(fd, string(name[:len(name)-1]), st)
}

func (w *walker) runChunk(d *dir, c *chunk, link *[]byte) {
	refs := d.refs[c.lo:c.hi]
	fd, err := w.dirFD(d)
	if err != nil {
		for _, r := range refs {
			c.errs = append(c.errs, walkErr{string(d.name0(r)), fmt.Errorf("lstat: directory could not be reopened: %w", err)})
		}
		return
	}
	start := time.Now()
	c.recs = make([]rec, 0, len(refs))
	var st unix.Stat_t
	for i, ref := range refs {
		if i%16 == 0 && w.ctx.Err() != nil {
			return
		}
		name := d.names[ref.off : ref.off+ref.n+1] // with its NUL
		if err := w.lstat(fd, name, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				err = errors.New("vanished during the walk (lstat: no such file or directory)")
			} else {
				err = fmt.Errorf("lstat: %w", err)
			}
			c.errs = append(c.errs, walkErr{string(name[:ref.n]), err})
			continue
		}
		r := recFromStat(&st)
		r.name, r.nameLen = ref.off, ref.n
		switch r.typ {
		case index.TypeSymlink:
			r.target = uint32(len(c.targets))
			var err error
			c.targets, err = w.readlink(fd, name[:ref.n], st.Size, link, c.targets)
			if err != nil {
				c.errs = append(c.errs, walkErr{string(name[:ref.n]), fmt.Errorf("readlink: %w", err)})
			}
			r.targetLen = uint32(len(c.targets)) - r.target
		case index.TypeDir:
			sub, err := w.openSubdir(d, fd, string(name[:ref.n]))
			if err != nil {
				r.incomplete = true
				c.errs = append(c.errs, walkErr{string(name[:ref.n]), err})
			} else {
				c.subdirs = append(c.subdirs, sub)
			}
		}
		c.recs = append(c.recs, r)
	}
	if len(refs) > 0 {
		per := int64(time.Since(start)) / int64(len(refs))
		old := w.callNanos.Load()
		if old == 0 {
			old = per
		}
		w.callNanos.Store(max(1, old+(per-old)/4))
	}
}

// name0 returns the name of r without its NUL.
func (d *dir) name0(r nameRef) []byte { return d.names[r.off : r.off+r.n] }

// readlink appends the target of name to dst.
func (w *walker) readlink(fd int, name []byte, size int64, link *[]byte, dst []byte) ([]byte, error) {
	for {
		if int64(len(*link)) <= size {
			*link = make([]byte, size+1)
		}
		n, err := w.fs.Readlink(fd, string(name), *link)
		if err != nil {
			return dst, err
		}
		if n < len(*link) {
			return append(dst, (*link)[:n]...), nil
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
	for i := range d.chunks {
		subs = append(subs, d.chunks[i].subdirs...)
	}
	d.subdirs = subs
	w.replace(d, subs)
	w.wake(len(subs))
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
func (w *walker) emit(root *dir, visit visitFunc, paths bool) error {
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
				w.wake(1)
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
			for i := range d.chunks {
				c := &d.chunks[i]
				w.mu.Lock()
				w.emitWait = c
				if w.buffered >= w.maxBuf { // only then can a worker wait for this
					w.wake(1)
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
				for j := range c.recs {
					r := &c.recs[j]
					name := d.names[r.name : r.name+r.nameLen]
					e = index.Entry{
						Type: r.typ, Size: r.size, Mode: r.mode, UID: r.uid, GID: r.gid,
						MTime: r.mtime, CTime: r.ctime, Inode: r.ino, Nlink: r.nlink, Incomplete: r.incomplete,
					}
					if paths {
						e.Path = string(append(path, name...))
					}
					if r.typ == index.TypeSymlink {
						e.Target = string(c.targets[r.target : r.target+r.targetLen])
					}
					if err := visit(&e, path, name); err != nil {
						return err
					}
				}
				w.stats.Entries.Add(int64(len(c.recs)))
				c.recs, c.errs, c.targets = nil, nil, nil
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
			d.names, d.refs = nil, nil
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

func recFromStat(st *unix.Stat_t) rec {
	r := rec{
		size:  st.Size,
		mode:  st.Mode & 0o7777,
		uid:   st.Uid,
		gid:   st.Gid,
		mtime: st.Mtim.Nano(),
		ctime: st.Ctim.Nano(),
		ino:   st.Ino,
		nlink: uint64(st.Nlink),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		r.typ = index.TypeDir
	case unix.S_IFLNK:
		r.typ = index.TypeSymlink
	case unix.S_IFBLK:
		r.typ = index.TypeBlock
	case unix.S_IFCHR:
		r.typ = index.TypeChar
	case unix.S_IFIFO:
		r.typ = index.TypeFIFO
	case unix.S_IFSOCK:
		r.typ = index.TypeSocket
	default:
		r.typ = index.TypeFile
	}
	return r
}

// nameKey is the first 8 bytes of name, big-endian and zero-padded.
func nameKey(name []byte) uint64 {
	if len(name) >= 8 {
		return binary.BigEndian.Uint64(name)
	}
	var b [8]byte
	copy(b[:], name)
	return binary.BigEndian.Uint64(b[:])
}
