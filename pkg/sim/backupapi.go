package sim

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// BackupAPI implements engine.Backup on the world, plus the restore calls
// the engine's port does not have yet.
type BackupAPI struct{ w *World }

var _ engine.Backup = (*BackupAPI)(nil)

// Backup returns the AWS Backup port.
func (w *World) Backup() *BackupAPI { return &BackupAPI{w: w} }

// principal is the IAM principal the ports act as in an account. (The hot
// paths read it from their Region's account, region.acct.)
func (w *World) principal(account string) string {
	if a := w.accounts[account]; a != nil {
		return a.principal
	}
	return "arn:aws:iam::" + account + ":role/" + w.caller
}

// count records one call of op and decides whether it is throttled. The
// decision depends only on the seed and on how many calls of op went to
// this place before, so concurrent callers in different places do not
// change each other's outcomes.
func (w *World) count(ctx context.Context, op string, l engine.Loc) error {
	w.calls[op]++
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.faults.Throttle <= 0 {
		return nil
	}
	k := newKey(op).str(l.Account).str(l.Region)
	n := w.callSeq[k]
	w.callSeq[k] = n + 1
	s := w.stream(k.num(n))
	if s.chance(w.faults.Throttle) {
		return apiError(ErrThrottling, op+" in "+l.String(), "Rate exceeded")
	}
	return nil
}

// call is count plus the member-role check: an account the world does not
// know, or one whose role cannot be assumed, answers AccessDenied.
func (w *World) call(ctx context.Context, op string, l engine.Loc) (*region, error) {
	if err := w.count(ctx, op, l); err != nil {
		return nil, err
	}
	r := w.known(l)
	var a *account
	if r != nil {
		a = r.acct
	} else {
		a = w.accounts[l.Account]
	}
	if a == nil || a.denied || a.status != "ACTIVE" {
		return nil, apiError(ErrAccessDenied, op+" in "+l.String(),
			"User is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::%s:role/%s", l.Account, w.caller)
	}
	if r == nil {
		r = w.region(l)
	}
	return r, nil
}

// EFSOptIn reports the EFS opt-in (DescribeRegionSettings).
func (a *BackupAPI) EFSOptIn(ctx context.Context, l engine.Loc) (bool, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	r, err := w.call(ctx, "DescribeRegionSettings", l)
	if err != nil {
		return false, err
	}
	return r.optIn, nil
}

// EnableEFSOptIn opts EFS in (UpdateRegionSettings).
func (a *BackupAPI) EnableEFSOptIn(ctx context.Context, l engine.Loc) error {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	r, err := w.call(ctx, "UpdateRegionSettings", l)
	if err != nil {
		return err
	}
	r.optIn = true
	return nil
}

