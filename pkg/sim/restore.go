package sim

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// RestoreRequest is StartRestoreJob for an EFS recovery point. Metadata
// uses AWS's keys, all values strings: "file-system-id", "newFileSystem"
// ("true"/"false"), "ItemsToRestore" (a JSON array of absolute paths,
// encoded as a string), "CreationToken", "Encrypted", "PerformanceMode".
type RestoreRequest struct {
	Loc              engine.Loc
	RecoveryPointArn string
	IamRoleArn       string
	Token            string
	Metadata         map[string]string
}

// RestoreJob is a restore job as DescribeRestoreJob reports it.
type RestoreJob struct {
	ID                 string
	Loc                engine.Loc
	State              engine.JobState
	Message            string
	RecoveryPointArn   string
	CreatedResourceArn string
	NewFileSystem      bool
	Items              []string
	CreatedAt          time.Time
	CompletedAt        time.Time
}

type restoreSpec struct {
	newFS      bool
	targetFS   string
	items      []string
	createdArn string
}

// maxRestoreMetadata is AWS's cap on the restore metadata's length.
const maxRestoreMetadata = 200 << 10

// StartRestore is StartRestoreJob. The automatic vault's policy denies it
// (AccessDenied). A restore reads its recovery point, which therefore
// cannot be deleted meanwhile; it does not take the file system's backup
// lock. Tokens behave as in StartBackup.
func (a *BackupAPI) StartRestore(ctx context.Context, req RestoreRequest) (string, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	l := req.Loc
	step := "start restore of " + req.RecoveryPointArn + " in " + l.String()
	r, err := w.call(ctx, "StartRestoreJob", l)
	if err != nil {
		return "", err
	}
	params := key(fnvOffset).also(req.RecoveryPointArn).also(req.IamRoleArn).num(uint64(tagsKey(req.Metadata)))
	tu := w.useToken(engine.KindRestore, l, req.Token)
	if j := tu.live(w.now); j != nil {
		w.checkToken(j, params)
		return j.id, nil
	}
	p := w.findPoint(req.RecoveryPointArn)
	if p == nil || p.gone || p.vault.loc != l {
		return "", apiError(ErrResourceNotFound, step, "Recovery point %s not found", req.RecoveryPointArn)
	}
	if p.vault.denies("backup:StartRestoreJob", w.principal(l.Account)) {
		return "", apiError(ErrAccessDenied, step,
			"%s is not authorized to perform: backup:StartRestoreJob on resource: %s with an explicit deny in a resource-based policy",
			w.principal(l.Account), p.vault.arn)
	}
	if p.status != engine.RPCompleted {
		return "", apiError(ErrInvalidRequest, step, "Recovery point %s is in state %s and cannot be restored", p.arn, p.status)
	}
	spec, err := parseRestoreMetadata(step, req.Metadata)
	if err != nil {
		return "", err
	}
	if !spec.newFS {
		if fs := w.regions[l].fss[spec.targetFS]; fs == nil || fs.deleted {
			return "", apiError(ErrResourceNotFound, step, "File system %s does not exist", spec.targetFS)
		}
	}
	j := &job{
		kind:        engine.KindRestore,
		id:          w.jobID(w.requestKey(engine.KindRestore, r, req.Token, tu.n()), true),
		reg:         r,
		token:       req.Token,
		tokenN:      tu.n(),
		params:      params,
		resourceArn: p.resourceArn(),
		fsID:        p.fsID(),
		srcVault:    p.vault,
		srcPoint:    p,
		fs:          p.job.fs,
		iamRole:     req.IamRoleArn,
		bytes:       p.size,
		createdAt:   stampOf(w.now),
		state:       engine.JobCreated,
		restore:     spec,
	}
	w.addJob(j)
	p.activeJobs++
	w.emit(j)
	w.stepIn(j, j.rng.between(5*time.Second, 30*time.Second))
	return j.id, nil
}

