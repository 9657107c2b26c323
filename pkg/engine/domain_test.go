package engine

import "testing"

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