// ListVaults lists the vaults of l sorted by name (ListBackupVaults, then
// ListTags for each).
func (a *BackupAPI) ListVaults(ctx context.Context, l engine.Loc) ([]engine.Vault, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	r, err := w.call(ctx, "ListBackupVaults", l)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(r.vaults))
	for name, v := range r.vaults {
		if !v.removed {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	out := make([]engine.Vault, len(names))
	for i, name := range names {
		w.calls["ListTags"]++
		out[i] = r.vaults[name].info()
	}
	return out, nil
}

// DescribeVault describes one vault (DescribeBackupVault + ListTags).
func (a *BackupAPI) DescribeVault(ctx context.Context, l engine.Loc, name string) (engine.Vault, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.call(ctx, "DescribeBackupVault", l); err != nil {
		return engine.Vault{}, err
	}
	v := w.vault(l, name)
	if v == nil {
		return engine.Vault{}, notFoundVault("describe backup vault", l, name)
	}
	w.calls["ListTags"]++
	return v.info(), nil
}

func notFoundVault(step string, l engine.Loc, name string) error {
	return apiError(ErrResourceNotFound, step+" "+name+" in "+l.String(), "Backup vault %s does not exist", name)
}

// VaultAccessPolicy returns the vault's access policy ("" if none).
func (a *BackupAPI) VaultAccessPolicy(ctx context.Context, l engine.Loc, name string) (string, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.call(ctx, "GetBackupVaultAccessPolicy", l); err != nil {
		return "", err
	}
	v := w.vault(l, name)
	if v == nil {
		return "", notFoundVault("get access policy of backup vault", l, name)
	}
	return v.policyRaw, nil
}

// StartBackup is StartBackupJob. Idempotency: within 24 hours the same
// token returns the job it first created, with no new job and no event.
// AWS does not document what a reused token with different parameters
// does; the simulator answers like a plain retry (the existing job) and
// records a TokenMismatch so tests can flag the caller's bug.
func (a *BackupAPI) StartBackup(ctx context.Context, req engine.StartBackupRequest) (engine.StartedJob, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	l := req.Loc
	// The error context, only made for an error: a string per call was a
	// measurable share of the engine benchmark.
	step := func() string { return "start backup of " + req.ResourceArn + " in " + l.String() }
	r, err := w.call(ctx, "StartBackupJob", l)
	if err != nil {
		return engine.StartedJob{}, err
	}
	var cold, del int64
	if req.Lifecycle != nil {
		cold, del = req.Lifecycle.MoveToColdStorageAfterDays, req.Lifecycle.DeleteAfterDays
	}
	tk := tagsKey(req.RecoveryPointTags)
	params := key(fnvOffset).also(req.VaultName).also(req.ResourceArn).also(req.IamRoleArn).
		num(uint64(req.StartWindowMinutes)).num(uint64(req.CompleteWindowMinutes)).
		num(uint64(cold)).num(uint64(del)).num(uint64(tk))
	tu := w.useToken(engine.KindBackup, l, req.Token)
	if j := tu.live(w.now); j != nil {
		w.checkToken(j, params)
		return started(j), nil
	}
	if !r.optIn {
		return engine.StartedJob{}, apiError(ErrInvalidRequest, step(),
			"Resource type EFS is not opted in for AWS Backup in Region %s", l.Region)
	}
	v := r.vault(req.VaultName)
	if v == nil {
		return engine.StartedJob{}, notFoundVault("start backup into", l, req.VaultName)
	}
	fsLoc, fsID, ok := parseFileSystemArn(req.ResourceArn)
	if !ok || fsLoc != l {
		return engine.StartedJob{}, apiError(ErrInvalidParameterValue, step(),
			"Invalid ResourceArn %q: not an EFS file system in %s", req.ResourceArn, l)
	}
	startWindow := 8 * time.Hour
	if req.StartWindowMinutes != 0 {
		if req.StartWindowMinutes < 60 {
			return engine.StartedJob{}, apiError(ErrInvalidParameterValue, step(),
				"StartWindowMinutes must be at least 60, got %d", req.StartWindowMinutes)
		}
		startWindow = time.Duration(req.StartWindowMinutes) * time.Minute
	}
	if err := checkLifecycle(step, cold, del); err != nil {
		return engine.StartedJob{}, err
	}
	k := w.requestKey(engine.KindBackup, r, req.Token, tu.n())
	j := &job{
		kind:        engine.KindBackup,
		id:          w.jobID(k, false),
		reg:         r,
		token:       req.Token,
		tokenN:      tu.n(),
		params:      params,
		resourceArn: req.ResourceArn,
		fsID:        fsID,
		fs:          r.fss[fsID],
		vault:       v,
		vaultArn:    v.arn,
		iamRole:     req.IamRoleArn,
		coldAfter:   cold,
		deleteAfter: del,
		tags:        w.internTags(req.RecoveryPointTags, tk),
		createdAt:   stampOf(w.now),
		startBy:     stampOf(w.now.Add(startWindow)),
	}
	if req.CompleteWindowMinutes > 0 {
		j.completeBy = stampOf(w.now.Add(time.Duration(req.CompleteWindowMinutes) * time.Minute))
	}
	w.createBackup(j)
	return started(j), nil
}

// createBackup registers a new backup job with its recovery point (EFS
// backups name their point at once), emits CREATED, arms the start window
// and queues for the file system.
func (w *World) createBackup(j *job) {
	j.state = engine.JobCreated
	w.addJob(j)
	p := &recoveryPoint{
		arn:         newPointArn(j.loc(), &j.rng),
		vault:       j.vault,
		createdAt:   j.createdAt,
		status:      engine.RPCreating,
		tags:        j.tags,
		coldAfter:   max(j.coldAfter, 0),
		deleteAfter: max(j.deleteAfter, 0),
		job:         j,
	}
	w.newPoint(p)
	j.point = p
	j.res = w.jobResource(j)
	w.emit(j)
	w.acquire(j)
}

// requestKey identifies a Start*Job request for its job id: the token and
// how often it was reused after expiring, or, without a token (the SDK would
// fill in a random one), the count of token-less requests in that place.
// n is the token's tokenUse.n.
func (w *World) requestKey(kind engine.JobKind, r *region, token string, n uint64) key {
	if token == "" {
		k := newKey("notoken").str(string(kind)).str(r.loc.Account).str(r.loc.Region).num(r.tokenless)
		r.tokenless++
		return k
	}
	return newKey(string(kind)).str(r.loc.Account).str(r.loc.Region).str(token).num(n)
}

func started(j *job) engine.StartedJob {
	sj := engine.StartedJob{JobID: j.id, CreatedAt: j.createdAt.time()}
	if j.kind == engine.KindBackup {
		sj.RecoveryPointArn = j.point.arn
	}
	return sj
}

// TokenMismatch records a Start*Job call that reused an idempotency token
// with different parameters within 24 hours.
type TokenMismatch struct {
	Kind  engine.JobKind
	Loc   engine.Loc
	Token string
	JobID string // the job the token already named, which was returned
	At    time.Time
}

func (w *World) checkToken(j *job, params key) {
	if j.params != params {
		w.mismatch = append(w.mismatch, TokenMismatch{Kind: j.kind, Loc: j.loc(), Token: j.token, JobID: j.id, At: w.now})
	}
}

// TokenMismatches lists every reuse of a token with other parameters.
func (w *World) TokenMismatches() []TokenMismatch {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]TokenMismatch(nil), w.mismatch...)
}

