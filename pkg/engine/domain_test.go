package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
)

func TestAppendTaskIDIsTaskID(t *testing.T) {
	l := Loc{Account: "100000000001", Region: "us-east-1"}
	want := TaskID("fleet#2026-01-05T01:00:00Z", l, "fs-0001")
	if want != "fleet#2026-01-05T01:00:00Z#100000000001#us-east-1#fs-0001" {
		t.Fatalf("TaskID = %q", want)
	}
	if got := string(AppendTaskID([]byte("x"), "fleet#2026-01-05T01:00:00Z", l, "fs-0001")); got != "x"+want {
		t.Fatalf("AppendTaskID = %q, want %q", got, "x"+want)
	}
}

// The tokens are part of the contract with AWS (a redeployed engine must
// derive the same ones for the jobs it already started): pin the formula,
// and the task shortcuts to the exported functions.
func TestTokensStable(t *testing.T) {
	task := &Task{SessionID: "s1", Loc: Loc{Account: "111111111111", Region: "eu-west-1"}, FileSystem: "fs-1"}
	want := func(parts ...string) string {
		h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
		return "efsk-" + hex.EncodeToString(h[:16])
	}
	for _, n := range []int{1, 2, 12, 345} {
		ns := strconv.Itoa(n)
		if got, w := BackupToken(task.ID(), n), want(task.ID(), "backup", ns); got != w {
			t.Errorf("BackupToken(%d) = %s, want %s", n, got, w)
		}
		if got, w := task.backupToken(n), BackupToken(task.ID(), n); got != w {
			t.Errorf("backupToken(%d) = %s, want %s", n, got, w)
		}
		if got, w := CopyToken(task.ID(), "us-west-2", n), want(task.ID(), "copy", "us-west-2", ns); got != w {
			t.Errorf("CopyToken(%d) = %s, want %s", n, got, w)
		}
		if got, w := task.copyToken("us-west-2", n), CopyToken(task.ID(), "us-west-2", n); got != w {
			t.Errorf("copyToken(%d) = %s, want %s", n, got, w)
		}
	}
	if got, w := token("r1", "restore", "0"), want("r1", "restore", "0"); got != w {
		t.Errorf("token = %s, want %s", got, w)
	}
}
