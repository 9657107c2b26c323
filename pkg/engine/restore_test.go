package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/awsevent"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

func rsItemLevel(items ...engine.RestoreItem) engine.RestoreRequest {
	return engine.RestoreRequest{ClientToken: "req-1", Items: items, Target: engine.RestoreTarget{Kind: engine.TargetOriginal}}
}

func mustStartRestore(t *testing.T, e *restoreEnv, req engine.RestoreRequest) *engine.Restore {
	t.Helper()
	r, err := e.r.Start(rsCtx(), req)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return r
}

// 23 paths over 3 points with 5 paths per job: 11 -> 5+5+1, 7 -> 5+2,
// 5 -> 5, six jobs, each point's paths in order and in jobs of their own.
func TestRestoreSplitsPerPoint(t *testing.T) {
	e := newRestoreEnv(t, engine.RestoreConfig{})
	req := rsItemLevel(
		engine.RestoreItem{RecoveryPointArn: rsRP1, Vault: "efs-primary", Paths: rsPaths("/a", 11)},
		engine.RestoreItem{RecoveryPointArn: rsRP2, Vault: "efs-primary", Paths: rsPaths("/b", 7)},
		engine.RestoreItem{RecoveryPointArn: rsRP3, Vault: "efs-primary", Paths: rsPaths("/c", 5)},
	)
	r := mustStartRestore(t, e, req)
	if len(r.Jobs) != 6 {
		t.Fatalf("%d jobs, want 6", len(r.Jobs))
	}
	wantItems := []int{0, 0, 0, 1, 1, 2}
	wantSizes := []int{5, 5, 1, 5, 2, 5}
	got := map[int][]string{}
	tokens := map[string]bool{}
	for i, j := range r.Jobs {
		if j.Item != wantItems[i] || len(j.Paths) != wantSizes[i] {
			t.Errorf("job %d: item %d with %d paths, want item %d with %d", i, j.Item, len(j.Paths), wantItems[i], wantSizes[i])
		}
		if j.RecoveryPointArn != req.Items[j.Item].RecoveryPointArn || j.Loc != (engine.Loc{Account: rsAcct, Region: "us-east-1"}) {
			t.Errorf("job %d runs %s in %v", i, j.RecoveryPointArn, j.Loc)
		}
		if j.Token != engine.RestoreJobToken(r.ID, i) || tokens[j.Token] {
			t.Errorf("job %d token %q: want the derived, unique token", i, j.Token)
		}
		tokens[j.Token] = true
		if j.State != engine.JobCreated || j.JobID == "" {
			t.Errorf("job %d: state %q id %q, want started", i, j.State, j.JobID)
		}
		got[j.Item] = append(got[j.Item], j.Paths...)
	}
	for i, it := range req.Items {
		if !slices.Equal(got[i], it.Paths) {
			t.Errorf("item %d: jobs restore %v, want %v in order", i, got[i], it.Paths)
		}
	}
	if e.aws.uniqueJobs() != 6 {
		t.Fatalf("%d AWS jobs, want 6", e.aws.uniqueJobs())
	}

	// The same request again (a client retry) is the same session: no new
	// AWS call, no new job.
	again := mustStartRestore(t, e, req)
	if again.ID != r.ID || e.aws.calls["StartRestoreJob"] != 6 {
		t.Fatalf("retry: id %s (want %s), %d StartRestoreJob calls (want 6)", again.ID, r.ID, e.aws.calls["StartRestoreJob"])
	}
	// A fresh deployment given the same request derives the same tokens.
	other := mustStartRestore(t, newRestoreEnv(t, engine.RestoreConfig{}), req)
	for i := range r.Jobs {
		if other.Jobs[i].Token != r.Jobs[i].Token {
			t.Fatalf("job %d token differs between two starts of one request", i)
		}
	}
}

