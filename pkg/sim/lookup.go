package sim

import "hash/maphash"

// hashIndex finds a job by its id or a recovery point by its ARN: it maps
// the string's hash to the record's index (in World.jobs or World.rpList),
// and the caller's name function confirms the match.
//
// A map keyed by the strings themselves was a measurable share of the
// engine benchmark: it grows to hundreds of thousands of entries, each
// growth rehashes and moves every string key, and the collector scans
// every key for pointers. Here an entry is 12 pointer-free bytes, and the
// string is hashed once per call. Two strings with one hash (not expected
// in a run's lifetime, but possible) are still told apart: the later one
// goes to clash, keyed by the string.
type hashIndex struct {
	byHash map[uint64]uint32
	clash  map[string]uint32
}

func newHashIndex() hashIndex { return hashIndex{byHash: map[uint64]uint32{}} }

// strHash is the runtime's string hash (see key.also: per-process seed, so
// it only finds things and never decides or orders anything).
func strHash(s string) uint64 { return maphash.String(lookupSeed, s) }

// get returns the index of s; name(i) is the string of record i.
func (x *hashIndex) get(s string, name func(uint32) string) (uint32, bool) {
	if i, ok := x.byHash[strHash(s)]; ok && name(i) == s {
		return i, true
	}
	if x.clash == nil {
		return 0, false
	}
	i, ok := x.clash[s]
	return i, ok
}

// put makes s find record i, replacing what s found before.
func (x *hashIndex) put(s string, i uint32, name func(uint32) string) {
	h := strHash(s)
	if j, ok := x.byHash[h]; ok && name(j) != s {
		if x.clash == nil {
			x.clash = map[string]uint32{}
		}
		x.clash[s] = i
		return
	}
	x.byHash[h] = i
}

// del makes s find nothing.
func (x *hashIndex) del(s string, name func(uint32) string) {
	h := strHash(s)
	if j, ok := x.byHash[h]; ok && name(j) == s {
		delete(x.byHash, h)
		return
	}
	delete(x.clash, s)
}

func (x *hashIndex) len() int { return len(x.byHash) + len(x.clash) }

// jobName and pointName are the name functions of World.jobIdx and
// World.rpIdx.
func (w *World) jobName(i uint32) string   { return w.jobs[i].id }
func (w *World) pointName(i uint32) string { return w.rpList[i].arn }

// findJob returns the job with that id, or nil.
func (w *World) findJob(id string) *job {
	if i, ok := w.jobIdx.get(id, w.jobName); ok {
		return w.jobs[i]
	}
	return nil
}

// findPoint returns the listed (not gone) recovery point with that ARN,
// or nil.
func (w *World) findPoint(arn string) *recoveryPoint {
	if p := w.lastPoint; p != nil && p.arn == arn {
		return p
	}
	if i, ok := w.rpIdx.get(arn, w.pointName); ok {
		w.lastPoint = w.rpList[i]
		return w.lastPoint
	}
	return nil
}
