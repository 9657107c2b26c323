package awsevent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every documented or reconstructed sample must parse, except the ones that
// carry nothing to act on, which must say so with ErrIrrelevant.
func TestEverySampleParses(t *testing.T) {
	files, err := filepath.Glob("testdata/eventbridge-*.json")
	if err != nil || len(files) < 20 {
		t.Fatalf("want the event samples in testdata, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			u, err := Parse(read(t, name))
			irrelevant := strings.Contains(name, "recovery-point-state-change") ||
				strings.Contains(name, "region-setting") ||
				name == "eventbridge-copy-job-state-change-created.json"
			if irrelevant {
				if !errors.Is(err, ErrIrrelevant) {
					t.Fatalf("want ErrIrrelevant, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.JobID == "" || u.State == "" || u.Loc.Account == "" || u.Loc.Region == "" {
				t.Fatalf("incomplete update %+v", u)
			}
			if !strings.Contains(name, strings.ToLower(string(u.State))) {
				t.Errorf("state %s does not match file %s", u.State, name)
			}
		})
	}
}

func TestQuirks(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, u engine.JobUpdate)
	}{
		{"eventbridge-backup-job-state-change-completed-efs.json", func(t *testing.T, u engine.JobUpdate) {
			if u.Kind != engine.KindBackup || u.State != engine.JobCompleted {
				t.Errorf("kind/state %s/%s", u.Kind, u.State)
			}
			// The point is only in resources[0].
			if u.RecoveryPointArn != "arn:aws:backup:us-east-1:111122223333:recovery-point:8f3b9c4e-2d1a-4c7b-9e6f-0a1b2c3d4e5f" {
				t.Errorf("recovery point %q", u.RecoveryPointArn)
			}
			if u.SizeBytes != 1073741824 { // a string in backup events
				t.Errorf("size %d", u.SizeBytes)
			}
			if u.VaultName != "efs-primary" {
				t.Errorf("vault %q", u.VaultName)
			}
			want := time.Date(2024, 5, 14, 2, 0, 4, 512000000, time.UTC)
			if !u.CreatedAt.Equal(want) {
				t.Errorf("created %v want %v", u.CreatedAt, want)
			}
		}},
		{"eventbridge-backup-job-state-change-failed-efs.json", func(t *testing.T, u engine.JobUpdate) {
			if u.State != engine.JobFailed || u.RecoveryPointArn != "" {
				t.Errorf("state %s rp %q", u.State, u.RecoveryPointArn)
			}
			if strings.HasPrefix(u.Message, `"`) || !strings.Contains(u.Message, "does not exist") {
				t.Errorf("message %q", u.Message)
			}
		}},
		{"eventbridge-copy-job-state-change-completed-efs-cross-region.json", func(t *testing.T, u engine.JobUpdate) {
			if u.Kind != engine.KindCopy || u.JobID != "e2a9c7d4-1b3f-4e6a-9c8d-5f7b0a2e4c61" {
				t.Errorf("kind/id %s/%s", u.Kind, u.JobID)
			}
			if u.RecoveryPointArn != "arn:aws:backup:us-east-1:111122223333:recovery-point:8f3b9c4e-2d1a-4c7b-9e6f-0a1b2c3d4e5f" {
				t.Errorf("source point %q", u.RecoveryPointArn)
			}
			if !strings.HasPrefix(u.DestinationRecoveryPointArn, "arn:aws:backup:us-west-2:") {
				t.Errorf("destination point %q", u.DestinationRecoveryPointArn)
			}
			if u.SizeBytes != 1073741824 { // a number in copy events
				t.Errorf("size %d", u.SizeBytes)
			}
		}},
		{"eventbridge-copy-job-state-change-running-efs-cross-region.json", func(t *testing.T, u engine.JobUpdate) {
			if u.DestinationRecoveryPointArn != "" { // {} until COMPLETED
				t.Errorf("destination point %q", u.DestinationRecoveryPointArn)
			}
		}},
		{"eventbridge-restore-job-state-change-created.json", func(t *testing.T, u engine.JobUpdate) {
			if u.Kind != engine.KindRestore || u.State != engine.JobCreated { // `state` here, `status` elsewhere
				t.Errorf("kind/state %s/%s", u.Kind, u.State)
			}
		}},
		{"eventbridge-restore-job-state-change-completed-efs.json", func(t *testing.T, u engine.JobUpdate) {
			if u.State != engine.JobCompleted || !strings.Contains(u.CreatedResourceArn, "fs-0fedcba9876543210") {
				t.Errorf("state %s created %q", u.State, u.CreatedResourceArn)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			u, err := Parse(read(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, u)
		})
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not json", `{`, "decode EventBridge event"},
		{"no detail", `{"source":"aws.backup","detail-type":"Backup Job State Change","account":"1","region":"r"}`, "detail is missing"},
		{"no state", `{"source":"aws.backup","detail-type":"Backup Job State Change","account":"1","region":"r","detail":{"backupJobId":"j"}}`, "neither state nor status"},
		{"no job id", `{"source":"aws.backup","detail-type":"Backup Job State Change","account":"1","region":"r","detail":{"state":"RUNNING"}}`, "no job id"},
		{"bad date", `{"source":"aws.backup","detail-type":"Backup Job State Change","account":"1","region":"r","detail":{"backupJobId":"j","state":"RUNNING","creationDate":"yesterday"}}`, "creationDate"},
		{"bad size", `{"source":"aws.backup","detail-type":"Backup Job State Change","account":"1","region":"r","detail":{"backupJobId":"j","state":"RUNNING","backupSizeInBytes":"lots"}}`, "not a number"},
		{"bad dest", `{"source":"aws.backup","detail-type":"Copy Job State Change","account":"1","region":"r","detail":{"copyJobId":"j","state":"RUNNING","destinationRecoveryPointArn":[1]}}`, "neither a string nor {}"},
		{"no account", `{"source":"aws.backup","detail-type":"Backup Job State Change","detail":{}}`, "account and region"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
			if errors.Is(err, ErrIrrelevant) {
				t.Fatalf("malformed event reported as irrelevant: %v", err)
			}
		})
	}
	if _, err := Parse([]byte(`{"source":"aws.ec2","detail-type":"x"}`)); !errors.Is(err, ErrIrrelevant) {
		t.Fatalf("other source: %v", err)
	}
	// Another detail type whose fields clash with the job detail's types.
	odd := `{"source":"aws.backup","detail-type":"Backup Vault State Change","account":"1","region":"r","detail":{"state":{"x":1},"backupSizeInBytes":[]}}`
	if _, err := Parse([]byte(odd)); !errors.Is(err, ErrIrrelevant) {
		t.Fatalf("vault state change: %v", err)
	}
	bad := `{"source":"aws.backup","detail-type":"Backup Job State Change","account":"1","region":"r","detail":{"state":{"x":1}}}`
	if _, err := Parse([]byte(bad)); err == nil || errors.Is(err, ErrIrrelevant) {
		t.Fatalf("malformed job event: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/eventbridge-*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := Parse(b)
		if err != nil {
			return
		}
		if u.JobID == "" || u.State == "" || u.Loc.Account == "" || u.Loc.Region == "" {
			t.Fatalf("accepted an incomplete event: %+v", u)
		}
	})
}