// A crash between StartRestoreJob and the record write: the retry sends
// the same tokens, and AWS answers with the jobs it already has.
func TestRestoreStartRetriesWithSameTokens(t *testing.T) {
	e := newRestoreEnv(t, engine.RestoreConfig{})
	crashing := &failingPuts{Restores: e.store, fail: 1}
	e.r = engine.NewRestorer(engine.Restorer{Store: crashing, Service: e.aws, Notifier: e.mail, Clock: e.clock})
	req := rsItemLevel(engine.RestoreItem{RecoveryPointArn: rsRP1, Vault: "efs-primary", Paths: rsPaths("/a", 7)})
	if _, err := e.r.Start(rsCtx(), req); err == nil {
		t.Fatal("Start succeeded although its record write failed")
	}
	if e.aws.uniqueJobs() != 2 {
		t.Fatalf("%d AWS jobs after the crash, want 2", e.aws.uniqueJobs())
	}
	r := mustStartRestore(t, e, req)
	if e.aws.uniqueJobs() != 2 || e.aws.calls["StartRestoreJob"] != 4 {
		t.Fatalf("after the retry: %d AWS jobs (want 2), %d calls (want 4)", e.aws.uniqueJobs(), e.aws.calls["StartRestoreJob"])
	}
	for i, j := range r.Jobs {
		if j.JobID == "" || j.State != engine.JobCreated {
			t.Fatalf("job %d not recorded as started: %+v", i, j)
		}
	}
	// Throttled starts stay for Reconcile, which uses the same tokens.
	e2 := newRestoreEnv(t, engine.RestoreConfig{})
	throttled := true
	e2.aws.startErr = func(r engine.StartRestoreRequest) error {
		if throttled && strings.Contains(r.Metadata[engine.MetaItems], "/file-05") {
			return engine.Errorf(engine.ETHROTTLED, "Rate exceeded")
		}
		return nil
	}
	r2 := mustStartRestore(t, e2, req)
	if r2.Jobs[1].State != engine.JobNotStarted || r2.Jobs[0].State != engine.JobCreated {
		t.Fatalf("states %s, %s: want the throttled job left not started", r2.Jobs[0].State, r2.Jobs[1].State)
	}
	throttled = false
	res, err := e2.r.Reconcile(rsCtx())
	if err != nil || res.JobsStarted != 1 {
		t.Fatalf("Reconcile = %+v, %v; want 1 job started", res, err)
	}
	got, _ := e2.r.Get(rsCtx(), r2.ID)
	if got.Jobs[1].State != engine.JobCreated || e2.aws.uniqueJobs() != 2 {
		t.Fatalf("after reconcile: %s, %d AWS jobs", got.Jobs[1].State, e2.aws.uniqueJobs())
	}
	// A start that fails for passing reasons for longer than JobTimeout is
	// given up, and the session ends.
	e3 := newRestoreEnv(t, engine.RestoreConfig{JobTimeout: time.Hour})
	e3.aws.startErr = func(engine.StartRestoreRequest) error { return engine.Errorf(engine.EUNAVAIL, "ServiceUnavailable") }
	r3 := mustStartRestore(t, e3, req)
	if r3.Jobs[0].State != engine.JobNotStarted || r3.Status != engine.RestoreRunning {
		t.Fatalf("unavailable AWS: %+v", r3)
	}
	e3.clock.Advance(2 * time.Hour)
	if _, err := e3.r.Reconcile(rsCtx()); err != nil {
		t.Fatal(err)
	}
	got, _ = e3.r.Get(rsCtx(), r3.ID)
	if got.Status != engine.RestoreFailed || got.Jobs[0].State != engine.JobGaveUp || !strings.Contains(got.Jobs[0].Message, "ServiceUnavailable") || e3.mail.count() != 1 {
		t.Fatalf("after JobTimeout: %s %+v, %d mails", got.Status, got.Jobs[0], e3.mail.count())
	}
}

// failingPuts fails the first fail PutRestore calls, as a function that
// dies after AWS started the jobs but before it recorded them.
type failingPuts struct {
	*memory.Restores
	fail int
}

func (f *failingPuts) PutRestore(ctx context.Context, r *engine.Restore) error {
	if f.fail > 0 {
		f.fail--
		return errors.New("lambda died")
	}
	return f.Restores.PutRestore(ctx, r)
}

// sampleRequest reads the Metadata of a StartRestoreJob sample.
func restoreSample(t *testing.T, name string) (rp string, md map[string]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "restore", name))
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		RecoveryPointArn string
		Metadata         map[string]string
	}
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	return req.RecoveryPointArn, req.Metadata
}

func TestRestoreMetadataMatchesSamples(t *testing.T) {
	on, off := true, false
	tests := []struct {
		sample string
		target engine.RestoreTarget
		token  string
		paths  []string
		// ignore lists sample keys efskeeper leaves out on purpose.
		ignore []string
	}{
		{"api-start-restore-job-request-efs-item-level-existing-fs.json", engine.RestoreTarget{Kind: engine.TargetOriginal}, "", []string{"/projects/q2/report.pdf", "/home/alice"}, nil},
		{"api-start-restore-job-request-efs-item-level-new-fs.json", engine.RestoreTarget{Kind: engine.TargetNewFileSystem, Encrypted: &on,
			KmsKeyID: "arn:aws:kms:us-west-2:111122223333:key/abcd1234-a123-456a-a12b-a123b4cd56ef", PerformanceMode: engine.PerformanceGeneralPurpose}, "efs-restore-b4d6e8f0-req-0002", []string{"/projects/q2"}, nil},
		{"api-start-restore-job-request-efs-one-zone-new-fs.json", engine.RestoreTarget{Kind: engine.TargetNewFileSystem, AvailabilityZone: "us-west-2a"}, "efs-restore-onezone-0003", nil, nil},
		// The console capture: a full restore to a new, unencrypted file
		// system; the console adds aws:backup:request-id, which the API
		// reference calls optional.
		{"api-start-restore-job-request-efs-full-new-fs-console-capture.json", engine.RestoreTarget{Kind: engine.TargetNewFileSystem, Encrypted: &off}, "console-xxxx", nil, []string{"aws:backup:request-id"}},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			rp, want := restoreSample(t, tt.sample)
			for _, k := range tt.ignore {
				delete(want, k)
			}
			r := &engine.Restore{Target: tt.target, Items: []engine.RestoreItem{{RecoveryPointArn: rp, FileSystem: want["file-system-id"]}},
				Jobs: []engine.RestoreJob{{Item: 0, Token: tt.token, Paths: tt.paths}}}
			got := engine.RestoreMetadata(r, 0)
			for _, k := range slices.Sorted(maps.Keys(want)) {
				if got[k] != want[k] {
					t.Errorf("%s = %q, sample has %q", k, got[k], want[k])
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s = %q is not in the sample", k, got[k])
				}
			}
		})
	}
}

