package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/awsevent"
	"github.com/efskeeper/efskeeper/pkg/engine"
)

// samples names the AWS examples each (detail-type, state) must look like.
// Where AWS documents two (a generic one and an EFS reconstruction), the
// event must match both.
var samples = map[string][]string{
	DetailBackupJob + "/CREATED":    {"eventbridge-backup-job-state-change-created.json"},
	DetailBackupJob + "/PENDING":    {"eventbridge-backup-job-state-change-pending.json"},
	DetailBackupJob + "/RUNNING":    {"eventbridge-backup-job-state-change-running.json"},
	DetailBackupJob + "/COMPLETED":  {"eventbridge-backup-job-state-change-completed-efs.json", "eventbridge-backup-job-state-change-completed.json"},
	DetailBackupJob + "/FAILED":     {"eventbridge-backup-job-state-change-failed-efs.json", "eventbridge-backup-job-state-change-failed.json"},
	DetailBackupJob + "/ABORTED":    {"eventbridge-backup-job-state-change-aborted.json"},
	DetailBackupJob + "/EXPIRED":    {"eventbridge-backup-job-state-change-expired.json"},
	DetailCopyJob + "/CREATED":      {"eventbridge-copy-job-state-change-created.json"},
	DetailCopyJob + "/RUNNING":      {"eventbridge-copy-job-state-change-running-efs-cross-region.json", "eventbridge-copy-job-state-change-running.json"},
	DetailCopyJob + "/COMPLETED":    {"eventbridge-copy-job-state-change-completed-efs-cross-region.json", "eventbridge-copy-job-state-change-completed.json"},
	DetailCopyJob + "/FAILED":       {"eventbridge-copy-job-state-change-failed-efs-cross-region.json", "eventbridge-copy-job-state-change-failed.json"},
	DetailRestoreJob + "/CREATED":   {"eventbridge-restore-job-state-change-created.json"},
	DetailRestoreJob + "/PENDING":   {"eventbridge-restore-job-state-change-pending.json"},
	DetailRestoreJob + "/RUNNING":   {"eventbridge-restore-job-state-change-running.json"},
	DetailRestoreJob + "/COMPLETED": {"eventbridge-restore-job-state-change-completed-efs.json", "eventbridge-restore-job-state-change-completed.json"},
	DetailRestoreJob + "/FAILED":    {"eventbridge-restore-job-state-change-failed-efs.json", "eventbridge-restore-job-state-change-failed.json"},
}

// optionalKey: keys that appear in some samples and not others for reasons
// the simulator models separately: retryCount (not guaranteed, the
// simulator never retries) and createdBy (present exactly on jobs a backup
// plan created, checked below).
func optionalKey(path string) bool {
	return path == "detail.retryCount" || strings.HasPrefix(path, "detail.createdBy")
}

// shape lists "path type" for every key of a JSON document, in document
// order (objects) so that key order is compared too.
func shape(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	var out []string
	var walk func(path string)
	walk = func(path string) {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%v in %s", err, raw)
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' {
				out = append(out, path+" object")
				for dec.More() {
					k, _ := dec.Token()
					p := k.(string)
					if path != "" {
						p = path + "." + p
					}
					walk(p)
				}
			} else {
				out = append(out, path+" array")
				first := true
				for dec.More() {
					before := len(out)
					walk(path + "[]")
					if !first { // element types once
						out = out[:before]
					}
					first = false
				}
			}
			dec.Token() // closing delimiter
		case string:
			out = append(out, path+" string")
		case float64:
			out = append(out, path+" number")
		case bool:
			out = append(out, path+" bool")
		case nil:
			out = append(out, path+" null")
		}
	}
	walk("")
	return out
}

func required(s []string) []string {
	var out []string
	for _, l := range s {
		if !optionalKey(strings.Fields(l)[0]) {
			out = append(out, l)
		}
	}
	return out
}

func createdByShape(s []string) []string {
	var out []string
	for _, l := range s {
		if strings.HasPrefix(l, "detail.createdBy") {
			out = append(out, l)
		}
	}
	return out
}

