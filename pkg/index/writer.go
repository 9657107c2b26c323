package index

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/zstd"
)

// DefaultBlockSize is the raw size at which a block is cut. Bigger blocks
// compress better; smaller ones make listing a directory read less.
const DefaultBlockSize = 64 << 10

// WriterOptions configures a Writer.
type WriterOptions struct {
	Meta Meta
	// Base, when set, makes the writer produce a delta index: only entries
	// that differ from Base are stored, plus tombstones for entries Base has
	// and the new tree lacks. Base must be a full index (a delta's Base()).
	Base *Reader
	// BaseLocation is how a reader of the delta will find Base (see
	// BaseRef.Location).
	BaseLocation string
	// BlockSize overrides DefaultBlockSize (tests use small blocks).
	BlockSize int
}

// Writer writes an index to an io.Writer in one pass. Entries must be added
// in key order, which is the order Walk produces and Reader.All returns.
type Writer struct {
	w       io.Writer
	opts    WriterOptions
	off     int64
	enc     *zstd.Encoder
	blk     blockEncoder
	raw     []byte
	zbuf    []byte
	f       footer
	key     []byte
	prevKey []byte
	haveKey bool
	dirPath []byte // parent of the last entry, with a trailing slash ("" for the root)
	dirKey  []byte // the key prefix of dirPath's children
	base    source
	baseRec *record
	baseCur Entry
	pathBuf []byte
	err     error
	closed  bool
}

// NewWriter starts an index on w and writes its header.
func NewWriter(w io.Writer, opts WriterOptions) (*Writer, error) {
	if opts.BlockSize <= 0 {
		opts.BlockSize = DefaultBlockSize
	}
	if opts.BlockSize > maxBlockRaw/2 {
		return nil, fmt.Errorf("block size %d is above the limit %d", opts.BlockSize, maxBlockRaw/2)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, fmt.Errorf("start index writer: %w", err)
	}
	wr := &Writer{w: w, opts: opts, enc: enc}
	wr.f.meta = opts.Meta
	if wr.f.meta.IndexCreated.IsZero() {
		wr.f.meta.IndexCreated = time.Now()
	}
	if b := opts.Base; b != nil {
		if b.base != nil {
			return nil, errors.New("a delta index must be written against a full index, not another delta")
		}
		wr.f.base = &BaseRef{Location: opts.BaseLocation, ID: b.id}
		wr.base = b.scan(nil, nil)
	}
	if err := wr.write(appendHeader(nil)); err != nil {
		return nil, err
	}
	return wr, nil
}

func (w *Writer) write(b []byte) error {
	if w.err != nil {
		return w.err
	}
	n, err := w.w.Write(b)
	w.off += int64(n)
	if err != nil {
		w.err = fmt.Errorf("write index at offset %d: %w", w.off, err)
	}
	return w.err
}

// AddError records a walk error; the first ones are kept in the footer,
// all are counted.
func (w *Writer) AddError(path string, err error) {
	w.f.errorCount++
	if len(w.f.errors) < maxErrorLog {
		w.f.errors = append(w.f.errors, WalkError{Path: path, Err: err.Error()})
	}
}

// Add appends one entry. Entries must come in strictly increasing key order.
func (w *Writer) Add(e *Entry) error {
	if err := w.check(e, e.Path); err != nil {
		return err
	}
	if !validPath(e.Path) {
		return fmt.Errorf("add %q to index: not a valid relative path", e.Path)
	}
	dir, name := splitPath(e.Path)
	if !w.haveKey || !w.inDir(dir) {
		w.enterDir(dir)
	}
	w.key, w.prevKey = w.prevKey, w.key
	w.key = append(append(w.key[:0], w.dirKey...), name...)
	return w.addKey(e, func() string { return e.Path })
}

// AddIn appends the entry named name in the directory dir, as Add does for
// the entry whose Path is dir followed by name; e.Path is not read. dir is
// a relative path with a trailing slash ("" for the root), which is how a
// walker holds the directory it is in: this saves building a path string
// per entry, then splitting and checking it again. Neither dir nor name is
// kept, so both may be reused buffers.
func (w *Writer) AddIn(dir, name []byte, e *Entry) error {
	path := func() string { return string(dir) + string(name) }
	if err := w.check(e, ""); err != nil {
		return err
	}
	if len(name) == 0 || bytes.IndexByte(name, '/') >= 0 || bytes.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("add %q to index: not a valid relative path", path())
	}
	if !w.haveKey || !bytes.Equal(dir, w.dirPath) {
		if len(dir) > 0 && (dir[len(dir)-1] != '/' || !validPath(string(dir[:len(dir)-1]))) {
			return fmt.Errorf("add %q to index: not a valid relative path", path())
		}
		w.enterDir(string(dir[:max(0, len(dir)-1)]))
	}
	w.key, w.prevKey = w.prevKey, w.key
	w.key = append(append(w.key[:0], w.dirKey...), name...)
	return w.addKey(e, path)
}

