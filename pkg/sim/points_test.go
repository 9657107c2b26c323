package sim

import (
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

func TestLifecycleDeletesWithinEightHoursOfExpiry(t *testing.T) {
	w := testWorld(t, Faults{}, gib)
	var arns []string
	for i := range 20 {
		req := backupReq("tok" + string(rune('a'+i)))
		req.Lifecycle = &engine.Lifecycle{DeleteAfterDays: 2}
		arns = append(arns, mustStart(t, w, req).RecoveryPointArn)
		w.Advance(6 * time.Hour)
	}
	w.Advance(5 * 24 * time.Hour)
	var spread time.Duration
	for _, arn := range arns {
		p := pointByArn(w, arn)
		if !p.Gone || p.DeletedBy != DeletedByLifecycle {
			t.Fatalf("point %+v not deleted by lifecycle", p)
		}
		late := p.DeletedAt.Sub(p.DeleteAt)
		if late < 0 || late > 8*time.Hour {
			t.Fatalf("deleted %v after expiry, want within 8 h", late)
		}
		spread = max(spread, late)
		if _, err := w.Backup().DescribeRecoveryPoint(ctx, locA, "primary", arn); !engine.IsNotFound(err) {
			t.Fatalf("a deleted point is still described: %v", err)
		}
	}
	if spread < time.Hour {
		t.Errorf("deletions all within %v of expiry: not randomized over 8 h", spread)
	}
	// Gone points leave the lookup map (rpList keeps them for reports).
	if w.rpIdx.len() != 0 || len(w.rpList) != len(arns) {
		t.Errorf("%d points still looked up by ARN, %d listed; want 0 and %d", w.rpIdx.len(), len(w.rpList), len(arns))
	}
}

func TestColdStorageTransition(t *testing.T) {
	w := testWorld(t, Faults{}, gib)
	req := backupReq("tok")
	req.Lifecycle = &engine.Lifecycle{MoveToColdStorageAfterDays: 1, DeleteAfterDays: 91}
	sj := mustStart(t, w, req)
	w.Advance(12 * time.Hour)
	if p := pointByArn(w, sj.RecoveryPointArn); p.StorageClass != "WARM" {
		t.Fatalf("after 12 h: %s", p.StorageClass)
	}
	w.Advance(13 * time.Hour)
	rp, err := w.Backup().DescribeRecoveryPoint(ctx, locA, "primary", sj.RecoveryPointArn)
	if err != nil || rp.StorageClass != "COLD" {
		t.Fatalf("after a day: %+v %v, want COLD", rp, err)
	}
	// AWS does not copy cold points across Regions.
	cp := startCopy(t, w, sj.RecoveryPointArn, "c")
	w.Advance(2 * time.Hour)
	if j := jobByID(w, cp.JobID); j.State != engine.JobFailed {
		t.Fatalf("cross-Region copy of a cold point: %s", j.State)
	}
}

func TestDeleteRecoveryPoint(t *testing.T) {
	seven := int64(7)
	tests := []struct {
		name       string
		vault      VaultSpec
		setup      func(w *World)
		wantCode   string
		wantAWS    string
		wantStatus engine.RecoveryPointStatus // right after the call
		wantGone   bool                       // an hour later
	}{
		{name: "deleted", vault: VaultSpec{Name: "primary"}, wantStatus: engine.RPDeleting, wantGone: true},
		{name: "vault without permission", vault: VaultSpec{Name: "primary", DeleteWithoutPermission: true}, wantStatus: engine.RPExpired},
		{name: "account without permission", vault: VaultSpec{Name: "primary"},
			setup: func(w *World) { w.SetDeleteWithoutPermission(locA.Account, true) }, wantStatus: engine.RPExpired},
		{name: "locked vault", vault: VaultSpec{Name: "primary", Locked: true},
			wantCode: engine.EINVALID, wantAWS: ErrInvalidRequest, wantStatus: engine.RPCompleted},
		{name: "minimum retention not reached", vault: VaultSpec{Name: "primary", MinRetentionDays: &seven},
			wantCode: engine.EINVALID, wantAWS: ErrInvalidRequest, wantStatus: engine.RPCompleted},
		{name: "policy denies delete", vault: VaultSpec{Name: "primary", AccessPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"backup:Delete*","Resource":"*"}]}`},
			wantCode: engine.EDENIED, wantAWS: ErrAccessDenied, wantStatus: engine.RPCompleted},
		{name: "policy denies others only", vault: VaultSpec{Name: "primary", AccessPolicy: `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"backup:DeleteRecoveryPoint","Resource":"*","Condition":{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/efskeeper-member"}}}]}`},
			wantStatus: engine.RPDeleting, wantGone: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := testWorld(t, Faults{}, gib)
			w.AddVault(locA, tc.vault)
			if tc.setup != nil {
				tc.setup(w)
			}
			sj := mustStart(t, w, backupReq("tok"))
			w.Advance(3 * time.Hour)
			err := w.Backup().DeleteRecoveryPoint(ctx, locA, "primary", sj.RecoveryPointArn)
			if engine.ErrorCode(err) != tc.wantCode || awsCode(err) != tc.wantAWS {
				t.Fatalf("err %v, want %s/%s", err, tc.wantCode, tc.wantAWS)
			}
			rp, derr := w.Backup().DescribeRecoveryPoint(ctx, locA, "primary", sj.RecoveryPointArn)
			if derr != nil || rp.Status != tc.wantStatus {
				t.Fatalf("after delete: %+v %v, want %s", rp, derr, tc.wantStatus)
			}
			// Tags as pkg/awscloud reads them: none for a DELETING point
			// (it skips ListTags), the point's own otherwise.
			if hasTags := rp.Tags[engine.TagPolicy] != ""; hasTags != (tc.wantStatus != engine.RPDeleting) {
				t.Errorf("after delete, %s: tags %v", rp.Status, rp.Tags)
			}
			w.Advance(time.Hour)
			_, derr = w.Backup().DescribeRecoveryPoint(ctx, locA, "primary", sj.RecoveryPointArn)
			if engine.IsNotFound(derr) != tc.wantGone {
				t.Fatalf("an hour later: %v, want gone=%v", derr, tc.wantGone)
			}
			p := pointByArn(w, sj.RecoveryPointArn)
			if tc.wantGone && (p.DeletedBy != DeletedByEfskeeper || p.DeletedAt.IsZero()) {
				t.Errorf("deleted point info %+v", p)
			}
			if !tc.wantGone && !p.DeletedAt.IsZero() {
				t.Errorf("a point that stays has DeletedAt %v", p.DeletedAt)
			}
		})
	}
}