// checkLifecycle applies AWS's rule that DeleteAfterDays is at least 90
// days after MoveToColdStorageAfterDays.
func checkLifecycle(step func() string, cold, del int64) error {
	if cold > 0 && del > 0 && del < cold+90 {
		return apiError(ErrInvalidParameterValue, step(),
			"DeleteAfterDays (%d) must be at least 90 days after MoveToColdStorageAfterDays (%d)", del, cold)
	}
	return nil
}

func tagsKey(m map[string]string) key {
	var buf [16]string
	k := key(fnvOffset) // see key.also: a lookup key
	for _, name := range sortedTagKeys(m, &buf) {
		k = k.also(name).also(m[name])
	}
	return k
}

// sortedTagKeys lists m's keys in order, in buf when they fit (AWS allows
// 50 tags; efskeeper sets 3), so that hashing tags allocates nothing.
func sortedTagKeys(m map[string]string, buf *[16]string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// StartCopy is StartCopyJob, called in the source Region. Tokens behave as
// in StartBackup.
func (a *BackupAPI) StartCopy(ctx context.Context, req engine.StartCopyRequest) (engine.StartedJob, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	l := req.Loc
	step := func() string { return "start copy of " + req.RecoveryPointArn + " to " + req.DestinationBackupVaultArn } // see StartBackup
	r, err := w.call(ctx, "StartCopyJob", l)
	if err != nil {
		return engine.StartedJob{}, err
	}
	var cold, del int64
	if req.Lifecycle != nil {
		cold, del = req.Lifecycle.MoveToColdStorageAfterDays, req.Lifecycle.DeleteAfterDays
	}
	params := key(fnvOffset).also(req.SourceVaultName).also(req.RecoveryPointArn).also(req.DestinationBackupVaultArn).
		also(req.IamRoleArn).num(uint64(cold)).num(uint64(del))
	tu := w.useToken(engine.KindCopy, l, req.Token)
	if j := tu.live(w.now); j != nil {
		w.checkToken(j, params)
		return started(j), nil
	}
	src := r.vault(req.SourceVaultName)
	if src == nil {
		return engine.StartedJob{}, notFoundVault("start copy from", l, req.SourceVaultName)
	}
	p := w.findPoint(req.RecoveryPointArn)
	if p == nil || p.gone || p.vault != src {
		return engine.StartedJob{}, apiError(ErrResourceNotFound, step(),
			"Recovery point %s not found in backup vault %s", req.RecoveryPointArn, req.SourceVaultName)
	}
	if src.denies("backup:StartCopyJob", r.acct.principal) {
		return engine.StartedJob{}, apiError(ErrAccessDenied, step(),
			"%s is not authorized to perform: backup:StartCopyJob on resource: %s with an explicit deny in a resource-based policy",
			w.principal(l.Account), src.arn)
	}
	if p.status != engine.RPCompleted {
		return engine.StartedJob{}, apiError(ErrInvalidRequest, step(),
			"Recovery point %s is in state %s and cannot be copied", p.arn, p.status)
	}
	dst, _, ok := parseVaultArn(req.DestinationBackupVaultArn)
	if !ok {
		return engine.StartedJob{}, apiError(ErrInvalidParameterValue, step(),
			"Invalid DestinationBackupVaultArn %q", req.DestinationBackupVaultArn)
	}
	if err := checkLifecycle(step, cold, del); err != nil {
		return engine.StartedJob{}, err
	}
	k := w.requestKey(engine.KindCopy, r, req.Token, tu.n())
	if req.Lifecycle == nil {
		del = 0
	}
	j := &job{
		kind:        engine.KindCopy,
		id:          w.jobID(k, false),
		reg:         r,
		token:       req.Token,
		tokenN:      tu.n(),
		params:      params,
		resourceArn: p.resourceArn(),
		fsID:        p.fsID(),
		fs:          p.job.fs,
		dst:         w.copyQuota(l.Account, dst.Region),
		vaultArn:    req.DestinationBackupVaultArn,
		srcVault:    src,
		srcPoint:    p,
		iamRole:     req.IamRoleArn,
		coldAfter:   cold,
		deleteAfter: del,
		createdAt:   stampOf(w.now),
		state:       engine.JobCreated,
	}
	w.addJob(j)
	p.activeJobs++
	j.res = w.jobResource(j)
	w.emit(j)
	w.acquire(j)
	return started(j), nil
}

// DescribeBackupJob reads a backup job back.
func (a *BackupAPI) DescribeBackupJob(ctx context.Context, l engine.Loc, jobID string) (engine.JobUpdate, error) {
	return a.describeJob(ctx, "DescribeBackupJob", engine.KindBackup, l, jobID)
}

// DescribeCopyJob reads a copy job back (in the source Region).
func (a *BackupAPI) DescribeCopyJob(ctx context.Context, l engine.Loc, jobID string) (engine.JobUpdate, error) {
	return a.describeJob(ctx, "DescribeCopyJob", engine.KindCopy, l, jobID)
}

func (a *BackupAPI) describeJob(ctx context.Context, op string, kind engine.JobKind, l engine.Loc, jobID string) (engine.JobUpdate, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.call(ctx, op, l); err != nil {
		return engine.JobUpdate{}, err
	}
	j := w.findJob(jobID)
	if j == nil || j.kind != kind || j.loc() != l {
		return engine.JobUpdate{}, apiError(ErrResourceNotFound, "describe "+string(kind)+" job "+jobID+" in "+l.String(),
			"Cannot find %s job with ID %s", kind, jobID)
	}
	return j.update(), nil
}

// update is the job as Describe*Job reports it.
func (j *job) update() engine.JobUpdate {
	u := engine.JobUpdate{
		Kind:        j.kind,
		Loc:         j.loc(),
		JobID:       j.id,
		State:       j.state,
		Message:     j.message,
		ResourceArn: j.resourceArn,
		CreatedAt:   j.createdAt.time(),
		CompletedAt: j.completedAt.time(),
	}
	switch j.kind {
	case engine.KindBackup:
		// As pkg/awscloud and pkg/awsevent report it: the job's vault is
		// the SourceVaultArn (where the recovery point lands).
		u.RecoveryPointArn = j.point.arn
		u.SourceVaultArn = j.vaultArn
		u.VaultName = j.vault.name
	case engine.KindCopy:
		u.RecoveryPointArn = j.srcPoint.arn
		u.SourceVaultArn = j.srcVault.arn
		u.DestinationVaultArn = j.vaultArn
		if j.state == engine.JobCompleted {
			u.DestinationRecoveryPointArn = j.point.arn
		}
	case engine.KindRestore:
		u.RecoveryPointArn = j.srcPoint.arn
		u.SourceVaultArn = j.srcVault.arn
		u.CreatedResourceArn = j.restore.createdArn
	}
	u.SizeBytes = j.bytes
	return u
}

// DescribeRecoveryPoint reads a point back; ENOTFOUND once it is gone.
func (a *BackupAPI) DescribeRecoveryPoint(ctx context.Context, l engine.Loc, vaultName, arn string) (engine.RecoveryPoint, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.call(ctx, "DescribeRecoveryPoint", l); err != nil {
		return engine.RecoveryPoint{}, err
	}
	p, err := w.point(l, vaultName, arn, "describe recovery point")
	if err != nil {
		return engine.RecoveryPoint{}, err
	}
	rp := engine.RecoveryPoint{
		Arn:          p.arn,
		VaultName:    p.vault.name,
		ResourceArn:  p.resourceArn(),
		Status:       p.status,
		StorageClass: p.storageClass(w.now),
		CreatedAt:    p.createdAt.time(),
	}
	// As pkg/awscloud's adapter: DescribeRecoveryPoint itself carries no
	// tags, and the adapter skips the ListTags call for a DELETING point
	// (retention's read-back after every deletion).
	if rp.Status != engine.RPDeleting {
		rp.Tags = p.tags.m()
	}
	return rp, nil
}

// point finds a live recovery point in a vault of l.
func (w *World) point(l engine.Loc, vaultName, arn, step string) (*recoveryPoint, error) {
	v := w.vault(l, vaultName)
	if v == nil {
		return nil, notFoundVault(step+" "+arn+" in", l, vaultName)
	}
	p := w.findPoint(arn)
	if p == nil || p.gone || p.vault != v {
		return nil, apiError(ErrResourceNotFound, step+" "+arn+" in "+l.String(),
			"Recovery point %s not found in backup vault %s", arn, vaultName)
	}
	return p, nil
}

// RecoveryPointTags lists a point's tags (ListTags).
func (a *BackupAPI) RecoveryPointTags(ctx context.Context, l engine.Loc, arn string) (map[string]string, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.call(ctx, "ListTags", l); err != nil {
		return nil, err
	}
	p := w.findPoint(arn)
	if p == nil || p.gone || p.vault.loc != l {
		return nil, apiError(ErrResourceNotFound, "list tags of "+arn+" in "+l.String(), "Recovery point %s not found", arn)
	}
	return p.tags.m(), nil
}

// DeleteRecoveryPoint is DeleteRecoveryPoint. In the order AWS would
// check: the vault policy may deny it (AccessDenied: the automatic vault
// always does); a point a copy or restore is reading, or a backup is still
// writing, cannot be deleted (InvalidResourceStateException); a Locked
// vault, or a vault lock's minimum retention not yet reached, refuses
// (InvalidRequestException). Where AWS Backup lacks permission to delete
// (VaultSpec.DeleteWithoutPermission, SetDeleteWithoutPermission) the call
// succeeds but the point only becomes EXPIRED. Otherwise the point is
// DELETING for a few minutes and then gone. Deleting a DELETING point
// again succeeds without effect.
func (a *BackupAPI) DeleteRecoveryPoint(ctx context.Context, l engine.Loc, vaultName, arn string) error {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	step := func() string { return "delete recovery point " + arn + " in " + l.String() } // see StartBackup
	r, err := w.call(ctx, "DeleteRecoveryPoint", l)
	if err != nil {
		return err
	}
	p, err := w.point(l, vaultName, arn, "delete recovery point")
	if err != nil {
		return err
	}
	if p.status == engine.RPDeleting {
		return nil
	}
	v := p.vault
	if v.denies("backup:DeleteRecoveryPoint", r.acct.principal) {
		return apiError(ErrAccessDenied, step(),
			"%s is not authorized to perform: backup:DeleteRecoveryPoint on resource: %s with an explicit deny in a resource-based policy",
			w.principal(l.Account), v.arn)
	}
	if p.status == engine.RPCreating || p.activeJobs > 0 {
		return apiError(ErrInvalidResourceState, step(), "Backup is already performing an action on this recovery point")
	}
	if v.locked {
		return apiError(ErrInvalidRequest, step(), "Recovery point %s is in a locked backup vault and cannot be deleted", arn)
	}
	if v.min != nil && w.now.Before(p.createdAt.time().Add(day(*v.min))) {
		return apiError(ErrInvalidRequest, step(),
			"Recovery point %s cannot be deleted before the vault lock's minimum retention of %d days", arn, *v.min)
	}
	if w.cannotDelete(p) {
		p.status = engine.RPExpired
		return nil
	}
	p.status = engine.RPDeleting
	p.deletedAt = stampOf(w.now)
	p.deletedBy = DeletedByEfskeeper
	s := w.stream(newKey("deleting").str(arn))
	w.schedule(w.now.Add(s.between(time.Minute, 10*time.Minute)), timer{kind: tRPGone, ref: p.seq})
	return nil
}