// The metadata Start sends is RestoreMetadata's, the paths a JSON array in
// a string, every value a string.
func TestRestoreStartSendsMetadata(t *testing.T) {
	e := newRestoreEnv(t, engine.RestoreConfig{})
	ps := []string{"/projects/q2/report.pdf", `/home/alice/"quoted" & <odd> ü`}
	r := mustStartRestore(t, e, rsItemLevel(engine.RestoreItem{RecoveryPointArn: rsRP1, Vault: "efs-primary", Paths: ps}))
	s := e.aws.starts[0]
	if !maps.Equal(s.Metadata, engine.RestoreMetadata(r, 0)) {
		t.Fatalf("sent %v, want %v", s.Metadata, engine.RestoreMetadata(r, 0))
	}
	var items []string
	if err := json.Unmarshal([]byte(s.Metadata[engine.MetaItems]), &items); err != nil || !slices.Equal(items, ps) {
		t.Fatalf("ItemsToRestore %q decodes to %v, %v", s.Metadata[engine.MetaItems], items, err)
	}
	if s.Metadata[engine.MetaFileSystemID] != rsFS || s.Metadata[engine.MetaNewFileSystem] != "false" || len(s.Metadata) != 3 {
		t.Fatalf("metadata %v", s.Metadata)
	}
	if s.IamRoleArn != "arn:aws:iam::111122223333:role/efskeeper-backup" || s.Token != r.Jobs[0].Token || s.Loc.Region != "us-east-1" {
		t.Fatalf("request %+v", s)
	}
	it := r.Items[0]
	if it.FileSystem != rsFS || it.FileSystemLoc.Region != "us-east-1" || it.PolicyID != "prod-efs" || it.PointTime.IsZero() {
		t.Fatalf("item not filled in from the point: %+v", it)
	}
}

func restoreProblemFields(t *testing.T, err error) []string {
	t.Helper()
	if engine.ErrorCode(err) != engine.EINVALID {
		t.Fatalf("error %v (code %q), want EINVALID", err, engine.ErrorCode(err))
	}
	var ps engine.RequestProblems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v has no RequestProblems", err)
	}
	var fields []string
	for _, p := range ps {
		fields = append(fields, p.Field+": "+p.Message)
	}
	return fields
}

