package sim

import (
	"slices"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// job is one AWS Backup job: a backup, a copy or a restore.
type job struct {
	seq    int
	kind   engine.JobKind
	id     string
	reg    *region // where it runs (a copy: the source Region); see loc
	token  string
	tokenN uint64 // how many earlier jobs used this token in this place
	params key    // the request's parameters, for token comparisons

	res         *resource // the one-job-per-resource lock (backup, copy)
	resourceArn string
	fsID        string
	fs          *fileSystem // nil if the file system was unknown at the start
	dst         *copySlots  // copy: the quota of its account into the destination vault's Region
	vault       *vault      // backup: target; copy: destination (nil if it did not exist)
	vaultArn    string      // backup: target; copy: destination, as requested
	srcVault    *vault      // copy, restore
	srcPoint    *recoveryPoint
	point       *recoveryPoint // backup: the point it makes; copy: the new copy
	iamRole     string
	coldAfter   int64
	deleteAfter int64 // -1 on a copy: inherit the source's expiry
	tags        tagSet
	auto        *autoPlan // non-nil: created by the EFS automatic backup plan

	createdAt, startBy, completeBy, startedAt, completedAt, expectedEnd stamp

	state   engine.JobState
	message string // statusMessage without AWS's surrounding quotes
	bytes   int64
	holds   bool // holds its resource's lock
	slot    bool // holds a copy-concurrency slot
	step    uint32
	key     key // identifies the job in random decisions
	rng     stream
	// plan for the current run, decided when it starts RUNNING
	outcome engine.JobState
	failMsg string
	restore *restoreSpec
}

// loc is where the job runs. It is its region's, not a field of its own:
// a job is smaller without those 32 bytes, and the world holds hundreds
// of thousands of jobs.
func (j *job) loc() engine.Loc { return j.reg.loc }

// tokenKey hashes (kind, place, token) for World.tokens, whose entries are
// then pointer-free; a lookup compares the job's own fields, so a hash
// collision can only make a token look unused.
func tokenKey(kind engine.JobKind, l engine.Loc, token string) key {
	return key(fnvOffset).also(string(kind)).also(l.Account).also(l.Region).also(token)
}

// resource is the lock behind "one backup or copy job per resource at a
// time": the holder runs, the others wait in CREATED, first come first
// served.
type resource struct {
	arn     string
	running *job
	waiting []*job
}

type slotKey struct{ account, region string }

// copySlots is AWS's quota of concurrent copy jobs per account into one
// destination Region. A copy job points to its quota (job.dst) from the
// start: acquire and release then need no lookup keyed by two strings.
type copySlots struct {
	region  string // the destination Region
	used    int
	waiting []*job
}

// Durations of the job phases. EFS backups take minutes even when little
// changed (sample: 1 GiB in ~30 minutes); the byte rate is deliberately low.
const (
	backupOverhead = 10 * time.Minute
	backupRate     = 20 << 20 // bytes per second
	copyOverhead   = 15 * time.Minute
	copyRate       = 20 << 20
	// tokenLifetime is how long an IdempotencyToken maps to its job.
	tokenLifetime = 24 * time.Hour
)

// jobID derives a job's id from what identifies the request, so that the
// same calls give the same ids whatever else happens in the world.
func (w *World) jobID(k key, upper bool) string {
	for i := uint64(0); ; i++ {
		s := w.stream(k.num(i))
		id := s.uuid(upper)
		if w.findJob(id) == nil {
			return id
		}
	}
}

// arns returns the ARNs of the recovery points and source vault j points
// to, "" where it points to none.
func (j *job) arns() (point, srcPoint, srcVault string) {
	if j.point != nil {
		point = j.point.arn
	}
	if j.srcPoint != nil {
		srcPoint = j.srcPoint.arn
	}
	if j.srcVault != nil {
		srcVault = j.srcVault.arn
	}
	return point, srcPoint, srcVault
}

func (w *World) addJob(j *job) {
	j.seq = len(w.jobs)
	j.key = newKey("job").str(j.id)
	j.rng = w.stream(j.key)
	w.jobs = append(w.jobs, j)
	w.jobIdx.put(j.id, uint32(j.seq), w.jobName)
	if j.token != "" {
		w.tokens[tokenKey(j.kind, j.loc(), j.token)] = uint32(j.seq)
	}
}

// tokenUse is what a Start*Job call learns from its idempotency token,
// looked up once per call: the newest job started with it, if any.
type tokenUse struct{ prev *job }

func (w *World) useToken(kind engine.JobKind, l engine.Loc, token string) tokenUse {
	if token == "" {
		return tokenUse{}
	}
	return tokenUse{w.tokenMatch(kind, l, token)}
}

// live returns the job the token still maps to (within its lifetime), or
// nil.
func (u tokenUse) live(now time.Time) *job {
	if u.prev == nil || !now.Before(u.prev.createdAt.time().Add(tokenLifetime)) {
		return nil
	}
	return u.prev
}

// n numbers reuses of a token after its lifetime passed, so that the new
// job gets a new id.
func (u tokenUse) n() uint64 {
	if u.prev != nil {
		return u.prev.tokenN + 1
	}
	return 0
}

// tokenMatch returns the newest job started with the token, or nil.
func (w *World) tokenMatch(kind engine.JobKind, l engine.Loc, token string) *job {
	i, ok := w.tokens[tokenKey(kind, l, token)]
	if !ok {
		return nil
	}
	if j := w.jobs[i]; j.kind == kind && j.loc() == l && j.token == token {
		return j
	}
	return nil
}

// jobResource returns the lock of the job's resource. A file system keeps
// a pointer to its lock, which spares each backup and copy a lookup keyed
// by the 80-byte ARN in a map of every file system; a job whose ARN is
// not the file system's own spelling uses the map. The lock lives in the
// file system's record unless another spelling of the ARN made it first
// (World.resources holds every lock, whichever made it).
func (w *World) jobResource(j *job) *resource {
	fs := j.fs
	if fs == nil || fs.arn != j.resourceArn {
		return w.resourceFor(j.resourceArn)
	}
	if fs.res == nil {
		fs.res = w.resources[fs.arn]
		if fs.res == nil {
			fs.lock.arn = fs.arn
			fs.res = &fs.lock
			w.resources[fs.arn] = fs.res
		}
	}
	return fs.res
}

func (w *World) resourceFor(arn string) *resource {
	r := w.resources[arn]
	if r == nil {
		r = &resource{arn: arn}
		w.resources[arn] = r
	}
	return r
}

// acquire takes the resource lock at once if nobody holds or waits for it;
// otherwise the job waits in CREATED.
func (w *World) acquire(j *job) {
	r := j.res
	if r.running == nil && len(r.waiting) == 0 {
		r.running = j
		j.holds = true
		w.acquired(j, false)
		return
	}
	r.waiting = append(r.waiting, j)
	if j.kind == engine.KindBackup {
		// Only a waiting backup can reach the end of its start window
		// (at least 60 minutes; a free file system starts within one).
		// AWS expires it a little after the window ends (sample: 2
		// minutes).
		w.schedule(j.startBy.time().Add(j.rng.between(0, 3*time.Minute)), timer{kind: tJobExpire, ref: uint32(j.seq)})
	}
}

// acquired plans the first step of a job that now holds its resource. A job
// that waited starts at AWS's next retry, "at least every 10 minutes".
func (w *World) acquired(j *job, waited bool) {
	if j.kind == engine.KindCopy {
		s := j.dst
		if s.used >= w.copyMax {
			s.waiting = append(s.waiting, j)
			return
		}
		s.used++
		j.slot = true
	}
	var d time.Duration
	switch {
	case waited:
		d = j.rng.between(time.Second, 10*time.Minute)
	case j.kind == engine.KindCopy:
		d = j.rng.between(30*time.Second, 5*time.Minute)
	default:
		d = j.rng.between(5*time.Second, time.Minute)
	}
	w.stepIn(j, d)
}

func (w *World) stepIn(j *job, d time.Duration) {
	w.schedule(w.now.Add(d), timer{kind: tJobStep, ref: uint32(j.seq), step: j.step})
}

// release gives up the job's lock and copy slot and starts the next waiter.
func (w *World) release(j *job) {
	if j.slot {
		j.slot = false
		s := j.dst
		s.used--
		for len(s.waiting) > 0 {
			next := s.waiting[0]
			s.waiting = s.waiting[1:]
			if next.state == engine.JobCreated && next.holds {
				s.used++
				next.slot = true
				w.stepIn(next, next.rng.between(time.Second, 10*time.Minute))
				break
			}
		}
	}
	if !j.holds {
		return
	}
	j.holds = false
	r := j.res
	r.running = nil
	for len(r.waiting) > 0 {
		next := r.waiting[0]
		r.waiting = r.waiting[1:]
		if next.state == engine.JobCreated {
			r.running = next
			next.holds = true
			w.acquired(next, true)
			return
		}
	}
}

func (w *World) unwait(j *job) {
	if j.res == nil {
		return
	}
	if i := slices.Index(j.res.waiting, j); i >= 0 {
		j.res.waiting = slices.Delete(j.res.waiting, i, i+1)
	}
}

// vaultRegion is the Region of a copy's destination vault.
func (j *job) vaultRegion() string { return j.dst.region }

// copyQuota returns the copy quota of account into region.
func (w *World) copyQuota(account, region string) *copySlots {
	k := slotKey{account, region}
	s := w.slots[k]
	if s == nil {
		s = &copySlots{region: region}
		w.slots[k] = s
	}
	return s
}

// jobFS returns the job's file system if it exists (nil once deleted).
func (w *World) jobFS(j *job) *fileSystem {
	if j.fs == nil {
		// The file system was added after the job started.
		if l, id, ok := parseFileSystemArn(j.resourceArn); ok && w.regions[l] != nil {
			j.fs = w.regions[l].fss[id]
		}
	}
	if j.fs == nil || j.fs.deleted {
		return nil
	}
	return j.fs
}

// jobStep runs a job's next planned transition.
func (w *World) jobStep(j *job) {
	switch j.kind {
	case engine.KindBackup:
		w.backupStep(j)
	case engine.KindCopy:
		w.copyStep(j)
	case engine.KindRestore:
		w.restoreStep(j)
	}
}

func (w *World) setState(j *job, s engine.JobState) {
	j.state = s
	j.step++
}

func (w *World) backupStep(j *job) {
	switch j.state {
	case engine.JobCreated:
		w.setState(j, engine.JobPending)
		w.emit(j)
		if msg := w.backupBlocker(j); msg != "" {
			j.outcome, j.failMsg = engine.JobFailed, msg
			w.stepIn(j, j.rng.between(30*time.Second, 3*time.Minute))
			return
		}
		w.stepIn(j, j.rng.between(time.Minute, 5*time.Minute))
	case engine.JobPending:
		if j.outcome == engine.JobFailed {
			w.finish(j, engine.JobFailed, j.failMsg)
			return
		}
		fs := w.jobFS(j)
		if fs == nil {
			w.finish(j, engine.JobFailed, "Backup job failed because resource "+j.resourceArn+" was not found.")
			return
		}
		w.setState(j, engine.JobRunning)
		j.startedAt = stampOf(w.now)
		j.bytes = fs.size
		if fs.backedUp {
			j.bytes = int64(float64(fs.size) * fs.changeRate)
		}
		d := backupOverhead + time.Duration(float64(j.bytes)/backupRate*float64(time.Second))
		d = time.Duration(float64(d) * (0.7 + 0.8*j.rng.float())).Round(time.Millisecond)
		j.expectedEnd = stampOf(w.now.Add(d))
		j.outcome = engine.JobCompleted
		switch {
		case j.rng.chance(w.faults.BackupFail):
			j.outcome, j.failMsg = engine.JobFailed, backupFailures[j.rng.intn(len(backupFailures))]
			d = time.Duration(float64(d) * j.rng.float()).Round(time.Millisecond)
		case j.rng.chance(w.faults.BackupAbort):
			j.outcome, j.failMsg = engine.JobAborted, msgStoppedByUser
			d = time.Duration(float64(d) * j.rng.float()).Round(time.Millisecond)
		}
		if j.completeBy != 0 && w.now.Add(d).After(j.completeBy.time()) {
			j.outcome, j.failMsg = engine.JobAborted, msgCompletionWindow
			d = j.completeBy.time().Sub(w.now)
		}
		w.emit(j)
		w.stepIn(j, d)
	case engine.JobRunning:
		w.finish(j, j.outcome, j.failMsg)
	}
}

// backupBlocker returns why a backup cannot run, "" if it can.
func (w *World) backupBlocker(j *job) string {
	switch {
	case j.vault.removed:
		return "Backup job failed because backup vault " + j.vault.arn + " does not exist."
	case w.jobFS(j) == nil:
		return "Backup job failed because resource " + j.resourceArn + " was not found."
	case j.vault.automatic && j.auto == nil:
		// The automatic vault is "reserved for those automatic backups
		// only": other plans get an insufficient-privileges error.
		return msgInsufficientPrivileges
	case j.vault.retentionOutside(j.deleteAfter):
		return "Backup job failed because the retention period is outside the retention range of the locked backup vault " + j.vault.arn + "."
	}
	return ""
}

// Status messages. Only the EXPIRED one and "stopped by user" are verbatim
// from AWS's documentation; the others are modelled on AWS's wording
// (notes.md §13: real EFS failure texts are an open question).
const (
	msgRunningJob             = "Backup job failed because there was a running job for the same resource."
	msgStoppedByUser          = "Backup job was stopped by user."
	msgInsufficientPrivileges = "Insufficient privileges to perform this action."
	msgCompletionWindow       = "Backup job was canceled because it did not complete within the completion window."
)

var backupFailures = []string{
	"Backup job failed because of an internal error in AWS Backup. Please retry the backup job.",
	msgInsufficientPrivileges,
}

var copyFailures = []string{
	msgInsufficientPrivileges,
	"Copy job failed because of an internal error in AWS Backup. Please retry the copy job.",
	"Access denied exception while trying to list tags",
}

// finish ends a job in a terminal state.
func (w *World) finish(j *job, s engine.JobState, msg string) {
	w.setState(j, s)
	j.message = msg
	j.completedAt = stampOf(w.now)
	switch j.kind {
	case engine.KindBackup:
		if s == engine.JobCompleted {
			if fs := w.jobFS(j); fs != nil {
				fs.backedUp = true
			}
			j.point.size = j.bytes
			w.completePoint(j.point)
		} else {
			w.dropPoint(j.point)
		}
		w.emit(j)
	case engine.KindCopy:
		j.srcPoint.activeJobs--
		if s == engine.JobCompleted {
			w.completeCopy(j)
		}
		w.emit(j)
	case engine.KindRestore:
		w.finishRestore(j)
		return
	}
	w.release(j)
}

// jobStartWindowEnded expires a backup job still waiting in CREATED.
func (w *World) jobStartWindowEnded(j *job) {
	if j.state != engine.JobCreated {
		return
	}
	w.unwait(j)
	w.finish(j, engine.JobExpired, msgRunningJob)
}

func (w *World) copyStep(j *job) {
	switch j.state {
	case engine.JobCreated:
		w.setState(j, engine.JobRunning)
		j.startedAt = stampOf(w.now)
		j.bytes = j.srcPoint.size
		region := j.vaultRegion()
		if fs := w.jobFS(j); fs != nil && !slices.Contains(fs.copiedTo, region) {
			j.bytes = max(fs.size, j.srcPoint.size)
		}
		d := copyOverhead + time.Duration(float64(j.bytes)/copyRate*float64(time.Second))
		d = time.Duration(float64(d) * (0.7 + 0.8*j.rng.float())).Round(time.Millisecond)
		j.outcome = engine.JobCompleted
		if msg := w.copyBlocker(j); msg != "" {
			j.outcome, j.failMsg = engine.JobFailed, msg
			d = j.rng.between(time.Minute, 5*time.Minute)
		} else if j.rng.chance(w.faults.CopyFail) {
			j.outcome, j.failMsg = engine.JobFailed, copyFailures[j.rng.intn(len(copyFailures))]
			d = time.Duration(float64(d) * j.rng.float()).Round(time.Millisecond)
		}
		j.expectedEnd = stampOf(w.now.Add(d))
		w.emit(j)
		w.stepIn(j, d)
	case engine.JobRunning:
		if j.outcome == engine.JobCompleted && j.vault.removed {
			j.outcome, j.failMsg = engine.JobFailed, "Copy job failed because the destination backup vault "+j.vaultArn+" does not exist."
		}
		w.finish(j, j.outcome, j.failMsg)
	}
}

// copyBlocker returns why a copy cannot succeed, "" if it can.
func (w *World) copyBlocker(j *job) string {
	dst := w.vaultByArn(j.vaultArn)
	j.vault = dst
	principal := j.reg.acct.principal // w.principal without a lookup
	switch {
	case dst == nil:
		return "Copy job failed because the destination backup vault " + j.vaultArn + " does not exist."
	case dst.automatic:
		return msgInsufficientPrivileges
	case dst.denies("backup:CopyIntoBackupVault", principal):
		return msgInsufficientPrivileges
	case dst.loc.Account != j.loc().Account && !dst.policy.allows("backup:CopyIntoBackupVault", principal):
		// Cross-account copies need the destination vault to allow them.
		return msgInsufficientPrivileges
	case j.srcPoint.gone:
		return "Copy job failed because the source recovery point " + j.srcPoint.arn + " was not found."
	case dst.loc.Region != j.loc().Region && j.srcPoint.storageClass(w.now) == "COLD":
		return "Copy job failed because cross-Region copy of a recovery point in cold storage is not supported."
	case dst.retentionOutside(j.copyRetentionDays()):
		return "Copy job failed because the retention period is outside the retention range of the locked backup vault " + dst.arn + "."
	}
	return ""
}

// copyRetentionDays is the copy's retention in days counted from the
// source's creation (-1: inherit the source's).
func (j *job) copyRetentionDays() int64 {
	if j.deleteAfter == -1 {
		return j.srcPoint.deleteAfter
	}
	return j.deleteAfter
}

// completeCopy creates the copy's recovery point in the destination vault.
// Copies keep the source's creation date and tags; retention counts from
// the source's creation.
func (w *World) completeCopy(j *job) {
	dst := j.vault
	p := &recoveryPoint{
		arn:         newPointArn(dst.loc, &j.rng),
		vault:       dst,
		createdAt:   j.srcPoint.createdAt,
		size:        j.srcPoint.size,
		tags:        j.srcPoint.tags,
		coldAfter:   j.coldAfter,
		deleteAfter: j.copyRetentionDays(),
		copyOf:      j.srcPoint.arn,
		job:         j,
	}
	if j.coldAfter == -1 {
		p.coldAfter = j.srcPoint.coldAfter
	}
	w.newPoint(p)
	w.completePoint(p)
	j.point = p
	if fs := w.jobFS(j); fs != nil && !slices.Contains(fs.copiedTo, dst.loc.Region) {
		fs.copiedTo = append(fs.copiedTo, dst.loc.Region)
	}
}

// StopBackupJob stops a backup job as a user would in the console: it ends
// ABORTED with "Backup job was stopped by user.". It reports whether a
// running job was found.
func (w *World) StopBackupJob(l engine.Loc, jobID string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	j := w.findJob(jobID)
	if j == nil || j.kind != engine.KindBackup || j.loc() != l || j.state.Terminal() {
		return false
	}
	w.unwait(j)
	w.finish(j, engine.JobAborted, msgStoppedByUser)
	return true
}
