package index

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

var (
	// ErrNotFound is returned for a path the index does not hold.
	ErrNotFound = errors.New("no such path in the index")
	// ErrNotDir is returned when listing a path that is not a directory.
	ErrNotDir = errors.New("not a directory")
)

var decoder = sync.OnceValue(func() *zstd.Decoder {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithDecoderMaxMemory(maxFooter),
		zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		panic(err) // only bad options fail here
	}
	return d
})

// OpenOptions tunes Open.
type OpenOptions struct {
	// OpenBase opens the full index a delta index refers to. location is
	// BaseRef.Location. Without it, opening a delta index fails.
	OpenBase func(location string) (io.ReaderAt, int64, error)
}

// Reader reads an index from an io.ReaderAt. It is safe for concurrent use.
type Reader struct {
	r    io.ReaderAt
	size int64
	f    *footer
	id   [16]byte
	base *Reader
	// backupNS is Meta.BackupCreated in ns, 0 when unknown.
	backupNS int64
}

// Info summarises an open index.
type Info struct {
	Meta
	// Entries counts the entries of the full view (base and delta merged).
	Entries int64
	// Records counts the rows stored in this file (a delta's changes).
	Records int64
	Blocks  int
	Size    int64
	// ID identifies this index; delta indexes name their base by it.
	ID [16]byte
	// Base is set for a delta index.
	Base *BaseRef
	// ErrorCount counts the walk errors; Errors holds the first of them.
	ErrorCount int64
	Errors     []WalkError
}

// Open reads the trailer and footer of an index of the given size. It reads
// nothing else; blocks are read when they are needed.
func Open(r io.ReaderAt, size int64, opts *OpenOptions) (*Reader, error) {
	if size < headerLen+trailerLen {
		return nil, corruptf("file of %d bytes is too short for an index", size)
	}
	tb := make([]byte, trailerLen)
	if err := readFull(r, tb, size-trailerLen); err != nil {
		return nil, fmt.Errorf("read index trailer: %w", err)
	}
	t, err := parseTrailer(tb, size)
	if err != nil {
		return nil, err
	}
	fz := make([]byte, t.footerLen)
	if err := readFull(r, fz, t.footerOffset); err != nil {
		return nil, fmt.Errorf("read index footer: %w", err)
	}
	if checksum(fz) != t.footerCRC {
		return nil, corruptf("footer checksum mismatch")
	}
	raw, err := decompress(fz, int(t.footerRawLen))
	if err != nil {
		return nil, corruptf("footer: %v", err)
	}
	f, err := decodeFooter(raw, t.footerOffset)
	if err != nil {
		return nil, err
	}
	rd := &Reader{r: r, size: size, f: f}
	rd.id = footerID(fz)
	if !f.meta.BackupCreated.IsZero() {
		rd.backupNS = f.meta.BackupCreated.UnixNano()
	}
	if f.base != nil {
		if opts == nil || opts.OpenBase == nil {
			return nil, fmt.Errorf("index is a delta over %s: no way to open its base was given", f.base.Location)
		}
		br, bsize, err := opts.OpenBase(f.base.Location)
		if err != nil {
			return nil, fmt.Errorf("open base index %s: %w", f.base.Location, err)
		}
		b, err := Open(br, bsize, nil)
		if err != nil {
			return nil, fmt.Errorf("open base index %s: %w", f.base.Location, err)
		}
		if b.id != f.base.ID {
			return nil, fmt.Errorf("base index %s is not the one this delta was written against (id %x, want %x)", f.base.Location, b.id, f.base.ID)
		}
		rd.base = b
	}
	return rd, nil
}

func footerID(compressed []byte) [16]byte {
	sum := sha256.Sum256(compressed)
	var id [16]byte
	copy(id[:], sum[:])
	return id
}

func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		return corruptf("short read: %d of %d bytes at offset %d", n, len(b), off)
	}
	return err
}

func decompress(src []byte, rawLen int) ([]byte, error) {
	dst := make([]byte, 0, rawLen)
	out, err := decoder().DecodeAll(src, dst)
	if err != nil {
		return nil, err
	}
	if len(out) != rawLen {
		return nil, fmt.Errorf("decompressed to %d bytes, want %d", len(out), rawLen)
	}
	return out, nil
}

// Info returns the index's metadata and counts.
func (r *Reader) Info() Info {
	return Info{
		Meta:       r.f.meta,
		Entries:    r.f.entries,
		Records:    r.f.records,
		Blocks:     len(r.f.blocks),
		Size:       r.size,
		ID:         r.id,
		Base:       r.f.base,
		ErrorCount: r.f.errorCount,
		Errors:     r.f.errors,
	}
}

// Base returns the full index under a delta, or nil.
func (r *Reader) Base() *Reader { return r.base }