func TestRestoreValidation(t *testing.T) {
	item := func(rp, vault string, ps ...string) engine.RestoreItem {
		return engine.RestoreItem{RecoveryPointArn: rp, Vault: vault, Paths: ps}
	}
	orig := engine.RestoreTarget{Kind: engine.TargetOriginal}
	newFS := engine.RestoreTarget{Kind: engine.TargetNewFileSystem}
	off := false
	tests := []struct {
		name string
		req  engine.RestoreRequest
		want []string // "field: message fragment"
	}{
		{"no items", engine.RestoreRequest{Target: orig}, []string{"items: name at least one"}},
		{"no target", engine.RestoreRequest{Items: []engine.RestoreItem{item(rsRP1, "efs-primary", "/a")}}, []string{"target.kind: is required"}},
		{"bad target", engine.RestoreRequest{Items: []engine.RestoreItem{item(rsRP1, "efs-primary", "/a")}, Target: engine.RestoreTarget{Kind: "inPlace"}}, []string{`target.kind: "inPlace" is not a target`}},
		{"relative", rsItemLevel(item(rsRP1, "efs-primary", "home/alice")), []string{"items[0].paths[0]: \"home/alice\" must be absolute"}},
		{"wildcard", rsItemLevel(item(rsRP1, "efs-primary", "/home/*.txt")), []string{"items[0].paths[0]: \"/home/*.txt\" contains a wildcard"}},
		{"question mark", rsItemLevel(item(rsRP1, "efs-primary", "/a/fil?")), []string{"items[0].paths[0]: \"/a/fil?\" contains a wildcard"}},
		{"dotdot", rsItemLevel(item(rsRP1, "efs-primary", "/a/../etc")), []string{"items[0].paths[0]: \"/a/../etc\" must not contain . or .."}},
		{"dot", rsItemLevel(item(rsRP1, "efs-primary", "/a/./b")), []string{"items[0].paths[0]: \"/a/./b\" must not contain . or .."}},
		{"trailing slash", rsItemLevel(item(rsRP1, "efs-primary", "/a/")), []string{"items[0].paths[0]: \"/a/\" must not end with /"}},
		{"double slash", rsItemLevel(item(rsRP1, "efs-primary", "/a//b")), []string{"items[0].paths[0]: \"/a//b\" has an empty component"}},
		{"root", rsItemLevel(item(rsRP1, "efs-primary", "/")), []string{"items[0].paths[0]: is the file system's root; set full: true"}},
		{"empty path", rsItemLevel(item(rsRP1, "efs-primary", "")), []string{"items[0].paths[0]: is empty"}},
		{"control", rsItemLevel(item(rsRP1, "efs-primary", "/a\nb")), []string{"items[0].paths[0]: contains a control character"}},
		{"invalid utf-8", rsItemLevel(item(rsRP1, "efs-primary", "/a\xff")), []string{"items[0].paths[0]: is not valid UTF-8"}},
		{"long name", rsItemLevel(item(rsRP1, "efs-primary", "/"+strings.Repeat("n", 256))), []string{"items[0].paths[0]: has a component of 256 bytes"}},
		{"duplicate", rsItemLevel(item(rsRP1, "efs-primary", "/a", "/A", "/a")), []string{"items[0].paths[2]: repeats paths[0]"}},
		{"no paths", rsItemLevel(item(rsRP1, "efs-primary")), []string{"items[0].paths: name at least one file"}},
		{"full with paths", engine.RestoreRequest{Full: true, Target: orig, Items: []engine.RestoreItem{item(rsRP1, "efs-primary", "/a")}}, []string{"items[0].paths: a full restore"}},
		{"bad arn", rsItemLevel(item("arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-1", "efs-primary", "/a")), []string{"items[0].recoveryPointArn: \"arn:aws:elasticfilesystem"}},
		{"no arn", rsItemLevel(item("", "efs-primary", "/a")), []string{"items[0].recoveryPointArn: is required"}},
		{"bad region", rsItemLevel(item("arn:aws:backup:xx-east-9:111122223333:recovery-point:1", "efs-primary", "/a")), []string{"items[0].recoveryPointArn: the Region \"xx-east-9\""}},
		{"account mismatch", rsItemLevel(engine.RestoreItem{RecoveryPointArn: rsRP1, Account: "444455556666", Vault: "efs-primary", Paths: []string{"/a"}}), []string{"items[0].account: \"444455556666\" differs"}},
		{"region mismatch", rsItemLevel(engine.RestoreItem{RecoveryPointArn: rsRP1, Region: "us-west-2", Vault: "efs-primary", Paths: []string{"/a"}}), []string{"items[0].region: \"us-west-2\" differs"}},
		{"no vault", rsItemLevel(item(rsRP1, "", "/a")), []string{"items[0].vault: is required"}},
		{"same point twice", rsItemLevel(item(rsRP1, "efs-primary", "/a"), item(rsRP1, "efs-primary", "/b")), []string{"items[1].recoveryPointArn: is the restore point of items[0] again"}},
		{"too many paths", rsItemLevel(item(rsRP1, "efs-primary", rsPaths("/a", 11)...)), []string{"items: 11 paths in all, more than the 10"}},
		{"kms without encryption", engine.RestoreRequest{Items: []engine.RestoreItem{item(rsRP1, "efs-primary", "/a")}, Target: engine.RestoreTarget{Kind: engine.TargetNewFileSystem, Encrypted: &off, KmsKeyID: "alias/efs"}}, []string{"target.kmsKeyId: a KMS key needs encrypted true"}},
		{"one zone maxIO", engine.RestoreRequest{Items: []engine.RestoreItem{item(rsRP1, "efs-primary", "/a")}, Target: engine.RestoreTarget{Kind: engine.TargetNewFileSystem, PerformanceMode: engine.PerformanceMaxIO, AvailabilityZone: "us-east-1a"}}, []string{"target.performanceMode: a One Zone file system"}},
		{"bad AZ", engine.RestoreRequest{Items: []engine.RestoreItem{item(rsRP1, "efs-primary", "/a")}, Target: engine.RestoreTarget{Kind: engine.TargetNewFileSystem, AvailabilityZone: "us-east-1"}}, []string{"target.availabilityZone: \"us-east-1\" is not an Availability Zone"}},
		{"bad performance mode", engine.RestoreRequest{Items: []engine.RestoreItem{item(rsRP1, "efs-primary", "/a")}, Target: engine.RestoreTarget{Kind: engine.TargetNewFileSystem, PerformanceMode: "turbo"}}, []string{"target.performanceMode: \"turbo\""}},
		{"new-fs settings on original", engine.RestoreRequest{Items: []engine.RestoreItem{item(rsRP1, "efs-primary", "/a")}, Target: engine.RestoreTarget{Kind: engine.TargetOriginal, KmsKeyID: "alias/x"}}, []string{"target: performanceMode, encrypted, kmsKeyId"}},
		// Checked with AWS.
		{"missing point", rsItemLevel(item(rsRP1, "efs-other", "/a")), []string{"items[0].recoveryPointArn: there is no restore point"}},
		{"partial point", rsItemLevel(item(rsRPPart, "efs-primary", "/a")), []string{"items[0].recoveryPointArn: the restore point is PARTIAL"}},
		{"not EFS", rsItemLevel(item(rsRPEBS, "efs-primary", "/a")), []string{"items[0].recoveryPointArn: is a restore point of arn:aws:ec2"}},
		{"automatic vault", rsItemLevel(item(rsRPAuto, "aws/efs/automatic-backup-vault", "/a")), []string{"items[0].vault: the access policy of vault \"aws/efs/automatic-backup-vault\"", "EFS automatic-backup vault"}},
		{"copy into original", rsItemLevel(item(rsRPCopy, "efs-dr", "/a")), []string{"items[0].recoveryPointArn: the restore point is in account 111122223333, us-west-2 but fs-0123456789abcdef0 is in account 111122223333, us-east-1"}},
		{"AZ of another Region", engine.RestoreRequest{Items: []engine.RestoreItem{item(rsRPCopy, "efs-dr", "/a")}, Target: engine.RestoreTarget{Kind: engine.TargetNewFileSystem, AvailabilityZone: "us-east-1a"}}, []string{"target.availabilityZone: us-east-1a is not in us-west-2"}},
		{"new FS needs one job per point", engine.RestoreRequest{Items: []engine.RestoreItem{item(rsRP1, "efs-primary", rsPaths("/a", 6)...)}, Target: newFS}, []string{"items[0].paths: 6 paths need 2 restore jobs", "creates its own file system"}},
		{"every problem at once", engine.RestoreRequest{Items: []engine.RestoreItem{item(rsRP1, "", "rel", "/x/*"), item("nope", "v", "/a")}}, []string{"target.kind", "items[0].vault", "items[0].paths[0]", "items[0].paths[1]", "items[1].recoveryPointArn"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRestoreEnv(t, engine.RestoreConfig{MaxPaths: 10})
			_, err := e.r.Start(rsCtx(), tt.req)
			fields := restoreProblemFields(t, err)
			all := strings.Join(fields, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems\n%s\nlack %q", all, w)
				}
			}
			if tt.name != "every problem at once" && len(fields) != 1 {
				t.Errorf("want one problem, got\n%s", all)
			}
			if e.aws.calls["StartRestoreJob"] != 0 {
				t.Errorf("a refused request started %d jobs", e.aws.calls["StartRestoreJob"])
			}
			if rs, _, _ := e.store.ListRestores(rsCtx(), engine.RestoreQuery{}); len(rs) != 0 {
				t.Errorf("a refused request was recorded")
			}
		})
	}
}