// shapeWorld produces every (detail-type, state) the simulator emits:
// backups that complete, fail, are stopped, expire (an automatic backup
// behind ours), copies that complete and fail, restores that complete and
// fail.
func shapeWorld(t *testing.T) [][]byte {
	w := New(Config{Seed: 9, Start: time.Date(2024, 5, 14, 3, 0, 0, 0, time.UTC)})
	w.AddVault(locA, VaultSpec{Name: "primary"})
	w.AddVault(locDR, VaultSpec{Name: "dr"})
	w.AddFileSystem(locA, FileSystemSpec{ID: fsID, SizeBytes: 900 * gib, AutomaticBackups: true})
	w.AddFileSystem(locA, FileSystemSpec{ID: "fs-00000000000000002", SizeBytes: gib})
	w.AddFileSystem(locA, FileSystemSpec{ID: "fs-00000000000000003", SizeBytes: gib})
	b := w.Backup()
	var events [][]byte
	step := func(d time.Duration) { events = append(events, run(w, d)...) }

	big := mustStart(t, w, backupReq("big")) // runs past 13:00: the automatic job expires
	small := backupReq("small")
	small.ResourceArn = fileSystemArn(locA, "fs-00000000000000002")
	ok := mustStart(t, w, small)
	stopped := backupReq("stopped")
	stopped.ResourceArn = fileSystemArn(locA, "fs-00000000000000003")
	st := mustStart(t, w, stopped)
	step(5 * time.Minute)
	if !w.StopBackupJob(locA, st.JobID) {
		t.Fatal("nothing to stop")
	}
	failing := backupReq("failing")
	failing.ResourceArn = fileSystemArn(locA, "fs-00000000000000003")
	failing.VaultName = "doomed"
	w.AddVault(locA, VaultSpec{Name: "doomed"})
	mustStart(t, w, failing)
	w.RemoveVault(locA, "doomed")
	step(2 * time.Hour)
	startCopy(t, w, ok.RecoveryPointArn, "copy-ok")
	if _, err := b.StartCopy(ctx, engine.StartCopyRequest{Loc: locA, SourceVaultName: "primary", RecoveryPointArn: ok.RecoveryPointArn,
		DestinationBackupVaultArn: vaultArn(locDR, "missing"), Token: "copy-bad"}); err != nil {
		t.Fatal(err)
	}
	step(3 * time.Hour)
	if _, err := b.StartRestore(ctx, RestoreRequest{Loc: locA, RecoveryPointArn: ok.RecoveryPointArn, Token: "r1",
		IamRoleArn: "arn:aws:iam::111122223333:role/efskeeper-backup",
		Metadata:   map[string]string{"newFileSystem": "true", "file-system-id": "fs-00000000000000002"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.StartRestore(ctx, RestoreRequest{Loc: locA, RecoveryPointArn: ok.RecoveryPointArn, Token: "r2",
		Metadata: map[string]string{"newFileSystem": "false", "file-system-id": "fs-00000000000000003", "ItemsToRestore": `["/a/b"]`}}); err != nil {
		t.Fatal(err)
	}
	w.DeleteFileSystem(locA, "fs-00000000000000003") // the item-level restore fails
	step(24 * time.Hour)
	if j := jobByID(w, big.JobID); j.State != engine.JobCompleted {
		t.Fatalf("big backup %s", j.State)
	}
	return events
}

func TestEventsMatchAWSSamples(t *testing.T) {
	events := shapeWorld(t)
	seen := map[string]bool{}
	var planCreatedBy []string
	for _, raw := range events {
		e := decode(t, raw)
		k := e.DetailType + "/" + e.state()
		files, ok := samples[k]
		if !ok {
			t.Errorf("emitted %s, which no AWS sample shows", k)
			continue
		}
		seen[k] = true
		got := shape(t, raw)
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join("testdata", f))
			if err != nil {
				t.Fatal(err)
			}
			want := shape(t, data)
			if g, w := required(got), required(want); !slices.Equal(g, w) {
				t.Errorf("%s differs from %s:\n got  %v\n want %v\nevent %s", k, f, g, w, raw)
			}
			if cb := createdByShape(want); len(cb) > 0 {
				planCreatedBy = cb
			}
		}
		if cb := createdByShape(got); len(cb) > 0 {
			if e.Detail.CreatedBy == nil || !strings.HasPrefix(e.Detail.CreatedBy.BackupPlanID, "aws/efs/") {
				t.Errorf("createdBy on an on-demand job: %s", raw)
			}
			if !slices.Equal(cb, planCreatedBy) && planCreatedBy != nil {
				t.Errorf("createdBy %v, AWS: %v", cb, planCreatedBy)
			}
		}
	}
	var missing []string
	for k := range samples {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the scenario never emitted %v", missing)
	}
}

// TestEngineParserReadsEveryEvent runs the engine's own event parser over
// the simulator's output: what the jobevents Lambda would see.
func TestEngineParserReadsEveryEvent(t *testing.T) {
	events := shapeWorld(t)
	for _, raw := range events {
		e := decode(t, raw)
		u, err := awsevent.Parse(raw)
		if errors.Is(err, awsevent.ErrIrrelevant) {
			if e.DetailType != DetailCopyJob || e.state() != "CREATED" {
				t.Errorf("parser ignores %s/%s", e.DetailType, e.state())
			}
			continue
		}
		if err != nil {
			t.Fatalf("parse: %v\n%s", err, raw)
		}
		if u.JobID != e.jobID() || string(u.State) != e.state() || u.Loc.Region != e.Region {
			t.Errorf("parsed %+v from %s", u, raw)
		}
		if u.State == engine.JobCompleted && u.Kind == engine.KindBackup && !strings.Contains(u.RecoveryPointArn, ":recovery-point:") {
			t.Errorf("completed backup without its point: %+v", u)
		}
		if u.Kind == engine.KindCopy && u.State == engine.JobCompleted && u.DestinationRecoveryPointArn == "" {
			t.Errorf("completed copy without its new point: %+v", u)
		}
		if (u.State == engine.JobFailed || u.State == engine.JobExpired) && (u.Message == "" || strings.HasPrefix(u.Message, `"`)) {
			t.Errorf("message %q", u.Message)
		}
	}
}

func TestAppendStrMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `"quoted"`, "back\\slash", "tab\there\nnew\r", "\x00\x1f", "ünïcödé ✓", "bad\xffutf8", "<html>&"} {
		checkAppendStr(t, s)
	}
}

