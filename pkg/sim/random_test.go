package sim

import "testing"

// TestAppendUUID checks appendUUID against the digit-by-digit rendering
// it replaced: ids, ARNs and event ids of a seed must not change.
func TestAppendUUID(t *testing.T) {
	w := New(Config{Seed: 7})
	for i := range 2000 {
		upper := i%2 == 1
		s := w.stream(newKey("uuid").num(uint64(i)))
		ref := s
		got := string(s.appendUUID([]byte("x:"), upper))
		if want := string(uuidByDigit([]byte("x:"), &ref, upper)); got != want {
			t.Fatalf("stream %d: %s, want %s", i, got, want)
		}
		if s.u64() != ref.u64() {
			t.Fatalf("stream %d: appendUUID drew a different count of numbers", i)
		}
	}
}

// uuidByDigit is the former appendUUID.
func uuidByDigit(b []byte, s *stream, upper bool) []byte {
	digits := hexDigits
	if upper {
		digits = hexUpper
	}
	hi, lo := s.p.Uint64(), s.p.Uint64()
	for i := 0; i < 32; i++ {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b = append(b, '-')
		}
		var nib uint64
		if i < 16 {
			nib = hi >> (60 - 4*i) & 0xf
		} else {
			nib = lo >> (60 - 4*(i-16)) & 0xf
		}
		switch i {
		case 12:
			nib = 4
		case 16:
			nib = 8 | nib&3
		}
		b = append(b, digits[nib])
	}
	return b
}

func BenchmarkAppendUUID(b *testing.B) {
	w := New(Config{Seed: 7})
	s := w.stream(newKey("uuid"))
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = s.appendUUID(buf[:0], false)
	}
}

func BenchmarkUUIDByDigit(b *testing.B) {
	w := New(Config{Seed: 7})
	s := w.stream(newKey("uuid"))
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = uuidByDigit(buf[:0], &s, false)
	}
}
