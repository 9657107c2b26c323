package sim

import (
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// recoveryPoint is one AWS Backup recovery point (a backup's or a copy's).
//
// The fields are what the point does not share with its job (p.job: the
// backup or copy that made it, which knows the file system's ARN and id)
// and its vault: the world holds hundreds of thousands of points, and a
// smaller record costs less to allocate, to mark and to bring into cache.
type recoveryPoint struct {
	seq         uint32 // index in World.rpList
	arn         string
	vault       *vault // where it is (vault.loc: its account and Region)
	createdAt   stamp  // the backup job's creation; copies keep the source's
	completedAt stamp
	status      engine.RecoveryPointStatus
	size        int64
	tags        tagSet
	coldAfter   int64 // days, 0: never
	deleteAfter int64 // days, 0: never
	copyOf      string
	job         *job // the job that made it
	// activeJobs counts copy (and restore) jobs that read this point and
	// have not ended: AWS refuses to delete it meanwhile.
	activeJobs int32
	deletedAt  stamp
	deletedBy  string
	gone       bool // no longer listed: deleted, or its backup never completed
}

// newPointArn names a new recovery point in l with a UUID drawn from s.
// It writes the UUID straight into the ARN: one allocation per point, not
// one for the UUID string and one for the ARN.
func newPointArn(l engine.Loc, s *stream) string {
	var buf [160]byte // fits any real Region and account; longer ones grow
	b := append(buf[:0], "arn:aws:backup:"...)
	b = append(b, l.Region...)
	b = append(b, ':')
	b = append(b, l.Account...)
	b = append(b, ":recovery-point:"...)
	return string(s.appendUUID(b, false))
}

// resourceArn is the ARN of the file system the point is a backup of.
func (p *recoveryPoint) resourceArn() string { return p.job.resourceArn }

// fsID is the id of the file system the point is a backup of.
func (p *recoveryPoint) fsID() string { return p.job.fsID }

// storageClass is computed from the clock: MoveToColdStorageAfterDays is a
// pure function of time, so it needs no timer.
func (p *recoveryPoint) storageClass(now time.Time) string {
	if p.gone {
		return "DELETED"
	}
	if p.coldAfter > 0 && p.status != engine.RPCreating && !now.Before(p.createdAt.time().Add(day(p.coldAfter))) {
		return "COLD"
	}
	return "WARM"
}

func (p *recoveryPoint) expiresAt() time.Time {
	if p.deleteAfter <= 0 {
		return time.Time{}
	}
	return p.createdAt.time().Add(day(p.deleteAfter))
}

// newPoint registers a recovery point.
func (w *World) newPoint(p *recoveryPoint) {
	p.seq = uint32(len(w.rpList))
	w.rpList = append(w.rpList, p)
	w.rpIdx.put(p.arn, p.seq, w.pointName)
	w.lastPoint = nil
	p.vault.points++
}

// completePoint makes a point available and plans its lifecycle deletion,
// which AWS carries out at a random time within 8 hours after expiry.
func (w *World) completePoint(p *recoveryPoint) {
	p.status = engine.RPCompleted
	p.completedAt = stampOf(w.now)
	if exp := p.expiresAt(); !exp.IsZero() {
		w.scheduleLifecycle(p, exp.Add(p.job.rng.between(0, 8*time.Hour-time.Minute)))
	}
}

// dropPoint removes a point whose backup never completed.
func (w *World) dropPoint(p *recoveryPoint) {
	if !p.gone {
		w.unlist(p)
	}
}

// unlist makes p gone. It also leaves World.rpIdx, which then finds only the
// points AWS lists, not every point ever made: every lookup there treats
// a gone point as missing anyway, and a smaller map is cheaper to grow and
// to search (rpList keeps them all, for RecoveryPoints and timers).
func (w *World) unlist(p *recoveryPoint) {
	p.gone = true
	p.vault.points--
	w.rpIdx.del(p.arn, w.pointName)
	w.lastPoint = nil
}

// scheduleLifecycle plans the lifecycle deletion of p for the first whole
// minute at or after at. Deletions of one minute share one timer: the
// heap then holds one entry per minute instead of one per recovery point
// (a month of daily backups of 16,000 file systems is half a million).
func (w *World) scheduleLifecycle(p *recoveryPoint, at time.Time) {
	if at.Before(w.now) {
		at = w.now
	}
	minute := at.Truncate(time.Minute)
	if minute.Before(at) {
		minute = minute.Add(time.Minute)
	}
	k := minute.UnixNano()
	refs, ok := w.lifecycle[k]
	if !ok {
		w.schedule(minute, timer{kind: tLifecycleMinute})
	}
	w.lifecycle[k] = append(refs, p.seq)
}

// lifecycleMinute runs the deletions planned for one minute, in the order
// they were planned.
func (w *World) lifecycleMinute(k int64) {
	refs := w.lifecycle[k]
	delete(w.lifecycle, k)
	for _, ref := range refs {
		w.lifecycleDelete(w.rpList[ref])
	}
}

func (w *World) lifecycleDelete(p *recoveryPoint) {
	if p.gone || p.deletedAt != 0 {
		return
	}
	if p.activeJobs > 0 {
		// A copy still reads it: AWS retries the deletion later.
		w.scheduleLifecycle(p, w.now.Add(time.Hour))
		return
	}
	if w.cannotDelete(p) {
		p.status = engine.RPExpired
		return
	}
	p.deletedAt = stampOf(w.now)
	p.deletedBy = DeletedByLifecycle
	w.unlist(p)
}

// pointGone ends a DELETING point's life.
func (w *World) pointGone(p *recoveryPoint) {
	if !p.gone {
		w.unlist(p)
	}
}

// cannotDelete: AWS Backup lacks the permission to delete here, so it only
// marks points EXPIRED.
func (w *World) cannotDelete(p *recoveryPoint) bool {
	return p.vault.noDelete || w.accounts[p.vault.loc.Account].deleteWithoutPermission
}

// Who deleted a recovery point (RecoveryPointInfo.DeletedBy).
const (
	DeletedByEfskeeper = "efskeeper" // DeleteRecoveryPoint through the Backup port
	DeletedByLifecycle = "lifecycle" // the point's DeleteAfterDays passed
)

// tag is one key/value pair; tagSet is a key-sorted, interned list of them
// (all points of one session share one tagSet, copies share their source's).
type tag struct{ k, v string }

type tagSet []tag

func (w *World) internTags(m map[string]string, k key) tagSet {
	if len(m) == 0 {
		return nil
	}
	if ts, ok := w.tagSets[k]; ok && ts.equals(m) {
		return ts
	}
	var buf [16]string
	keys := sortedTagKeys(m, &buf)
	ts := make(tagSet, len(keys))
	for i, name := range keys {
		ts[i] = tag{name, m[name]}
	}
	w.tagSets[k] = ts
	return ts
}

func (ts tagSet) equals(m map[string]string) bool {
	if len(ts) != len(m) {
		return false
	}
	for _, t := range ts {
		if v, ok := m[t.k]; !ok || v != t.v {
			return false
		}
	}
	return true
}

func (ts tagSet) m() map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[t.k] = t.v
	}
	return m
}
