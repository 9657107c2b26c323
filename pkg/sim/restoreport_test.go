package sim

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// The engine's restore port on the world: GetRecoveryPointRestoreMetadata
// answers as AWS does for EFS (two keys), StartRestoreJob keeps tokens, and
// DescribeRestoreJob reads the job back as a restore JobUpdate.
func TestRestorePort(t *testing.T) {
	w := testWorld(t, Faults{}, gib)
	sj := mustStart(t, w, backupReq("tok"))
	w.Advance(4 * time.Hour)
	w.DeliverEvents()
	rp := w.Restores()

	md, err := rp.RestoreMetadata(ctx, locA, "primary", sj.RecoveryPointArn)
	if err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(md)); !slices.Equal(keys, []string{"aws:backup:request-id", "file-system-id"}) || md["file-system-id"] != fsID {
		t.Fatalf("restore metadata %v", md)
	}
	if _, err := rp.RestoreMetadata(ctx, locA, "dr", sj.RecoveryPointArn); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Fatalf("metadata of a point in another vault: %v", err)
	}

	req := engine.StartRestoreRequest{Loc: locA, RecoveryPointArn: sj.RecoveryPointArn, IamRoleArn: "arn:aws:iam::111122223333:role/efskeeper-backup", Token: "efsk-1",
		Metadata: map[string]string{"file-system-id": fsID, "newFileSystem": "false", "ItemsToRestore": `["/a"]`}}
	j, err := rp.StartRestore(ctx, req)
	if err != nil || j.JobID == "" || !j.CreatedAt.Equal(w.Now()) {
		t.Fatalf("StartRestore = %+v, %v", j, err)
	}
	if again, err := rp.StartRestore(ctx, req); err != nil || again.JobID != j.JobID {
		t.Fatalf("same token: %+v, %v; want job %s", again, err, j.JobID)
	}
	w.Advance(time.Hour)
	u, err := rp.DescribeRestoreJob(ctx, locA, j.JobID)
	if err != nil || u.Kind != engine.KindRestore || u.State != engine.JobCompleted || u.CreatedResourceArn != fsArnA || u.RecoveryPointArn != sj.RecoveryPointArn {
		t.Fatalf("DescribeRestoreJob = %+v, %v", u, err)
	}
	if _, err := rp.DescribeRestoreJob(ctx, locDR, j.JobID); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Fatalf("job read in another Region: %v", err)
	}
	if w.Calls()["GetRecoveryPointRestoreMetadata"] != 2 {
		t.Fatalf("calls %v", w.Calls())
	}
}
