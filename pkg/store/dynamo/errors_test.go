package dynamo

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

func TestFailCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
	}{
		{&types.ConditionalCheckFailedException{}, engine.ECONFLICT},
		{&types.ProvisionedThroughputExceededException{}, engine.ETHROTTLED},
		{&types.RequestLimitExceeded{}, engine.ETHROTTLED},
		{&types.ThrottlingException{}, engine.ETHROTTLED},
		{&smithy.GenericAPIError{Code: "ThrottlingException"}, engine.ETHROTTLED},
		{&smithy.GenericAPIError{Code: "ValidationException"}, engine.EINVALID},
		{&types.ResourceNotFoundException{}, engine.EUNAVAIL},
		{fmt.Errorf("send: %w", context.DeadlineExceeded), engine.EUNAVAIL},
		{errors.New("boom"), engine.EINTERNAL},
	} {
		err := fail(fmt.Errorf("operation error: %w", tc.err), "write task %q", "t1")
		if got := engine.ErrorCode(err); got != tc.code {
			t.Errorf("%T: code %q, want %q", tc.err, got, tc.code)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%T: the cause is not kept", tc.err)
		}
	}
}