// The fast path of parseTime must answer as time.Parse does.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2020-07-15T21:39:13Z", "2020-07-15T21:38:31.152Z", "2024-02-29T00:00:00.000Z",
		"2023-02-29T00:00:00Z", "2020-13-01T00:00:00Z", "2020-07-15T24:00:00Z", "2020-07-15T21:39:60Z",
		"2020-07-15T21:39:13.1Z", "2020-07-15T21:39:13+01:00", "0000-01-01T00:00:00Z", "2020-07-1xT21:39:13Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := time.Parse(time.RFC3339Nano, s)
		got, ok := parseUTCMillis(s)
		if !ok {
			return
		}
		if err != nil || !got.Equal(want) || got.Location() != time.UTC || want.UTC() != got {
			t.Fatalf("parseUTCMillis(%q) = %v, time.Parse: %v, %v", s, got, want, err)
		}
	})
}

func TestDelivered(t *testing.T) {
	for _, c := range []struct {
		detailType, state, status string
		want                      bool
	}{
		{DetailBackupJob, "COMPLETED", "", true},
		{DetailBackupJob, "PARTIAL", "", true},
		{DetailBackupJob, "RUNNING", "", false},
		{DetailCopyJob, "FAILED", "", true},
		{DetailCopyJob, "CREATED", "", false},
		{DetailRestoreJob, "CREATED", "", false},
		{DetailRestoreJob, "", "RUNNING", true},
		{DetailRestoreJob, "", "COMPLETED", true},
		{"Recovery Point State Change", "", "COMPLETED", false},
		{"Region Setting State Change", "COMPLETED", "", false},
	} {
		if got := Delivered(c.detailType, c.state, c.status); got != c.want {
			t.Errorf("Delivered(%q, %q, %q) = %v", c.detailType, c.state, c.status, got)
		}
	}
}

func TestParseUTCMillisEveryDay(t *testing.T) {
	// Every day of years around the calendar's rules (leap years, century
	// years, year 0), as time.Date counts them.
	for _, y := range []int{0, 1, 4, 100, 400, 1900, 1969, 1970, 2000, 2023, 2024, 2100, 9999} {
		for day := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() == y; day = day.AddDate(0, 0, 1) {
			want := day.Add(23*time.Hour + 59*time.Minute + 58*time.Second + 999*time.Millisecond)
			s := want.Format("2006-01-02T15:04:05.000Z")
			if got, ok := parseUTCMillis(s); !ok || got != want {
				t.Fatalf("parseUTCMillis(%q) = %v, %v", s, got, ok)
			}
		}
		if _, ok := parseUTCMillis(fmt.Sprintf("%04d-02-30T00:00:00Z", y)); ok {
			t.Fatalf("accepted February 30th of %d", y)
		}
	}
}
