package sim

import (
	"hash/maphash"
	"math/rand/v2"
	"time"
)

// FNV-1a, 64 bit: a stable hash (unlike hash/maphash, whose seed changes per
// process) to turn "what is being decided" into a PCG stream selector.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// key accumulates the identity of a random decision.
type key uint64

func newKey(s string) key { return key(fnvOffset).str(s) }

func (k key) str(s string) key {
	h := uint64(k)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	// A separator byte so that ("ab","c") and ("a","bc") differ.
	h ^= 0xff
	h *= fnvPrime
	return key(h)
}

func (k key) num(v uint64) key {
	h := uint64(k)
	for i := 0; i < 8; i++ {
		h ^= uint64(byte(v >> (8 * i)))
		h *= fnvPrime
	}
	return key(h)
}

// lookupSeed seeds the hashes made with key.also.
var lookupSeed = maphash.MakeSeed()

// also folds s into k with the runtime's string hash, for keys the
// simulator only compares or looks up and never draws random numbers
// from: a request's parameters (idempotency-token checks), World.tokens
// and World.tagSets. FNV-1a goes a byte at a time, and over the ~100-byte
// ARNs and tokens of every StartBackup and StartCopy that was a measurable
// share of the calls; maphash reads 16 bytes at a time. Its seed is random
// per process, so such keys must never decide anything random or order
// anything: keys given to World.stream stay FNV-1a (str, num).
func (k key) also(s string) key {
	return key((uint64(k) ^ maphash.String(lookupSeed, s)) * fnvPrime)
}

// stream is a PCG source dedicated to one decision or one object. It is a
// value (16 bytes), so creating one costs no allocation.
type stream struct{ p rand.PCG }

func (w *World) stream(k key) stream {
	var s stream
	s.p.Seed(w.seed, uint64(k))
	s.p.Uint64() // step once: the first output of nearby seeds is less mixed
	return s
}

func (s *stream) u64() uint64 { return s.p.Uint64() }

// float returns a uniform number in [0, 1).
func (s *stream) float() float64 { return float64(s.p.Uint64()>>11) / (1 << 53) }

// chance reports true with probability p.
func (s *stream) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	return s.float() < p
}

// between returns a uniform duration in [lo, hi], rounded to milliseconds so
// that timestamps rendered with millisecond precision are exact.
func (s *stream) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo.Round(time.Millisecond)
	}
	d := lo + time.Duration(s.float()*float64(hi-lo))
	return d.Round(time.Millisecond)
}

// intn returns a uniform int in [0, n).
func (s *stream) intn(n int) int { return int(s.p.Uint64() % uint64(n)) }

const hexDigits = "0123456789abcdef"
const hexUpper = "0123456789ABCDEF"

// uuid renders 128 random bits as a version-4-looking UUID.
func (s *stream) uuid(upper bool) string {
	var b [36]byte
	return string(s.appendUUID(b[:0], upper))
}

// appendUUID appends a UUID without allocating a string. It sets the
// version and variant bits in the two words first and then writes each
// group's digits from a shift, with no per-digit branches: the simulator
// makes a UUID for every job, recovery point and event.
func (s *stream) appendUUID(b []byte, upper bool) []byte {
	digits := hexDigits
	if upper {
		digits = hexUpper
	}
	hi, lo := s.p.Uint64(), s.p.Uint64()
	hi = hi&^(0xf<<12) | 4<<12   // digit 12: version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // digit 16: RFC 4122 variant (8|x&3)
	var u [36]byte
	putHex(u[0:8], hi>>32, digits)
	putHex(u[9:13], hi>>16, digits)
	putHex(u[14:18], hi, digits)
	putHex(u[19:23], lo>>48, digits)
	putHex(u[24:36], lo, digits)
	u[8], u[13], u[18], u[23] = '-', '-', '-', '-'
	return append(b, u[:]...)
}

// putHex fills dst with the len(dst) low hex digits of v.
func putHex(dst []byte, v uint64, digits string) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = digits[v&0xf]
		v >>= 4
	}
}

// hexID renders n random lowercase hex digits (EFS ids: fs- + 17 digits).
func (s *stream) hexID(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[s.p.Uint64()&0xf]
	}
	return string(b)
}
