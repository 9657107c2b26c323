package index

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzReader opens arbitrary bytes as an index and reads everything it can:
// no input may panic, and errors must wrap ErrCorrupt or name the version.
func FuzzReader(f *testing.F) {
	valid := writeIndex(f, genEntries(11, 60), WriterOptions{BlockSize: 256})
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(valid[:len(valid)/2])
	f.Add([]byte(magic + "\x01"))
	f.Add(writeIndex(f, nil, WriterOptions{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Open(bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			return
		}
		n := 0
		for e, err := range r.All() {
			if err != nil {
				break
			}
			if n++; n > 1e5 {
				break
			}
			for _, err := range r.List(e.Path) {
				if err != nil {
					break
				}
			}
			r.Lookup(e.Path)
		}
		g, _ := CompileGlob("*a*")
		for _, err := range r.Search(Query{Name: g, PathContains: "b"}) {
			if err != nil {
				break
			}
		}
	})
}

// FuzzCorruptIndex flips bytes of a valid index: reading must fail or give
// exactly the original rows.
func FuzzCorruptIndex(f *testing.F) {
	es := withFlags(genEntries(12, 80))
	valid := writeIndex(f, es, WriterOptions{BlockSize: 300})
	f.Add(uint32(10), byte(1), uint32(0), byte(0))
	f.Add(uint32(len(valid)-5), byte(0x80), uint32(len(valid)/2), byte(7))
	f.Fuzz(func(t *testing.T, at1 uint32, x1 byte, at2 uint32, x2 byte) {
		c := slices.Clone(valid)
		c[int(at1)%len(c)] ^= x1
		c[int(at2)%len(c)] ^= x2
		rows, err := readAllOrError(c)
		if err == nil && !slices.Equal(rows, es) {
			t.Fatalf("corrupted index read without error but with %d different rows", len(rows))
		}
	})
}

// FuzzFooter feeds arbitrary raw footers to the footer decoder.
func FuzzFooter(f *testing.F) {
	ft := footer{meta: Meta{FileSystemID: "fs-1", Source: "/x"}, entries: 2, records: 2,
		errors: []WalkError{{"a", "b"}}, blocks: []blockInfo{{clen: 10, rawLen: 100, count: 2, crc: 7, firstKey: appendKey(nil, "a")}}}
	f.Add(ft.appendRaw(nil), int64(18))
	ft.base = &BaseRef{Location: "base.idx"}
	ft.entries = 5
	f.Add(ft.appendRaw(nil), int64(18))
	f.Fuzz(func(t *testing.T, raw []byte, footerOffset int64) {
		fo, err := decodeFooter(raw, footerOffset)
		if err != nil {
			return
		}
		// What decodes must encode to bytes that decode to the same footer.
		again := fo.appendRaw(nil)
		fo2, err := decodeFooter(again, footerOffset)
		if err != nil {
			t.Fatalf("re-encoded footer does not decode: %v", err)
		}
		if !bytes.Equal(fo2.appendRaw(nil), again) {
			t.Fatalf("footer does not round-trip")
		}
	})
}

// FuzzBlock feeds arbitrary raw blocks to the block decoder.
func FuzzBlock(f *testing.F) {
	var b blockEncoder
	for _, e := range genEntries(13, 40) {
		b.add(appendKey(nil, e.Path), &e, false)
	}
	f.Add(b.appendRaw(nil))
	b.reset()
	b.add(appendKey(nil, "x"), nil, true)
	f.Add(b.appendRaw(nil))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkBlock(raw)
	})
}
