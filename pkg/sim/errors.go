package sim

import (
	"fmt"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// APIError is the error the real AWS API would have returned. The ports
// return it wrapped in an *engine.Error whose Code is the engine's
// classification, so callers branch on engine codes while tests can still
// check the exact AWS error with errors.As.
//
// The mapping is pkg/awscloud's (errors.go there), so that the engine sees
// the same codes from the simulator as from AWS:
//
//	ResourceNotFoundException, ParentNotFoundException  -> engine.ENOTFOUND
//	InvalidParameterValueException, InvalidRequestException -> engine.EINVALID
//	InvalidResourceStateException                          -> engine.EPRECONDITION
//	AccessDeniedException                                   -> engine.EDENIED
//	ThrottlingException                                     -> engine.ETHROTTLED
type APIError struct {
	Code    string // the AWS error code, e.g. "InvalidRequestException"
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// AWS error codes the simulator returns.
const (
	ErrResourceNotFound      = "ResourceNotFoundException"
	ErrParentNotFound        = "ParentNotFoundException"
	ErrInvalidParameterValue = "InvalidParameterValueException"
	ErrInvalidRequest        = "InvalidRequestException"
	ErrInvalidResourceState  = "InvalidResourceStateException"
	ErrAccessDenied          = "AccessDeniedException"
	ErrThrottling            = "ThrottlingException"
)

var engineCode = map[string]string{
	ErrResourceNotFound:      engine.ENOTFOUND,
	ErrParentNotFound:        engine.ENOTFOUND,
	ErrInvalidParameterValue: engine.EINVALID,
	ErrInvalidRequest:        engine.EINVALID,
	ErrInvalidResourceState:  engine.EPRECONDITION,
	ErrAccessDenied:          engine.EDENIED,
	ErrThrottling:            engine.ETHROTTLED,
}

// apiError builds the engine error for a failed call: step says what was
// attempted on which resource, the APIError what AWS answered.
func apiError(awsCode, step, format string, args ...any) error {
	return &engine.Error{
		Code:    engineCode[awsCode],
		Message: step,
		Err:     &APIError{Code: awsCode, Message: fmt.Sprintf(format, args...)},
	}
}