// parseRestoreMetadata checks the EFS restore metadata as AWS documents it.
func parseRestoreMetadata(step string, md map[string]string) (*restoreSpec, error) {
	n := 0
	for k, v := range md {
		n += len(k) + len(v)
	}
	if n > maxRestoreMetadata {
		return nil, apiError(ErrInvalidParameterValue, step, "restore metadata is %d bytes, more than the 200 KB limit", n)
	}
	spec := &restoreSpec{targetFS: md["file-system-id"]}
	switch md["newFileSystem"] {
	case "true":
		spec.newFS = true
	case "false", "":
		if spec.targetFS == "" {
			return nil, apiError(ErrInvalidParameterValue, step, "file-system-id is required when newFileSystem is not true")
		}
	default:
		return nil, apiError(ErrInvalidParameterValue, step, "newFileSystem must be \"true\" or \"false\", got %q", md["newFileSystem"])
	}
	if raw, ok := md["ItemsToRestore"]; ok {
		if err := json.Unmarshal([]byte(raw), &spec.items); err != nil {
			return nil, apiError(ErrInvalidParameterValue, step, "ItemsToRestore must be a JSON array of paths: %v", err)
		}
		for _, it := range spec.items {
			if !strings.HasPrefix(it, "/") || strings.ContainsAny(it, "*?") {
				return nil, apiError(ErrInvalidParameterValue, step, "ItemsToRestore path %q must be absolute, without wildcards", it)
			}
		}
	}
	return spec, nil
}

var restoreFailures = []string{
	msgInsufficientPrivileges,
	"Restore job failed because of an internal error in AWS Backup. Please retry the restore job.",
}

func (w *World) restoreStep(j *job) {
	switch j.state {
	case engine.JobCreated:
		w.setState(j, engine.JobPending)
		w.emit(j)
		w.stepIn(j, j.rng.between(time.Minute, 3*time.Minute))
	case engine.JobPending:
		w.setState(j, engine.JobRunning)
		j.startedAt = stampOf(w.now)
		d := 5*time.Minute + time.Duration(float64(j.bytes)/(200<<20)*float64(time.Second))
		if len(j.restore.items) > 0 {
			d = 3*time.Minute + time.Duration(len(j.restore.items))*10*time.Second
		}
		d = time.Duration(float64(d) * (0.7 + 0.8*j.rng.float())).Round(time.Millisecond)
		j.outcome = engine.JobCompleted
		if j.rng.chance(w.faults.RestoreFail) {
			j.outcome, j.failMsg = engine.JobFailed, restoreFailures[j.rng.intn(len(restoreFailures))]
			d = time.Duration(float64(d) * j.rng.float()).Round(time.Millisecond)
		}
		j.expectedEnd = stampOf(w.now.Add(d))
		w.emit(j)
		w.stepIn(j, d)
	case engine.JobRunning:
		if !j.restore.newFS {
			if fs := w.regions[j.loc()].fss[j.restore.targetFS]; fs == nil || fs.deleted {
				j.outcome, j.failMsg = engine.JobFailed, "Restore job failed because file system "+j.restore.targetFS+" was not found."
			}
		}
		w.finish(j, j.outcome, j.failMsg)
	}
}

// finishRestore completes a restore: a new file system appears in the
// world, or the items land in the existing one (in an
// aws-backup-restore_<datetime> directory, which the sim does not model).
func (w *World) finishRestore(j *job) {
	j.srcPoint.activeJobs--
	if j.state == engine.JobCompleted {
		spec := j.restore
		if spec.newFS {
			r := w.region(j.loc())
			s := w.stream(newKey("restore-fs").str(j.id))
			id := "fs-" + s.hexID(17)
			fs := &fileSystem{loc: j.loc(), id: id, arn: fileSystemArn(j.loc(), id), tags: map[string]string{},
				size: j.srcPoint.size, changeRate: 0.05, lifeCycle: "available"}
			if src := w.jobFS(j); src != nil {
				fs.size = src.size
			}
			w.addFS(r, fs)
			spec.createdArn = fs.arn
		} else {
			spec.createdArn = fileSystemArn(j.loc(), spec.targetFS)
		}
	}
	w.emit(j)
}

// DescribeRestoreJob reads a restore job back.
func (a *BackupAPI) DescribeRestoreJob(ctx context.Context, l engine.Loc, jobID string) (RestoreJob, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.call(ctx, "DescribeRestoreJob", l); err != nil {
		return RestoreJob{}, err
	}
	j := w.findJob(jobID)
	if j == nil || j.kind != engine.KindRestore || j.loc() != l {
		return RestoreJob{}, apiError(ErrResourceNotFound, "describe restore job "+jobID+" in "+l.String(),
			"Cannot find restore job with ID %s", jobID)
	}
	return RestoreJob{
		ID:                 j.id,
		Loc:                j.loc(),
		State:              j.state,
		Message:            j.message,
		RecoveryPointArn:   j.srcPoint.arn,
		CreatedResourceArn: j.restore.createdArn,
		NewFileSystem:      j.restore.newFS,
		Items:              append([]string(nil), j.restore.items...),
		CreatedAt:          j.createdAt.time(),
		CompletedAt:        j.completedAt.time(),
	}, nil
}
