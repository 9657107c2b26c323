package notify

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Restore renders the mail of a finished restore session: the subject names
// the status and what was restored; the body says where the data went and,
// per restore point and job, what AWS Backup did, with the paths each job
// restored.
func Restore(n engine.RestoreNotice) (subj, body string) {
	r := n.Restore
	if r == nil {
		return "efskeeper restore", "(no restore)\n"
	}
	what := fmt.Sprintf("%s from %s", plural(r.PathCount(), "path", "paths"), plural(len(r.Items), "restore point", "restore points"))
	if r.Full {
		var fss []string
		for _, it := range r.Items {
			fss = append(fss, it.FileSystem)
		}
		what = "full restore of " + strings.Join(fss, ", ")
	}
	where := "(into the original file system)"
	if r.Target.Kind == engine.TargetNewFileSystem {
		where = "(to a new file system)"
	}
	subj = subject("efskeeper restore "+string(r.Status)+":", what, where)

	done := 0
	for _, j := range r.Jobs {
		if j.State.Succeeded() {
			done++
		}
	}
	var w writer
	w.line("Restore:       %s", oneLine(r.ID, 100))
	w.line("Status:        %s: %d of %s completed", r.Status, done, plural(len(r.Jobs), "restore job", "restore jobs"))
	if r.RequestedBy != "" {
		w.line("Requested by:  %s", oneLine(r.RequestedBy, 200))
	}
	w.line("Started:       %s", stamp(r.CreatedAt, nil))
	if !r.EndedAt.IsZero() {
		w.line("Ended:         %s, after %s", stamp(r.EndedAt, nil), duration(r.EndedAt.Sub(r.CreatedAt)))
	}
	w.line("What:          %s", oneLine(what, 300))
	w.line("Target:        %s", targetText(r.Target))
	w.blank()
	w.line("AWS Backup puts restored data in a new directory named aws-backup-restore_<date and time>")
	w.line("at the root of the target file system; nothing that exists is overwritten.")

	budget, jobs := maxLines, maxJobs
	for i, it := range r.Items {
		w.blank()
		w.line("Restore point %d of %d: %s", i+1, len(r.Items), oneLine(it.RecoveryPointArn, 200))
		info := fmt.Sprintf("file system %s (account %s, %s)", oneLine(it.FileSystem, 60), oneLine(it.FileSystemLoc.Account, 40), oneLine(it.FileSystemLoc.Region, 40))
		if it.Region != it.FileSystemLoc.Region || it.Account != it.FileSystemLoc.Account {
			info += fmt.Sprintf(", copy in account %s, %s", oneLine(it.Account, 40), oneLine(it.Region, 40))
		}
		w.line("  Of %s", info)
		line := "  Taken " + stamp(it.PointTime, nil) + ", vault " + oneLine(it.Vault, 100)
		if it.PolicyID != "" {
			line += ", policy " + oneLine(it.PolicyID, 100)
		}
		w.line("%s", line)
		hidden := map[engine.JobState]int{}
		nHidden := 0
		for k, j := range r.Jobs {
			if j.Item != i {
				continue
			}
			if jobs == 0 {
				hidden[j.State]++
				nHidden++
				continue
			}
			jobs--
			w.line("  Job %d: %s", k+1, restoreJobText(r, j))
			for p, path := range j.Paths {
				if budget == 0 {
					w.more("    ", len(j.Paths)-p, "paths")
					break
				}
				budget--
				w.line("    %s", pathText(path))
			}
		}
		if nHidden > 0 {
			var parts []string
			for _, st := range slices.Sorted(maps.Keys(hidden)) {
				parts = append(parts, fmt.Sprintf("%d %s", hidden[st], st))
			}
			w.more("  ", nHidden, "restore jobs of this restore point ("+strings.Join(parts, ", ")+")")
		}
	}
	return subj, w.String()
}

// maxJobs bounds the restore jobs a restore mail describes one by one.
const maxJobs = 50

