package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// File layout (all integers little endian):
//
//	header   "EFSKIDX" version                       8 bytes
//	blocks   zstd frames, one per block, back to back
//	footer   zstd frame of the footer (metadata and block index)
//	trailer  footerOffset u64, footerLen u32, footerRawLen u32,
//	         footerCRC u32, trailerCRC u32, "EFSKIDX" version   32 bytes
//
// Checksums are CRC-32C of the stored (compressed) bytes. The footer records
// for every block its length, raw length, entry count, CRC and first key.

// Version is the format version this package writes and reads.
const Version = 1

const (
	magic       = "EFSKIDX"
	headerLen   = 8
	trailerLen  = 32
	maxFooter   = 256 << 20 // raw footer bytes a reader accepts
	maxErrorLog = 1000      // walk errors kept in the footer; the rest are counted
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) uint32 { return crc32.Checksum(b, crcTable) }

// ErrCorrupt is wrapped by every error about a damaged, truncated or foreign
// index file.
var ErrCorrupt = errors.New("index is damaged or truncated")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// Meta describes what an index is an index of.
type Meta struct {
	FileSystemID    string
	RestorePointARN string
	// BackupCreated is the restore point's creation time. Entries whose ctime
	// is later are flagged ChangedAfterBackup. Zero means unknown (no flags).
	BackupCreated time.Time
	// IndexCreated is when the walk started.
	IndexCreated time.Time
	// Source is the directory that was walked, for humans.
	Source string
}

// BaseRef names the full index a delta index was written against.
type BaseRef struct {
	// Location as given to the writer: a path or s3:// URL; a relative path
	// is relative to the directory (or S3 prefix) of the delta.
	Location string
	// ID is the base's Info.ID; a reader refuses a base with another ID.
	ID [16]byte
}

type blockInfo struct {
	offset   int64
	clen     int
	rawLen   int
	count    int
	crc      uint32
	firstKey []byte
}

// footer is the decoded footer.
type footer struct {
	meta       Meta
	entries    int64 // live entries in the full view (base + delta)
	records    int64 // rows stored in this file, tombstones included
	errorCount int64
	errors     []WalkError
	base       *BaseRef
	blocks     []blockInfo
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendTime(dst []byte, t time.Time) []byte {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	return binary.AppendUvarint(dst, zigzag(ns))
}

func (f *footer) appendRaw(dst []byte) []byte {
	dst = appendString(dst, f.meta.FileSystemID)
	dst = appendString(dst, f.meta.RestorePointARN)
	dst = appendTime(dst, f.meta.BackupCreated)
	dst = appendTime(dst, f.meta.IndexCreated)
	dst = appendString(dst, f.meta.Source)
	dst = binary.AppendUvarint(dst, uint64(f.entries))
	dst = binary.AppendUvarint(dst, uint64(f.records))
	dst = binary.AppendUvarint(dst, uint64(f.errorCount))
	dst = binary.AppendUvarint(dst, uint64(len(f.errors)))
	for _, e := range f.errors {
		dst = appendString(dst, e.Path)
		dst = appendString(dst, e.Err)
	}
	if f.base == nil {
		dst = append(dst, 0)
	} else {
		dst = append(dst, 1)
		dst = appendString(dst, f.base.Location)
		dst = append(dst, f.base.ID[:]...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(f.blocks)))
	var prev []byte
	for _, b := range f.blocks {
		dst = binary.AppendUvarint(dst, uint64(b.clen))
		dst = binary.AppendUvarint(dst, uint64(b.rawLen))
		dst = binary.AppendUvarint(dst, uint64(b.count))
		dst = binary.LittleEndian.AppendUint32(dst, b.crc)
		shared := 0
		for shared < len(prev) && shared < len(b.firstKey) && prev[shared] == b.firstKey[shared] {
			shared++
		}
		dst = binary.AppendUvarint(dst, uint64(shared))
		dst = appendString(dst, string(b.firstKey[shared:]))
		prev = b.firstKey
	}
	return dst
}

// footerDecoder reads the raw footer with bounds checks everywhere.
type footerDecoder struct {
	b   []byte
	err error
}

func (d *footerDecoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.err = corruptf("footer: bad %s", what)
		return 0
	}
	d.b = d.b[k:]
	return v
}

func (d *footerDecoder) bytes(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = corruptf("footer: %s runs past the end", what)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *footerDecoder) str(what string) string {
	return string(d.bytes(d.uvarint(what), what))
}

