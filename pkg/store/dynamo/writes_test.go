package dynamo

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// TestStoredFromFailure: DynamoDB returns the stored item with a failed
// condition (ReturnValuesOnConditionCheckFailure); then no GetItem
// follows. dynalite never returns it, so the contract tests cannot show
// this path. The store has no client here: a call would panic.
func TestStoredFromFailure(t *testing.T) {
	s := &Store{table: "t", ops: map[string]int{}}
	stored := item{attrPK: str("RESTORE#r"), attrSK: str(skRestore), attrVersion: num(4)}
	err := fail(fmt.Errorf("operation error: %w", &types.ConditionalCheckFailedException{Item: stored}), "write restore %q", "r")
	if !engine.IsConflict(err) {
		t.Fatalf("code %q", engine.ErrorCode(err))
	}
	got, gerr := s.storedAfterFailure(context.Background(), err, "RESTORE#r", skRestore, "restore", "r")
	if gerr != nil || versionOf(got) != 4 || sOf(got, attrPK) != "RESTORE#r" {
		t.Fatalf("stored item %v, %v", got, gerr)
	}
	if n := len(s.Ops()); n != 0 {
		t.Fatalf("calls made: %v", s.Ops())
	}
}

// TestJobsKeyIgnoresOrder: the digest is of the set of job ids, so that
// reordered jobs need no pointer work, while any added id changes it.
func TestJobsKeyIgnoresOrder(t *testing.T) {
	a, b := jobsKey([]string{"j1", "j2"}), jobsKey([]string{"j2", "j1"})
	if a != b || a == jobsKey([]string{"j1"}) || a == jobsKey(nil) {
		t.Fatalf("jobsKey: %s %s", a, b)
	}
}