// cursor yields the records of one file with lo <= key < hi (hi nil: no
// upper bound) in key order, reading and checking blocks as it goes.
type cursor struct {
	r        *Reader
	lo, hi   []byte
	next     int // next block to load
	end      int // blocks [next, end) may hold keys in range
	buf      []byte
	bufOff   int64
	it       blockIter
	inBlock  bool
	blockIdx int
	lastKey  []byte
	haveLast bool
	done     bool
	err      error
	// readAhead is how many bytes of consecutive blocks one ReadAt fetches.
	readAhead int64
}

// maxReadAhead bounds one ReadAt when scanning many blocks.
const maxReadAhead = 8 << 20

func (r *Reader) cursor(lo, hi []byte) *cursor {
	bl := r.f.blocks
	start := 0
	if lo != nil {
		// Last block whose first key is <= lo.
		start = sort.Search(len(bl), func(i int) bool { return bytes.Compare(bl[i].firstKey, lo) > 0 }) - 1
		if start < 0 {
			start = 0
		}
	}
	end := len(bl)
	if hi != nil {
		end = sort.Search(len(bl), func(i int) bool { return bytes.Compare(bl[i].firstKey, hi) >= 0 })
	}
	return &cursor{r: r, lo: lo, hi: hi, next: start, end: end, readAhead: maxReadAhead}
}

// fetch loads the bytes of blocks from c.next on, up to readAhead bytes.
func (c *cursor) fetch() error {
	bl := c.r.f.blocks
	first := bl[c.next]
	last := c.next
	for last+1 < c.end && bl[last+1].offset+int64(bl[last+1].clen)-first.offset <= c.readAhead {
		last++
	}
	n := bl[last].offset + int64(bl[last].clen) - first.offset
	if int64(cap(c.buf)) < n {
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	c.bufOff = first.offset
	if err := readFull(c.r.r, c.buf, first.offset); err != nil {
		return fmt.Errorf("read index blocks %d-%d at offset %d: %w", c.next, last, first.offset, err)
	}
	return nil
}

// load checks and decodes block c.next.
func (c *cursor) load() error {
	i := c.next
	b := c.r.f.blocks[i]
	if b.offset < c.bufOff || b.offset+int64(b.clen) > c.bufOff+int64(len(c.buf)) {
		if err := c.fetch(); err != nil {
			return err
		}
	}
	z := c.buf[b.offset-c.bufOff : b.offset-c.bufOff+int64(b.clen)]
	if checksum(z) != b.crc {
		return corruptf("block %d at offset %d: checksum mismatch", i, b.offset)
	}
	raw, err := decompress(z, b.rawLen)
	if err != nil {
		return corruptf("block %d at offset %d: %v", i, b.offset, err)
	}
	first, n, err := checkBlock(raw)
	if err != nil {
		return corruptf("block %d at offset %d: %v", i, b.offset, err)
	}
	if n != b.count || !bytes.Equal(first, b.firstKey) {
		return corruptf("block %d at offset %d does not match the footer", i, b.offset)
	}
	if err := c.it.init(raw); err != nil {
		return corruptf("block %d: %v", i, err)
	}
	c.blockIdx = i
	c.next++
	return nil
}

// nextRecord returns the next record in range, or nil at the end.
func (c *cursor) nextRecord() (*record, error) {
	for !c.done && c.err == nil {
		if !c.inBlock {
			if c.next >= c.end {
				c.done = true
				break
			}
			if c.err = c.load(); c.err != nil {
				break
			}
			c.inBlock = true
		}
		if !c.it.next() {
			if c.it.err != nil {
				c.err = corruptf("block %d: %v", c.blockIdx, c.it.err)
				break
			}
			c.inBlock = false
			continue
		}
		k := c.it.rec.key
		if c.haveLast && bytes.Compare(c.lastKey, k) >= 0 {
			c.err = corruptf("block %d: keys out of order across blocks", c.blockIdx)
			break
		}
		c.lastKey = append(c.lastKey[:0], k...)
		c.haveLast = true
		if c.lo != nil && bytes.Compare(k, c.lo) < 0 {
			continue
		}
		if c.hi != nil && bytes.Compare(k, c.hi) >= 0 {
			c.done = true
			break
		}
		return &c.it.rec, nil
	}
	return nil, c.err
}

// source yields merged records of the full view.
type source interface {
	nextRecord() (*record, error)
}

// merged overlays a delta cursor on a base cursor: the delta's row wins, a
// tombstone hides the base row.
type merged struct {
	base, delta    *cursor
	b, d           *record
	bLoaded, dLoad bool
}

func (m *merged) nextRecord() (*record, error) {
	for {
		var err error
		if !m.bLoaded {
			if m.b, err = m.base.nextRecord(); err != nil {
				return nil, err
			}
			m.bLoaded = true
		}
		if !m.dLoad {
			if m.d, err = m.delta.nextRecord(); err != nil {
				return nil, err
			}
			m.dLoad = true
		}
		switch {
		case m.b == nil && m.d == nil:
			return nil, nil
		case m.d == nil || (m.b != nil && bytes.Compare(m.b.key, m.d.key) < 0):
			m.bLoaded = false
			return m.b, nil
		case m.b == nil || bytes.Compare(m.d.key, m.b.key) < 0:
			m.dLoad = false
			if m.d.tombstone {
				continue
			}
			return m.d, nil
		default: // same key
			m.bLoaded, m.dLoad = false, false
			if m.d.tombstone {
				continue
			}
			return m.d, nil
		}
	}
}

// scan returns the records of the full view with lo <= key < hi.
func (r *Reader) scan(lo, hi []byte) source {
	if r.base == nil {
		return r.cursor(lo, hi)
	}
	return &merged{base: r.base.cursor(lo, hi), delta: r.cursor(lo, hi)}
}

// entries turns records into Entries, keeping those keep accepts (nil: all).
func (r *Reader) entries(src source, keep func(*record) bool) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		var pathBuf []byte
		for {
			rec, err := src.nextRecord()
			if err != nil {
				yield(Entry{}, err)
				return
			}
			if rec == nil {
				return
			}
			if keep != nil && !keep(rec) {
				continue
			}
			var e Entry
			e, pathBuf = rec.entry(pathBuf)
			e.ChangedAfterBackup = r.backupNS != 0 && e.CTime > r.backupNS
			if !yield(e, nil) {
				return
			}
		}
	}
}