// check is what Add and AddIn check before the path.
func (w *Writer) check(e *Entry, path string) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("add to a closed index writer")
	}
	if !e.Type.Valid() {
		return fmt.Errorf("add %q to index: unknown type %q", path, e.Type)
	}
	if e.Size < 0 {
		return fmt.Errorf("add %q to index: negative size", path)
	}
	return nil
}

// inDir reports whether dir (without a trailing slash) is w.dirPath.
func (w *Writer) inDir(dir string) bool {
	if dir == "" {
		return len(w.dirPath) == 0
	}
	return len(w.dirPath) == len(dir)+1 && string(w.dirPath[:len(dir)]) == dir
}

// enterDir makes dir (without a trailing slash) the current directory.
func (w *Writer) enterDir(dir string) {
	w.dirPath = w.dirPath[:0]
	if dir != "" {
		w.dirPath = append(append(w.dirPath, dir...), '/')
	}
	w.dirKey = appendDirPrefix(w.dirKey[:0], dir)
}

// addKey adds e under w.key, which must follow w.prevKey.
func (w *Writer) addKey(e *Entry, path func() string) error {
	if w.haveKey && bytes.Compare(w.prevKey, w.key) >= 0 {
		w.key, w.prevKey = w.prevKey, w.key // the last key added stays the reference
		return fmt.Errorf("add %q to index: out of order (entries must come sorted, directory by directory)", path())
	}
	w.haveKey = true
	if w.base == nil {
		w.f.entries++
		return w.put(w.key, e, false)
	}
	// Delta: step the base up to this key.
	for {
		if err := w.loadBase(); err != nil {
			return err
		}
		if w.baseRec == nil {
			break
		}
		c := bytes.Compare(w.baseRec.key, w.key)
		if c > 0 {
			break
		}
		if c < 0 {
			if err := w.put(w.baseRec.key, nil, true); err != nil {
				return err
			}
			w.baseRec = nil
			continue
		}
		same := sameContent(&w.baseCur, e)
		w.baseRec = nil
		w.f.entries++
		if same {
			return nil
		}
		return w.put(w.key, e, false)
	}
	w.f.entries++
	return w.put(w.key, e, false)
}

func (w *Writer) loadBase() error {
	if w.baseRec != nil || w.base == nil {
		return nil
	}
	rec, err := w.base.nextRecord()
	if err != nil {
		return fmt.Errorf("read base index: %w", err)
	}
	if rec == nil {
		w.base = nil
		return nil
	}
	w.baseRec = rec
	w.baseCur, w.pathBuf = rec.entry(w.pathBuf)
	return nil
}

func (w *Writer) put(key []byte, e *Entry, tombstone bool) error {
	if w.blk.n > 0 && (w.blk.rawSize()+len(key) > w.opts.BlockSize || w.blk.keyBytes+len(key) > maxBlockKeyBytes/2) {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if w.blk.n == 0 {
		w.f.blocks = append(w.f.blocks, blockInfo{offset: w.off, firstKey: append([]byte(nil), key...)})
	}
	w.blk.add(key, e, tombstone)
	w.f.records++
	return nil
}

func (w *Writer) flush() error {
	if w.blk.n == 0 {
		return nil
	}
	w.raw = w.blk.appendRaw(w.raw[:0])
	w.zbuf = w.enc.EncodeAll(w.raw, w.zbuf[:0])
	b := &w.f.blocks[len(w.f.blocks)-1]
	b.clen = len(w.zbuf)
	b.rawLen = len(w.raw)
	b.count = w.blk.n
	b.crc = checksum(w.zbuf)
	w.blk.reset()
	return w.write(w.zbuf)
}

// Close writes the last block, the footer and the trailer. It does not
// close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	// A delta records the base entries never reached as deleted.
	for w.err == nil && w.base != nil {
		if err := w.loadBase(); err != nil {
			return err
		}
		if w.baseRec == nil {
			break
		}
		if err := w.put(w.baseRec.key, nil, true); err != nil {
			return err
		}
		w.baseRec = nil
	}
	if err := w.flush(); err != nil {
		return err
	}
	raw := w.f.appendRaw(nil)
	if len(raw) > maxFooter {
		return fmt.Errorf("index footer of %d bytes is above the limit %d", len(raw), maxFooter)
	}
	z := w.enc.EncodeAll(raw, nil)
	t := trailer{footerOffset: w.off, footerLen: uint32(len(z)), footerRawLen: uint32(len(raw)), footerCRC: checksum(z)}
	if err := w.write(z); err != nil {
		return err
	}
	return w.write(t.append(nil))
}

// Stats reports what the writer has written so far.
type Stats struct {
	Entries int64 // entries of the full view
	Records int64 // rows in this file
	Errors  int64
	Bytes   int64
}

// Stats returns the counts so far; after Close they are final.
func (w *Writer) Stats() Stats {
	return Stats{Entries: w.f.entries, Records: w.f.records, Errors: w.f.errorCount, Bytes: w.off}
}
