package sim

import (
	"encoding/base64"
	"sort"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// autoPlan is the EFS automatic backup plan of one (account, Region):
// cron(0 5 ? * * *) UTC, start window 8 hours, completion window 7 days,
// 35 days retention, into aws/efs/automatic-backup-vault, selecting file
// systems tagged aws:elasticfilesystem:default-backup=enabled (notes.md §7).
// Its id is "aws/efs/<uuid>", different per account and Region.
type autoPlan struct {
	id, arn, version, ruleID string
	createdBy                []byte // the rendered "createdBy" event field
}

const (
	autoHour           = 5
	autoStartWindow    = 8 * time.Hour
	autoCompleteWindow = 10080 * time.Minute
	autoRetentionDays  = 35
	autoSpread         = 15 * time.Minute // jobs of one run are created over this span
)

// ensureAutomatic creates the automatic backup vault (and so the plan) in
// r if it does not exist, as EFS does when automatic backups are turned on.
func (w *World) ensureAutomatic(r *region) {
	if v := r.vaults[AutomaticVaultName]; v == nil || v.removed {
		w.addVault(r.loc, VaultSpec{Name: AutomaticVaultName})
	}
}

func (w *World) ensurePlan(r *region) {
	if r.plan != nil {
		return
	}
	s := w.stream(newKey("auto-plan").str(r.loc.Account).str(r.loc.Region))
	id := "aws/efs/" + s.uuid(false)
	r.plan = &autoPlan{
		id:      id,
		arn:     "arn:aws:backup:" + r.loc.Region + ":" + r.loc.Account + ":backup-plan:" + id,
		version: base64.StdEncoding.EncodeToString([]byte(s.uuid(false))),
		ruleID:  s.uuid(false),
	}
	p := r.plan
	b := []byte(`,"createdBy":{`)
	b = appendField(b, "backupPlanId", p.id)
	b = appendField(b, "backupPlanArn", p.arn)
	b = appendField(b, "backupPlanVersion", p.version)
	b = appendField(b, "backupPlanRuleId", p.ruleID)
	p.createdBy = append(b, '}')
}

// nextAutoBackup returns the first 05:00 UTC strictly after t.
func nextAutoBackup(t time.Time) time.Time {
	t = t.UTC()
	next := time.Date(t.Year(), t.Month(), t.Day(), autoHour, 0, 0, 0, time.UTC)
	if !next.After(t) {
		next = next.AddDate(0, 0, 1)
	}
	return next
}

func (w *World) scheduleAutoDay(at time.Time) {
	w.schedule(at, timer{kind: tAutoDay})
}

// autoDay is 05:00 UTC: every file system with automatic backups gets a job
// within the next few minutes.
func (w *World) autoDay() {
	dayN := uint64(w.now.Unix() / 86400)
	for _, l := range w.sortedLocs() {
		r := w.regions[l]
		ids := make([]string, 0, len(r.fss))
		for id, fs := range r.fss {
			if !fs.deleted && fs.tags[TagAutomaticBackup] == "enabled" {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		for _, id := range ids {
			fs := r.fss[id]
			s := w.stream(newKey("auto-at").str(fs.arn).num(dayN))
			w.schedule(w.now.Add(s.between(0, autoSpread)), timer{kind: tAutoJob, ref: fs.seq})
		}
	}
	w.scheduleAutoDay(nextAutoBackup(w.now))
}

// autoJob creates one automatic backup job. Its start window counts from
// 05:00, so it expires at 13:00 if a job of ours holds the file system.
func (w *World) autoJob(fs *fileSystem) {
	if fs.deleted || fs.tags[TagAutomaticBackup] != "enabled" {
		return
	}
	r := w.region(fs.loc)
	w.ensureAutomatic(r)
	v := r.vaults[AutomaticVaultName]
	scheduled := w.now.Truncate(24 * time.Hour).Add(autoHour * time.Hour)
	j := &job{
		kind:        engine.KindBackup,
		id:          w.jobID(newKey("auto-job").str(fs.arn).num(fs.autoSeq), true),
		reg:         r,
		resourceArn: fs.arn,
		fsID:        fs.id,
		fs:          fs,
		vault:       v,
		vaultArn:    v.arn,
		iamRole:     "arn:aws:iam::" + fs.loc.Account + ":role/aws-service-role/backup.amazonaws.com/AWSServiceRoleForBackup",
		deleteAfter: autoRetentionDays,
		auto:        r.plan,
		createdAt:   stampOf(w.now),
		startBy:     stampOf(scheduled.Add(autoStartWindow)),
		completeBy:  stampOf(scheduled.Add(autoCompleteWindow)),
	}
	fs.autoSeq++
	w.createBackup(j)
}