// All yields every entry in key order: each directory's children (sorted by
// name bytes) before the children of its subdirectories, depth first.
func (r *Reader) All() iter.Seq2[Entry, error] {
	return r.entries(r.scan(nil, nil), nil)
}

// Lookup returns the entry of one path.
func (r *Reader) Lookup(path string) (Entry, error) {
	path = CleanDir(path)
	if !validPath(path) {
		return Entry{}, fmt.Errorf("look up %q: %w", path, ErrNotFound)
	}
	key := appendKey(nil, path)
	hi := append(append([]byte(nil), key...), 0)
	for e, err := range r.entries(r.scan(key, hi), nil) {
		return e, err
	}
	return Entry{}, fmt.Errorf("look up %q: %w", path, ErrNotFound)
}

// List yields the immediate children of dir ("" or "/" for the root) in
// name order. It reads the footer's block index and only the blocks that
// hold dir's children. Listing a missing path or a non-directory yields
// ErrNotFound or ErrNotDir.
func (r *Reader) List(dir string) iter.Seq2[Entry, error] {
	dir = CleanDir(dir)
	lo := appendDirPrefix(nil, dir)
	hi := append(lo[:len(lo)-1:len(lo)-1], 1) // prefix + "\x00\x01"
	return func(yield func(Entry, error) bool) {
		n := 0
		for e, err := range r.entries(r.scan(lo, hi), nil) {
			if err != nil {
				yield(Entry{}, fmt.Errorf("list %q: %w", "/"+dir, err))
				return
			}
			n++
			if !yield(e, nil) {
				return
			}
		}
		if n > 0 || dir == "" {
			return
		}
		// An empty range: an empty directory, a file, or nothing at all.
		e, err := r.Lookup(dir)
		switch {
		case err != nil:
			yield(Entry{}, fmt.Errorf("list %q: %w", "/"+dir, err))
		case e.Type != TypeDir:
			yield(Entry{}, fmt.Errorf("list %q: %w", "/"+dir, ErrNotDir))
		}
	}
}

// Query selects entries for Search. Empty fields match everything.
type Query struct {
	// Name is a find -name pattern matched against each entry's name.
	Name *Glob
	// PathContains selects entries whose path contains this substring.
	PathContains string
}

// Search yields, in key order, the entries that match q. It reads the whole
// index once, streaming.
func (r *Reader) Search(q Query) iter.Seq2[Entry, error] {
	var pathBuf []byte
	sub := []byte(q.PathContains)
	return r.entries(r.scan(nil, nil), func(rec *record) bool {
		if q.Name != nil && !q.Name.Match(keyName(rec.key)) {
			return false
		}
		if len(sub) > 0 {
			pathBuf = appendKeyPath(pathBuf[:0], rec.key)
			if !bytes.Contains(pathBuf, sub) {
				return false
			}
		}
		return true
	})
}

// backupTime is used to order indexes in History.
func (r *Reader) backupTime() time.Time {
	if !r.f.meta.BackupCreated.IsZero() {
		return r.f.meta.BackupCreated
	}
	return r.f.meta.IndexCreated
}