func TestDeleteRecoveryPointStates(t *testing.T) {
	w := testWorld(t, Faults{}, gib)
	sj := mustStart(t, w, backupReq("tok"))
	b := w.Backup()
	if err := b.DeleteRecoveryPoint(ctx, locA, "primary", sj.RecoveryPointArn); awsCode(err) != ErrInvalidResourceState {
		t.Fatalf("deleting a point being created: %v", err)
	}
	w.Advance(3 * time.Hour)
	if err := b.DeleteRecoveryPoint(ctx, locA, "dr", sj.RecoveryPointArn); !engine.IsNotFound(err) {
		t.Fatalf("deleting through the wrong vault: %v", err)
	}
	if err := b.DeleteRecoveryPoint(ctx, locA, "primary", sj.RecoveryPointArn); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteRecoveryPoint(ctx, locA, "primary", sj.RecoveryPointArn); err != nil {
		t.Fatalf("deleting a DELETING point again: %v", err)
	}
	w.Advance(time.Hour)
	if err := b.DeleteRecoveryPoint(ctx, locA, "primary", sj.RecoveryPointArn); !engine.IsNotFound(err) {
		t.Fatalf("deleting a gone point: %v", err)
	}
	if _, err := b.RecoveryPointTags(ctx, locA, sj.RecoveryPointArn); !engine.IsNotFound(err) {
		t.Fatalf("tags of a gone point: %v", err)
	}
}

func TestExpiredPointCanBeDeletedOncePermitted(t *testing.T) {
	w := testWorld(t, Faults{}, gib)
	w.SetDeleteWithoutPermission(locA.Account, true)
	sj := mustStart(t, w, backupReq("tok"))
	w.Advance(3 * time.Hour)
	b := w.Backup()
	if err := b.DeleteRecoveryPoint(ctx, locA, "primary", sj.RecoveryPointArn); err != nil {
		t.Fatal(err)
	}
	if p := pointByArn(w, sj.RecoveryPointArn); p.Status != engine.RPExpired || p.Gone {
		t.Fatalf("%+v", p)
	}
	w.SetDeleteWithoutPermission(locA.Account, false)
	if err := b.DeleteRecoveryPoint(ctx, locA, "primary", sj.RecoveryPointArn); err != nil {
		t.Fatal(err)
	}
	w.Advance(time.Hour)
	if p := pointByArn(w, sj.RecoveryPointArn); !p.Gone {
		t.Fatalf("%+v", p)
	}
}

func TestLifecycleOnlyExpiresWithoutPermission(t *testing.T) {
	w := testWorld(t, Faults{}, gib)
	w.AddVault(locA, VaultSpec{Name: "primary", DeleteWithoutPermission: true})
	req := backupReq("tok")
	req.Lifecycle = &engine.Lifecycle{DeleteAfterDays: 1}
	sj := mustStart(t, w, req)
	w.Advance(3 * 24 * time.Hour)
	if p := pointByArn(w, sj.RecoveryPointArn); p.Gone || p.Status != engine.RPExpired {
		t.Fatalf("%+v: want EXPIRED and still listed", p)
	}
}
