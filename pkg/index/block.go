package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// A block holds consecutive entries in columns, so that zstd sees similar
// values next to each other (all names, then all sizes, ...). Raw layout:
//
//	uvarint n
//	numCols times: uvarint length, column bytes
//
// Columns, each with n values unless noted:
//
//	flags    1 byte: type code (bits 0-2), incomplete (bit 3), tombstone (bit 4)
//	shared   uvarint: bytes shared with the previous key of the block
//	suffixLn uvarint: length of the rest of the key
//	suffix   the key rests, concatenated
//	size     uvarint
//	mode     uvarint
//	uid, gid zigzag varint delta from the previous entry
//	mtime    zigzag varint delta from the previous entry
//	ctime    zigzag varint of ctime - mtime
//	inode    zigzag varint delta from the previous entry
//	nlink    uvarint
//	target   for symlinks only: uvarint length, bytes
const (
	colFlags = iota
	colShared
	colSuffixLen
	colSuffix
	colSize
	colMode
	colUID
	colGID
	colMTime
	colCTime
	colInode
	colNlink
	colTarget
	numCols
)

const (
	flagTypeMask   = 0x07
	flagIncomplete = 0x08
	flagTombstone  = 0x10
	flagKnown      = flagTypeMask | flagIncomplete | flagTombstone
)

// Limits that keep a damaged or hostile index from making a reader allocate
// without bound.
const (
	maxBlockRaw      = 16 << 20 // decompressed bytes of one block
	maxBlockKeyBytes = 8 << 20  // sum of the full key lengths in one block
	maxKeyLen        = 1 << 20
)

// blockEncoder accumulates entries for one block.
type blockEncoder struct {
	n        int
	cols     [numCols][]byte
	prevKey  []byte
	keyBytes int
	prev     Entry // previous entry for delta coding
}

func (b *blockEncoder) reset() {
	b.n = 0
	for i := range b.cols {
		b.cols[i] = b.cols[i][:0]
	}
	b.prevKey = b.prevKey[:0]
	b.keyBytes = 0
	b.prev = Entry{}
}

// rawSize estimates the encoded size, used to cut blocks.
func (b *blockEncoder) rawSize() int {
	s := 0
	for i := range b.cols {
		s += len(b.cols[i])
	}
	return s
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// add appends one entry whose key is key. tombstone records a deletion in a
// delta index (only the key is meaningful then).
func (b *blockEncoder) add(key []byte, e *Entry, tombstone bool) {
	shared := commonPrefix(key, b.prevKey)
	var flags byte
	if !tombstone {
		code, _ := typeCode(e.Type)
		flags = code
		if e.Incomplete {
			flags |= flagIncomplete
		}
	} else {
		flags = flagTombstone
		e = &Entry{}
	}
	c := &b.cols
	c[colFlags] = append(c[colFlags], flags)
	c[colShared] = binary.AppendUvarint(c[colShared], uint64(shared))
	c[colSuffixLen] = binary.AppendUvarint(c[colSuffixLen], uint64(len(key)-shared))
	c[colSuffix] = append(c[colSuffix], key[shared:]...)
	c[colSize] = binary.AppendUvarint(c[colSize], uint64(e.Size))
	c[colMode] = binary.AppendUvarint(c[colMode], uint64(e.Mode))
	c[colUID] = binary.AppendUvarint(c[colUID], zigzag(int64(e.UID)-int64(b.prev.UID)))
	c[colGID] = binary.AppendUvarint(c[colGID], zigzag(int64(e.GID)-int64(b.prev.GID)))
	c[colMTime] = binary.AppendUvarint(c[colMTime], zigzag(e.MTime-b.prev.MTime))
	c[colCTime] = binary.AppendUvarint(c[colCTime], zigzag(e.CTime-e.MTime))
	c[colInode] = binary.AppendUvarint(c[colInode], zigzag(int64(e.Inode-b.prev.Inode)))
	c[colNlink] = binary.AppendUvarint(c[colNlink], e.Nlink)
	if !tombstone && e.Type == TypeSymlink {
		c[colTarget] = binary.AppendUvarint(c[colTarget], uint64(len(e.Target)))
		c[colTarget] = append(c[colTarget], e.Target...)
	}
	b.prevKey = append(b.prevKey[:0], key...)
	b.keyBytes += len(key)
	b.prev = Entry{UID: e.UID, GID: e.GID, MTime: e.MTime, Inode: e.Inode}
	b.n++
}

// commonPrefix returns the length of the longest common prefix of a and b,
// comparing 8 bytes at a time: keys share their directory part, tens of
// bytes, with the previous key.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// appendRaw appends the raw block to dst.
func (b *blockEncoder) appendRaw(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(b.n))
	for i := range b.cols {
		dst = binary.AppendUvarint(dst, uint64(len(b.cols[i])))
		dst = append(dst, b.cols[i]...)
	}
	return dst
}

var errBlock = errors.New("malformed block")

// record is one decoded row. key and target point into buffers that the next
// call to next overwrites.
type record struct {
	key       []byte
	flags     byte
	typ       Type
	size      int64
	mode      uint32
	uid, gid  uint32
	mtime     int64
	ctime     int64
	inode     uint64
	nlink     uint64
	target    []byte
	tombstone bool
}

// blockIter decodes a raw block row by row. Its first run (check) validates
// the whole block, so rows are only handed out from blocks that decode
// completely.
type blockIter struct {
	n, i     int
	cols     [numCols][]byte
	key      []byte
	prevKey  []byte
	keyBytes int
	rec      record
	err      error
}