func TestRestoreClientTokenReuse(t *testing.T) {
	e := newRestoreEnv(t, engine.RestoreConfig{})
	mustStartRestore(t, e, rsItemLevel(engine.RestoreItem{RecoveryPointArn: rsRP1, Vault: "efs-primary", Paths: []string{"/a"}}))
	_, err := e.r.Start(rsCtx(), rsItemLevel(engine.RestoreItem{RecoveryPointArn: rsRP1, Vault: "efs-primary", Paths: []string{"/b"}}))
	if engine.ErrorCode(err) != engine.ECONFLICT || !strings.Contains(err.Error(), "client token \"req-1\" was already used") {
		t.Fatalf("reused token: %v", err)
	}
}

// Without a client token, an identical request joins the running session;
// once that has ended, it starts a new one with new tokens.
func TestRestoreTokenlessRepeat(t *testing.T) {
	e := newRestoreEnv(t, engine.RestoreConfig{})
	req := rsItemLevel(engine.RestoreItem{RecoveryPointArn: rsRP1, Vault: "efs-primary", Paths: []string{"/a"}})
	req.ClientToken = ""
	a := mustStartRestore(t, e, req)
	b := mustStartRestore(t, e, req)
	if a.ID != b.ID || e.aws.uniqueJobs() != 1 {
		t.Fatalf("repeat while running: %s vs %s, %d jobs", a.ID, b.ID, e.aws.uniqueJobs())
	}
	if err := e.r.Update(rsCtx(), e.aws.set(a.Jobs[0].JobID, engine.JobCompleted, "", rsFSArn)); err != nil {
		t.Fatal(err)
	}
	c := mustStartRestore(t, e, req)
	if c.ID == a.ID || c.ID != a.ID+"-2" || c.Jobs[0].Token == a.Jobs[0].Token || e.aws.uniqueJobs() != 2 {
		t.Fatalf("repeat after the end: id %s, token %s (first %s, %s), %d jobs", c.ID, c.Jobs[0].Token, a.ID, a.Jobs[0].Token, e.aws.uniqueJobs())
	}
}

// eventFor turns one of AWS's sample restore events into the event of a
// job of ours.
func restoreEventFor(t *testing.T, sample, jobID, region string) engine.JobUpdate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "restore", sample))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	ev["region"], ev["account"] = region, rsAcct
	ev["detail"].(map[string]any)["restoreJobId"] = jobID
	b, _ = json.Marshal(ev)
	u, err := awsevent.Parse(b)
	if err != nil {
		t.Fatalf("parse %s: %v", sample, err)
	}
	return u
}