func checkAppendStr(t *testing.T, s string) {
	t.Helper()
	b := appendStr(nil, s)
	var got string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("appendStr(%q) = %s: not JSON: %v", s, b, err)
	}
	want, _ := json.Marshal(s)
	var wantS string
	json.Unmarshal(want, &wantS)
	if got != wantS {
		t.Fatalf("appendStr(%q) decodes to %q, encoding/json's to %q", s, got, wantS)
	}
}

func FuzzAppendStr(f *testing.F) {
	for _, s := range []string{"", `a"b`, "\\", "\x00", "é", "\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkAppendStr(t, s) })
}

func TestAppendISO(t *testing.T) {
	for _, tc := range []struct {
		t      time.Time
		millis bool
		want   string
	}{
		{time.Date(2020, 7, 16, 5, 0, 0, 0, time.UTC), true, "2020-07-16T05:00:00Z"},
		{time.Date(2020, 7, 15, 21, 33, 0, 803_400_000, time.UTC), true, "2020-07-15T21:33:00.803Z"},
		{time.Date(2020, 7, 15, 21, 33, 0, 803_400_000, time.UTC), false, "2020-07-15T21:33:00Z"},
		{time.Date(999, 1, 2, 3, 4, 5, 6_000_000, time.FixedZone("x", 3600)), true, "0999-01-02T02:04:05.006Z"},
	} {
		if got := string(appendISO(nil, tc.t, tc.millis)); got != tc.want {
			t.Errorf("appendISO(%v) = %s, want %s", tc.t, got, tc.want)
		}
		layout := "2006-01-02T15:04:05.000Z"
		if !tc.millis || tc.t.Nanosecond()/1e6 == 0 {
			layout = "2006-01-02T15:04:05Z"
		}
		if got, want := string(appendISO(nil, tc.t, tc.millis)), tc.t.UTC().Format(layout); got != want {
			t.Errorf("appendISO(%v) = %s, time.Format %s", tc.t, got, want)
		}
	}
}

// plainPrefix reads words; it must stop where a byte-by-byte scan stops.
func TestPlainPrefix(t *testing.T) {
	special := []byte{'"', '\\', 0x00, 0x1f, 0x20, 0x21, 0x7f, 0x80, 0xc3, 0xff, 'a'}
	for n := 0; n <= 24; n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range special {
				b := []byte(strings.Repeat("arn:aws:backup:x", 2)[:n])
				b[pos] = c
				want := 0
				for want < n && jsonPlain[b[want]] {
					want++
				}
				if got := plainPrefix(string(b)); got != want {
					t.Fatalf("plainPrefix(%q) = %d, want %d", b, got, want)
				}
			}
		}
	}
}

// appendUnixISO must write what appendISO writes for the same instant.
func TestAppendUnixISO(t *testing.T) {
	check := func(ns int64) {
		t.Helper()
		for _, millis := range []bool{false, true} {
			if got, want := string(appendUnixISO(nil, ns, millis)), string(appendISO(nil, time.Unix(0, ns), millis)); got != want {
				t.Fatalf("appendUnixISO(%d, %v) = %s, appendISO %s", ns, millis, got, want)
			}
		}
	}
	for _, ns := range []int64{0, 1, 999_999, 1_000_000, 86_399_999_999_999, 86_400e9, -1, -86_400e9 - 1, math.MaxInt64, math.MinInt64} {
		check(ns)
	}
	// Every day from 1970 to 2259 (leap years; 2100 and 2200 are not), at a
	// varying time of day.
	for ns, i := int64(0), int64(0); ns < 290*365*86_400e9; ns, i = ns+86_400e9, i+1 {
		check(ns + i*7_777_777_777%86_400e9)
	}
}

// An event's id is its stream's next two numbers as a version 4 UUID.
func TestAppendUUID(t *testing.T) {
	w := New(Config{Seed: 3, Start: t0})
	for i := range 1000 {
		s := w.stream(key(i))
		draw := s
		hi, lo := draw.u64(), draw.u64()
		want := fmt.Sprintf("%08x-%04x-4%03x-%x%03x-%012x", hi>>32, hi>>16&0xffff, hi&0xfff, 8|lo>>60&3, lo>>48&0xfff, lo&(1<<48-1))
		upper := s
		if got := string(s.appendUUID([]byte("x"), false)); got != "x"+want {
			t.Fatalf("appendUUID = %s, want x%s", got, want)
		}
		if got := upper.uuid(true); got != strings.ToUpper(want) {
			t.Fatalf("uuid(true) = %s, want %s", got, strings.ToUpper(want))
		}
	}
}