func (it *blockIter) init(raw []byte) error {
	*it = blockIter{key: it.key[:0], prevKey: it.prevKey[:0]}
	n, k := binary.Uvarint(raw)
	if k <= 0 || n > uint64(len(raw)) {
		return fmt.Errorf("%w: bad entry count", errBlock)
	}
	it.n = int(n)
	raw = raw[k:]
	for i := range it.cols {
		l, k := binary.Uvarint(raw)
		if k <= 0 || l > uint64(len(raw)-k) {
			return fmt.Errorf("%w: column %d length", errBlock, i)
		}
		it.cols[i] = raw[k : k+int(l)]
		raw = raw[k+int(l):]
	}
	if len(raw) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errBlock, len(raw))
	}
	if len(it.cols[colFlags]) != it.n {
		return fmt.Errorf("%w: flags column has %d bytes for %d entries", errBlock, len(it.cols[colFlags]), it.n)
	}
	return nil
}

func (it *blockIter) uvarint(col int) uint64 {
	v, k := binary.Uvarint(it.cols[col])
	if k <= 0 {
		if it.err == nil {
			it.err = fmt.Errorf("%w: column %d truncated", errBlock, col)
		}
		return 0
	}
	it.cols[col] = it.cols[col][k:]
	return v
}

// next decodes the next row; it returns false at the end or on error (see
// it.err).
func (it *blockIter) next() bool {
	if it.err != nil || it.i >= it.n {
		return false
	}
	r := &it.rec
	flags := it.cols[colFlags][it.i]
	if flags&^flagKnown != 0 || (flags&flagTypeMask) >= byte(len(typeCodes)) {
		it.err = fmt.Errorf("%w: bad flags %#x", errBlock, flags)
		return false
	}
	shared := it.uvarint(colShared)
	sl := it.uvarint(colSuffixLen)
	if it.err != nil {
		return false
	}
	if shared > uint64(len(it.key)) || sl > uint64(len(it.cols[colSuffix])) || shared+sl > maxKeyLen {
		it.err = fmt.Errorf("%w: key out of range", errBlock)
		return false
	}
	it.prevKey = append(it.prevKey[:0], it.key...)
	it.key = append(it.key[:shared], it.cols[colSuffix][:sl]...)
	it.cols[colSuffix] = it.cols[colSuffix][sl:]
	it.keyBytes += len(it.key)
	if it.keyBytes > maxBlockKeyBytes {
		it.err = fmt.Errorf("%w: keys too long", errBlock)
		return false
	}
	if it.i > 0 && bytes.Compare(it.prevKey, it.key) >= 0 {
		it.err = fmt.Errorf("%w: keys out of order", errBlock)
		return false
	}
	if err := checkKey(it.key); err != nil {
		it.err = fmt.Errorf("%w: %v", errBlock, err)
		return false
	}
	prev := *r
	if it.i == 0 {
		prev = record{}
	}
	r.key = it.key
	r.flags = flags
	r.tombstone = flags&flagTombstone != 0
	r.typ = typeCodes[flags&flagTypeMask]
	r.size = int64(it.uvarint(colSize))
	r.mode = uint32(it.uvarint(colMode))
	r.uid = uint32(int64(prev.uid) + unzigzag(it.uvarint(colUID)))
	r.gid = uint32(int64(prev.gid) + unzigzag(it.uvarint(colGID)))
	r.mtime = prev.mtime + unzigzag(it.uvarint(colMTime))
	r.ctime = r.mtime + unzigzag(it.uvarint(colCTime))
	r.inode = prev.inode + uint64(unzigzag(it.uvarint(colInode)))
	r.nlink = it.uvarint(colNlink)
	r.target = nil
	if !r.tombstone && r.typ == TypeSymlink {
		tl := it.uvarint(colTarget)
		if it.err == nil && tl > uint64(len(it.cols[colTarget])) {
			it.err = fmt.Errorf("%w: symlink target out of range", errBlock)
		}
		if it.err != nil {
			return false
		}
		r.target = it.cols[colTarget][:tl]
		it.cols[colTarget] = it.cols[colTarget][tl:]
	}
	if it.err != nil {
		return false
	}
	if r.size < 0 {
		it.err = fmt.Errorf("%w: negative size", errBlock)
		return false
	}
	it.i++
	if it.i == it.n {
		for c := colShared; c < numCols; c++ {
			if c != colFlags && len(it.cols[c]) != 0 {
				it.err = fmt.Errorf("%w: column %d has %d bytes left", errBlock, c, len(it.cols[c]))
				return false
			}
		}
	}
	return true
}

// checkBlock validates a raw block completely and returns its first key and
// entry count.
func checkBlock(raw []byte) (first []byte, n int, err error) {
	var it blockIter
	if err := it.init(raw); err != nil {
		return nil, 0, err
	}
	for it.next() {
		if it.i == 1 {
			first = append([]byte(nil), it.key...)
		}
	}
	if it.err != nil {
		return nil, 0, it.err
	}
	return first, it.n, nil
}

// entry converts r to an Entry; pathBuf is scratch space.
func (r *record) entry(pathBuf []byte) (Entry, []byte) {
	pathBuf = appendKeyPath(pathBuf[:0], r.key)
	e := Entry{
		Path:       string(pathBuf),
		Type:       r.typ,
		Size:       r.size,
		Mode:       r.mode,
		UID:        r.uid,
		GID:        r.gid,
		MTime:      r.mtime,
		CTime:      r.ctime,
		Inode:      r.inode,
		Nlink:      r.nlink,
		Incomplete: r.flags&flagIncomplete != 0,
	}
	if r.target != nil {
		e.Target = string(r.target)
	}
	return e, pathBuf
}