// pathText writes a path so that it reads exactly as it is: paths with
// control characters, quotes, backslashes or spaces that a reader could
// not see (leading, trailing, doubled) are quoted with Go's escapes.
func pathText(p string) string {
	odd := strings.ContainsFunc(p, func(r rune) bool {
		return unicode.IsControl(r) || r == '"' || r == '\\' || r == '\u2028' || r == '\u2029' || !unicode.IsPrint(r) && r != ' '
	}) || !utf8.ValidString(p) || strings.Contains(p, "  ") || strings.TrimSpace(p) != p
	if odd {
		p = strconv.Quote(p)
	}
	if utf8.RuneCountInString(p) > maxMessage {
		p = string([]rune(p)[:maxMessage-1]) + "…"
	}
	return p
}

func targetText(t engine.RestoreTarget) string {
	if t.Kind != engine.TargetNewFileSystem {
		return "the file system each restore point was taken of"
	}
	var opts []string
	opts = append(opts, t.PerformanceMode)
	switch {
	case t.Encrypted != nil && !*t.Encrypted:
		opts = append(opts, "not encrypted")
	case t.KmsKeyID != "":
		opts = append(opts, "encrypted with "+oneLine(t.KmsKeyID, 200))
	default:
		opts = append(opts, "encrypted with the AWS managed key")
	}
	if t.AvailabilityZone != "" {
		opts = append(opts, "One Zone in "+oneLine(t.AvailabilityZone, 40))
	}
	return "a new file system per restore job (" + strings.Join(opts, ", ") + ")"
}

func restoreJobText(r *engine.Restore, j engine.RestoreJob) string {
	state := string(j.State)
	switch j.State {
	case engine.JobNotStarted:
		state = "not started"
	case engine.JobGaveUp:
		state = "GAVE UP"
	}
	s := fmt.Sprintf("%s in account %s, %s", state, oneLine(j.Loc.Account, 40), oneLine(j.Loc.Region, 40))
	if j.JobID != "" {
		s += ", AWS job " + oneLine(j.JobID, 100)
	}
	if j.CreatedResourceArn != "" {
		into := j.CreatedResourceArn
		if i := strings.LastIndex(into, "file-system/"); i >= 0 {
			into = into[i+len("file-system/"):]
		}
		s += ", into " + oneLine(into, 200)
		if r.Target.Kind == engine.TargetNewFileSystem {
			s += " (new file system)"
		}
	}
	if !j.CompletedAt.IsZero() && !j.StartedAt.IsZero() {
		s += ", took " + duration(j.CompletedAt.Sub(j.StartedAt))
	}
	if j.Message != "" && !j.State.Succeeded() {
		s += ": " + oneLine(j.Message, maxMessage)
	}
	return s
}

// Publisher publishes one message to the notification topic (pkg/awscloud's
// Notifier.Publish in production).
type Publisher interface {
	Publish(ctx context.Context, subject, body string, attrs map[string]string) error
}

// RestoreMailer implements engine.RestoreNotifier: it renders the restore
// mail and publishes it with the attributes kind=restore, status and,
// when every restore point came from one policy, policy.
type RestoreMailer struct{ Publisher Publisher }

var _ engine.RestoreNotifier = RestoreMailer{}

// RestoreFinished renders and publishes the mail.
func (m RestoreMailer) RestoreFinished(ctx context.Context, n engine.RestoreNotice) error {
	if n.Restore == nil {
		return engine.Errorf(engine.EINVALID, "notify: no restore")
	}
	subj, body := Restore(n)
	attrs := map[string]string{AttrKind: KindRestore, AttrStatus: string(n.Restore.Status)}
	if p := onePolicy(n.Restore); p != "" {
		attrs[AttrPolicy] = p
	}
	if err := m.Publisher.Publish(ctx, subj, body, attrs); err != nil {
		return fmt.Errorf("publish the result of restore %s: %w", n.Restore.ID, err)
	}
	return nil
}

// onePolicy returns the policy every item's point came from, or "".
func onePolicy(r *engine.Restore) string {
	p := ""
	for i, it := range r.Items {
		if it.PolicyID == "" || i > 0 && it.PolicyID != p {
			return ""
		}
		p = it.PolicyID
	}
	return p
}