func (d *footerDecoder) time(what string) time.Time {
	ns := unzigzag(d.uvarint(what))
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// count reads a count that must not exceed what the remaining bytes could
// hold (each item takes at least min bytes).
func (d *footerDecoder) count(what string, min int) int {
	n := d.uvarint(what)
	if d.err == nil && n > uint64(len(d.b)/min) {
		d.err = corruptf("footer: %s count %d too large", what, n)
	}
	return int(n)
}

// decodeFooter parses raw footer bytes; blocks are laid out from the header
// to footerOffset.
func decodeFooter(raw []byte, footerOffset int64) (*footer, error) {
	d := &footerDecoder{b: raw}
	f := &footer{}
	f.meta.FileSystemID = d.str("file system id")
	f.meta.RestorePointARN = d.str("restore point ARN")
	f.meta.BackupCreated = d.time("backup creation time")
	f.meta.IndexCreated = d.time("index creation time")
	f.meta.Source = d.str("source")
	f.entries = int64(d.uvarint("entry count"))
	f.records = int64(d.uvarint("record count"))
	f.errorCount = int64(d.uvarint("error count"))
	nerr := d.count("error", 2)
	if d.err == nil && nerr > maxErrorLog {
		d.err = corruptf("footer: %d error records, at most %d allowed", nerr, maxErrorLog)
	}
	for i := 0; i < nerr && d.err == nil; i++ {
		f.errors = append(f.errors, WalkError{Path: d.str("error path"), Err: d.str("error message")})
	}
	switch hasBase := d.bytes(1, "base flag"); {
	case d.err != nil:
	case hasBase[0] == 1:
		f.base = &BaseRef{Location: d.str("base location")}
		copy(f.base.ID[:], d.bytes(16, "base id"))
	case hasBase[0] != 0:
		d.err = corruptf("footer: bad base flag")
	}
	nb := d.count("block", 8)
	if d.err != nil {
		return nil, d.err
	}
	f.blocks = make([]blockInfo, 0, nb)
	off := int64(headerLen)
	var prev []byte
	var total int64
	keyBytes := 0
	for i := 0; i < nb; i++ {
		b := blockInfo{offset: off}
		clen := d.uvarint("block length")
		rawLen := d.uvarint("block raw length")
		count := d.uvarint("block entry count")
		crc := d.bytes(4, "block checksum")
		shared := d.uvarint("first key")
		suffix := d.bytes(d.uvarint("first key"), "first key")
		if d.err != nil {
			return nil, d.err
		}
		if clen == 0 || clen > uint64(footerOffset) || rawLen > maxBlockRaw || count == 0 || count > rawLen {
			return nil, corruptf("footer: block %d has impossible sizes", i)
		}
		if shared > uint64(len(prev)) {
			return nil, corruptf("footer: block %d first key out of range", i)
		}
		b.clen, b.rawLen, b.count = int(clen), int(rawLen), int(count)
		b.crc = binary.LittleEndian.Uint32(crc)
		b.firstKey = make([]byte, 0, int(shared)+len(suffix))
		b.firstKey = append(append(b.firstKey, prev[:shared]...), suffix...)
		keyBytes += len(b.firstKey)
		if keyBytes > maxFooter {
			return nil, corruptf("footer: block keys too long")
		}
		if err := checkKey(b.firstKey); err != nil {
			return nil, corruptf("footer: block %d: %v", i, err)
		}
		if i > 0 && string(prev) >= string(b.firstKey) {
			return nil, corruptf("footer: block %d keys out of order", i)
		}
		off += int64(b.clen)
		if off > footerOffset {
			return nil, corruptf("footer: block %d runs past the footer", i)
		}
		total += int64(b.count)
		prev = b.firstKey
		f.blocks = append(f.blocks, b)
	}
	if len(d.b) != 0 {
		return nil, corruptf("footer: %d trailing bytes", len(d.b))
	}
	if off != footerOffset {
		return nil, corruptf("footer: blocks end at %d but the footer starts at %d", off, footerOffset)
	}
	if total != f.records {
		return nil, corruptf("footer: blocks hold %d entries, footer says %d", total, f.records)
	}
	if f.base == nil && f.entries != f.records {
		return nil, corruptf("footer: full index with %d entries but %d records", f.entries, f.records)
	}
	return f, nil
}

func appendHeader(dst []byte) []byte {
	return append(append(dst, magic...), Version)
}

type trailer struct {
	footerOffset int64
	footerLen    uint32
	footerRawLen uint32
	footerCRC    uint32
}

func (t trailer) append(dst []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(t.footerOffset))
	dst = binary.LittleEndian.AppendUint32(dst, t.footerLen)
	dst = binary.LittleEndian.AppendUint32(dst, t.footerRawLen)
	dst = binary.LittleEndian.AppendUint32(dst, t.footerCRC)
	dst = binary.LittleEndian.AppendUint32(dst, checksum(dst[start:]))
	return appendHeader(dst)
}

func parseTrailer(b []byte, size int64) (trailer, error) {
	if len(b) != trailerLen {
		return trailer{}, corruptf("trailer has %d bytes", len(b))
	}
	if string(b[24:31]) != magic {
		return trailer{}, corruptf("no index trailer at the end (file truncated, or not an efskeeper index)")
	}
	if v := b[31]; v != Version {
		return trailer{}, fmt.Errorf("index format version %d is not supported (this efskeeper reads version %d)", v, Version)
	}
	if checksum(b[:20]) != binary.LittleEndian.Uint32(b[20:24]) {
		return trailer{}, corruptf("trailer checksum mismatch")
	}
	t := trailer{
		footerOffset: int64(binary.LittleEndian.Uint64(b[0:8])),
		footerLen:    binary.LittleEndian.Uint32(b[8:12]),
		footerRawLen: binary.LittleEndian.Uint32(b[12:16]),
		footerCRC:    binary.LittleEndian.Uint32(b[16:20]),
	}
	if t.footerOffset < headerLen || t.footerRawLen > maxFooter || t.footerOffset+int64(t.footerLen)+trailerLen != size {
		return trailer{}, corruptf("trailer does not fit the file size %d", size)
	}
	return t, nil
}