func TestRestoreEvents(t *testing.T) {
	e := newRestoreEnv(t, engine.RestoreConfig{})
	r := mustStartRestore(t, e, rsItemLevel(
		engine.RestoreItem{RecoveryPointArn: rsRP1, Vault: "efs-primary", Paths: []string{"/a"}},
		engine.RestoreItem{RecoveryPointArn: rsRP2, Vault: "efs-primary", Paths: []string{"/b"}},
	))
	j0, j1 := r.Jobs[0].JobID, r.Jobs[1].JobID
	step := func(u engine.JobUpdate, wantState engine.JobState, job int) *engine.Restore {
		t.Helper()
		e.clock.Advance(time.Minute)
		if err := e.r.Update(rsCtx(), u); err != nil {
			t.Fatalf("Update %s %s: %v", u.JobID, u.State, err)
		}
		got, err := e.r.Get(rsCtx(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Jobs[job].State != wantState {
			t.Fatalf("after %s %s: job %d is %s, want %s", u.JobID, u.State, job, got.Jobs[job].State, wantState)
		}
		return got
	}
	step(restoreEventFor(t, "eventbridge-restore-job-state-change-created.json", j0, "us-east-1"), engine.JobCreated, 0)
	step(restoreEventFor(t, "eventbridge-restore-job-state-change-running.json", j0, "us-east-1"), engine.JobRunning, 0)
	// A late PENDING after RUNNING does not move the job back.
	step(restoreEventFor(t, "eventbridge-restore-job-state-change-pending.json", j0, "us-east-1"), engine.JobRunning, 0)
	got := step(restoreEventFor(t, "eventbridge-restore-job-state-change-completed-efs.json", j0, "us-east-1"), engine.JobCompleted, 0)
	if got.Jobs[0].CreatedResourceArn == "" || got.Jobs[0].CompletedAt.IsZero() || got.Status != engine.RestoreRunning {
		t.Fatalf("after job 0 completed: %+v, session %s", got.Jobs[0], got.Status)
	}
	// Duplicates and out-of-order events of a finished job change nothing.
	v := got.Version
	got = step(restoreEventFor(t, "eventbridge-restore-job-state-change-completed-efs.json", j0, "us-east-1"), engine.JobCompleted, 0)
	got = step(restoreEventFor(t, "eventbridge-restore-job-state-change-running.json", j0, "us-east-1"), engine.JobCompleted, 0)
	if got.Version != v {
		t.Fatalf("duplicates wrote the record (version %d -> %d)", v, got.Version)
	}
	// Events of jobs efskeeper did not start, and of other kinds, are dropped.
	if err := e.r.Update(rsCtx(), restoreEventFor(t, "eventbridge-restore-job-state-change-failed-efs.json", "someone-elses-job", "us-east-1")); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Update(rsCtx(), engine.JobUpdate{Kind: engine.KindBackup, JobID: j1, State: engine.JobFailed}); err != nil {
		t.Fatal(err)
	}
	if e.mail.count() != 0 {
		t.Fatal("mailed before the session ended")
	}
	got = step(restoreEventFor(t, "eventbridge-restore-job-state-change-failed-efs.json", j1, "us-east-1"), engine.JobFailed, 1)
	if got.Status != engine.RestorePartial || !got.Notified || got.EndedAt.IsZero() || e.mail.count() != 1 {
		t.Fatalf("after the last job: %s notified=%v ended=%v, %d mails", got.Status, got.Notified, got.EndedAt, e.mail.count())
	}
	if got.Jobs[1].Message != "Insufficient privileges to perform this action." {
		t.Fatalf("job 1 message %q", got.Jobs[1].Message)
	}
	// A duplicate of the last event mails nothing more.
	step(restoreEventFor(t, "eventbridge-restore-job-state-change-failed-efs.json", j1, "us-east-1"), engine.JobFailed, 1)
	if e.mail.count() != 1 {
		t.Fatalf("%d mails after a duplicate final event", e.mail.count())
	}
	n := e.mail.notices[0].Restore
	if n.ID != r.ID || n.Status != engine.RestorePartial {
		t.Fatalf("mail about %s %s", n.ID, n.Status)
	}
}

func TestRestoreOutcomes(t *testing.T) {
	for _, tt := range []struct {
		states []engine.JobState
		want   engine.RestoreStatus
	}{
		{[]engine.JobState{engine.JobCompleted, engine.JobCompleted}, engine.RestoreCompleted},
		{[]engine.JobState{engine.JobFailed, engine.JobAborted}, engine.RestoreFailed},
		{[]engine.JobState{engine.JobCompleted, engine.JobAborted}, engine.RestorePartial},
	} {
		e := newRestoreEnv(t, engine.RestoreConfig{})
		r := mustStartRestore(t, e, rsItemLevel(engine.RestoreItem{RecoveryPointArn: rsRP1, Vault: "efs-primary", Paths: rsPaths("/a", 10)}))
		for i, s := range tt.states {
			if err := e.r.Update(rsCtx(), e.aws.set(r.Jobs[i].JobID, s, "", "")); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := e.r.Get(rsCtx(), r.ID)
		if got.Status != tt.want {
			t.Errorf("%v: %s, want %s", tt.states, got.Status, tt.want)
		}
	}
}

func TestRestoreReconcile(t *testing.T) {
	e := newRestoreEnv(t, engine.RestoreConfig{})
	r := mustStartRestore(t, e, rsItemLevel(
		engine.RestoreItem{RecoveryPointArn: rsRP1, Vault: "efs-primary", Paths: []string{"/a"}},
		engine.RestoreItem{RecoveryPointArn: rsRP2, Vault: "efs-primary", Paths: []string{"/b"}},
		engine.RestoreItem{RecoveryPointArn: rsRP3, Vault: "efs-primary", Paths: []string{"/c"}},
	))
	// Quiet for less than StaleAfter: nothing is read.
	e.clock.Advance(10 * time.Minute)
	res, err := e.r.Reconcile(rsCtx())
	if err != nil || res.JobsRead != 0 || res.Sessions != 1 {
		t.Fatalf("early Reconcile = %+v, %v", res, err)
	}
	// All three events are lost: job 0 completed, job 1 is still running,
	// and AWS forgot job 2.
	e.aws.set(r.Jobs[0].JobID, engine.JobCompleted, "", rsFSArn)
	e.aws.set(r.Jobs[1].JobID, engine.JobRunning, "", "")
	delete(e.aws.jobs, r.Jobs[2].JobID)
	e.clock.Advance(25 * time.Minute)
	res, err = e.r.Reconcile(rsCtx())
	if err != nil || res.JobsRead != 3 || res.Finished != 0 {
		t.Fatalf("Reconcile = %+v, %v; want 3 jobs read", res, err)
	}
	got, _ := e.r.Get(rsCtx(), r.ID)
	if got.Jobs[0].State != engine.JobCompleted || got.Jobs[0].CreatedResourceArn != rsFSArn || got.Jobs[1].State != engine.JobRunning ||
		got.Jobs[2].State != engine.JobFailed || !strings.Contains(got.Jobs[2].Message, "no longer knows") {
		t.Fatalf("after reconcile: %+v", got.Jobs)
	}
	// Read back means checked: the running job is not read again at once.
	res, _ = e.r.Reconcile(rsCtx())
	if res.JobsRead != 0 {
		t.Fatalf("job read again right away: %+v", res)
	}
	// A job that never ends is given up after JobTimeout.
	e.clock.Advance(8 * 24 * time.Hour)
	res, err = e.r.Reconcile(rsCtx())
	if err != nil || res.TimedOut != 1 || res.Finished != 1 {
		t.Fatalf("Reconcile after a week = %+v, %v", res, err)
	}
	got, _ = e.r.Get(rsCtx(), r.ID)
	if got.Status != engine.RestorePartial || got.Jobs[1].State != engine.JobGaveUp || e.mail.count() != 1 {
		t.Fatalf("after the timeout: %s %s, %d mails", got.Status, got.Jobs[1].State, e.mail.count())
	}
	// Nothing runs any more.
	res, _ = e.r.Reconcile(rsCtx())
	if res.Sessions != 0 {
		t.Fatalf("ended session still reconciled: %+v", res)
	}
	// A describe that fails for a passing reason is an error, not a verdict.
	e2 := newRestoreEnv(t, engine.RestoreConfig{})
	r2 := mustStartRestore(t, e2, rsItemLevel(engine.RestoreItem{RecoveryPointArn: rsRP1, Vault: "efs-primary", Paths: []string{"/a"}}))
	e2.aws.describeErr = engine.Errorf(engine.ETHROTTLED, "Rate exceeded")
	e2.clock.Advance(time.Hour)
	if _, err := e2.r.Reconcile(rsCtx()); engine.ErrorCode(err) != engine.ETHROTTLED {
		t.Fatalf("throttled describe: %v", err)
	}
	if got, _ := e2.r.Get(rsCtx(), r2.ID); got.Jobs[0].State != engine.JobCreated {
		t.Fatalf("throttled describe changed the job: %s", got.Jobs[0].State)
	}
}

// A copy restores in its own Region, to a new file system: the migration
// case. The job runs where the copy is; file-system-id names the source.
func TestRestoreToCopyRegion(t *testing.T) {
	e := newRestoreEnv(t, engine.RestoreConfig{})
	r := mustStartRestore(t, e, engine.RestoreRequest{Items: []engine.RestoreItem{{RecoveryPointArn: rsRPCopy, Vault: "efs-dr", Paths: []string{"/projects/q2"}}},
		Target: engine.RestoreTarget{Kind: engine.TargetNewFileSystem, AvailabilityZone: "us-west-2b"}})
	s := e.aws.starts[0]
	want := map[string]string{"file-system-id": rsFS, "newFileSystem": "true", "CreationToken": r.Jobs[0].Token, "Encrypted": "true",
		"PerformanceMode": "generalPurpose", "singleAzFilesystem": "true", "availabilityZoneName": "us-west-2b", "ItemsToRestore": `["/projects/q2"]`}
	if s.Loc != (engine.Loc{Account: rsAcct, Region: "us-west-2"}) || !maps.Equal(s.Metadata, want) || s.IamRoleArn != "arn:aws:iam::111122223333:role/efskeeper-backup" {
		t.Fatalf("start %+v\nwant metadata %v", s, want)
	}
	if r.Items[0].FileSystemLoc.Region != "us-east-1" || r.Items[0].Region != "us-west-2" {
		t.Fatalf("item %+v", r.Items[0])
	}
	created := "arn:aws:elasticfilesystem:us-west-2:111122223333:file-system/fs-0fedcba9876543210"
	if err := e.r.Update(rsCtx(), restoreEventFor(t, "eventbridge-restore-job-state-change-completed-efs.json", r.Jobs[0].JobID, "us-west-2")); err != nil {
		t.Fatal(err)
	}
	got, _ := e.r.Get(rsCtx(), r.ID)
	if got.Status != engine.RestoreCompleted || got.Jobs[0].CreatedResourceArn != created {
		t.Fatalf("%s, created %s", got.Status, got.Jobs[0].CreatedResourceArn)
	}
}

// A full restore: one job per point and no ItemsToRestore; in place from
// the source point, or to a new file system from a copy.
func TestRestoreFull(t *testing.T) {
	e := newRestoreEnv(t, engine.RestoreConfig{})
	r := mustStartRestore(t, e, engine.RestoreRequest{Full: true, Items: []engine.RestoreItem{{RecoveryPointArn: rsRP1, Vault: "efs-primary"}},
		Target: engine.RestoreTarget{Kind: engine.TargetOriginal}})
	if len(r.Jobs) != 1 || len(r.Jobs[0].Paths) != 0 {
		t.Fatalf("jobs %+v", r.Jobs)
	}
	if md := e.aws.starts[0].Metadata; !maps.Equal(md, map[string]string{"file-system-id": rsFS, "newFileSystem": "false"}) {
		t.Fatalf("in-place full restore metadata %v", md)
	}
	e2 := newRestoreEnv(t, engine.RestoreConfig{})
	r2 := mustStartRestore(t, e2, engine.RestoreRequest{Full: true, Items: []engine.RestoreItem{{RecoveryPointArn: rsRPCopy, Vault: "efs-dr"}, {RecoveryPointArn: rsRP2, Vault: "efs-primary"}},
		Target: engine.RestoreTarget{Kind: engine.TargetNewFileSystem, PerformanceMode: engine.PerformanceMaxIO}})
	if len(r2.Jobs) != 2 || r2.Jobs[0].Loc.Region != "us-west-2" || r2.Jobs[1].Loc.Region != "us-east-1" {
		t.Fatalf("jobs %+v", r2.Jobs)
	}
	tokens := map[string]bool{r2.Jobs[0].Token: true, r2.Jobs[1].Token: true}
	for i, s := range e2.aws.starts {
		if _, ok := s.Metadata[engine.MetaItems]; ok || s.Metadata["newFileSystem"] != "true" || s.Metadata["PerformanceMode"] != "maxIO" ||
			!tokens[s.Metadata["CreationToken"]] || s.Token != s.Metadata["CreationToken"] {
			t.Fatalf("start %d metadata %v", i, s.Metadata)
		}
		delete(tokens, s.Token)
	}
}

// With a small metadata cap, paths are cut by size: every job's metadata
// fits, and no job could have taken the next path as well.
func TestRestoreSplitsByMetadataSize(t *testing.T) {
	const limit = 700
	e := newRestoreEnv(t, engine.RestoreConfig{MaxItemsPerJob: 1000, MaxMetadataBytes: limit})
	var ps []string
	for i := range 40 {
		ps = append(ps, "/données/\"quoted\"/<tag>&/"+strings.Repeat("x", i*3+1)+"/ü")
	}
	r := mustStartRestore(t, e, rsItemLevel(engine.RestoreItem{RecoveryPointArn: rsRP1, Vault: "efs-primary", Paths: ps}))
	if len(r.Jobs) < 5 {
		t.Fatalf("%d jobs; the cap should cut more", len(r.Jobs))
	}
	var all []string
	for i, j := range r.Jobs {
		md := engine.RestoreMetadata(r, i)
		if n := engine.MetadataSize(md); n > limit {
			t.Errorf("job %d: metadata of %d bytes > %d", i, n, limit)
		}
		if i+1 < len(r.Jobs) {
			more := *r
			more.Jobs = slices.Clone(r.Jobs)
			more.Jobs[i].Paths = append(slices.Clone(j.Paths), r.Jobs[i+1].Paths[0])
			if n := engine.MetadataSize(engine.RestoreMetadata(&more, i)); n <= limit {
				t.Errorf("job %d could have taken the next path (%d bytes <= %d)", i, n, limit)
			}
		}
		all = append(all, j.Paths...)
	}
	if !slices.Equal(all, ps) {
		t.Fatal("the jobs do not restore the paths in order")
	}
	// Many short paths: the separators between them count too.
	e3 := newRestoreEnv(t, engine.RestoreConfig{MaxItemsPerJob: 1000, MaxMetadataBytes: 300})
	short := rsPaths("/s", 100)
	for i := range short {
		short[i] = "/" + strings.Repeat("s", 1+i%3)
		short[i] += "/" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	r3 := mustStartRestore(t, e3, rsItemLevel(engine.RestoreItem{RecoveryPointArn: rsRP1, Vault: "efs-primary", Paths: short}))
	for i := range r3.Jobs {
		if n := engine.MetadataSize(engine.RestoreMetadata(r3, i)); n > 300 || n < 280 && i+1 < len(r3.Jobs) {
			t.Errorf("short paths, job %d: metadata of %d bytes, want 280..300", i, n)
		}
	}
	// A path that does not fit alone is refused, naming it.
	e2 := newRestoreEnv(t, engine.RestoreConfig{MaxMetadataBytes: 100})
	_, err := e2.r.Start(rsCtx(), rsItemLevel(engine.RestoreItem{RecoveryPointArn: rsRP1, Vault: "efs-primary", Paths: []string{"/" + strings.Repeat("y", 120)}}))
	if f := restoreProblemFields(t, err); len(f) != 1 || !strings.Contains(f[0], "items[0].paths: the path") || !strings.Contains(f[0], "more than the 100 allowed") {
		t.Fatalf("problems %v", f)
	}
}

func TestParseRestoreRequest(t *testing.T) {
	req, err := engine.ParseRestoreRequest([]byte(`{"clientToken":"c1","items":[{"recoveryPointArn":"` + rsRP1 + `","vault":"efs-primary","paths":["/a"]}],"target":{"kind":"newFileSystem","encrypted":false}}`))
	if err != nil || req.ClientToken != "c1" || req.Items[0].Paths[0] != "/a" || req.Target.Encrypted == nil || *req.Target.Encrypted {
		t.Fatalf("ParseRestoreRequest = %+v, %v", req, err)
	}
	for _, bad := range []string{`{"itmes":[]}`, `{"items":[{"path":["/a"]}]}`, `{"items":[]} {}`, `[]`, `{"full":"yes"}`, ``} {
		if _, err := engine.ParseRestoreRequest([]byte(bad)); engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("%s: %v, want EINVALID", bad, err)
		}
	}
}

// FuzzRestoreRequest: whatever the API receives, parsing and Start never
// panic, and a request for unknown points never starts a job.
func FuzzRestoreRequest(f *testing.F) {
	f.Add([]byte(`{"items":[{"recoveryPointArn":"` + rsRP1 + `","vault":"efs-primary","paths":["/a","/b/c"]}],"target":{"kind":"original"}}`))
	f.Add([]byte(`{"full":true,"items":[{"recoveryPointArn":"` + rsRPCopy + `","vault":"efs-dr"}],"target":{"kind":"newFileSystem","availabilityZone":"us-west-2a"}}`))
	f.Add([]byte(`{"items":[{"recoveryPointArn":"arn:aws:backup:us-east-1:111122223333:recovery-point:x","vault":"v","paths":["/\u0000","/a/../b","//"]}],"target":{"kind":"x"}}`))
	f.Add([]byte(`{"items":[{"recoveryPointArn":"arn:aws:backup::::recovery-point:","paths":["/ü\ud800"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := engine.ParseRestoreRequest(data)
		if err != nil {
			return
		}
		e := newRestoreEnv(t, engine.RestoreConfig{})
		for i := range req.Items {
			req.Items[i].RecoveryPointArn += "-unknown"
		}
		r, err := e.r.Start(rsCtx(), req)
		if err == nil {
			t.Fatalf("Start accepted %s: %+v", data, r)
		}
		if e.aws.calls["StartRestoreJob"] != 0 {
			t.Fatalf("a refused request started jobs: %s", data)
		}
	})
}
