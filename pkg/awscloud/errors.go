package awscloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// errorCodes maps AWS error codes (smithy.APIError.ErrorCode, the same
// strings across Backup, EFS, Organizations, SQS, SNS and STS) to engine
// codes. Codes not listed fall back on the HTTP status (see codeOf).
var errorCodes = map[string]string{
	// The thing is not there (any more).
	"ResourceNotFoundException":               engine.ENOTFOUND, // Backup, also GetBackupVaultAccessPolicy without policy
	"FileSystemNotFound":                      engine.ENOTFOUND, // EFS
	"MountTargetNotFound":                     engine.ENOTFOUND,
	"ParentNotFoundException":                 engine.ENOTFOUND, // Organizations: unknown OU or root
	"AccountNotFoundException":                engine.ENOTFOUND,
	"NotFound":                                engine.ENOTFOUND, // SNS topic
	"NotFoundException":                       engine.ENOTFOUND,
	"QueueDoesNotExist":                       engine.ENOTFOUND, // SQS (JSON protocol)
	"AWS.SimpleQueueService.NonExistentQueue": engine.ENOTFOUND, // SQS (query-compatible code)

	// Slow down. The SDK has retried these already (MaxAttempts); what is
	// left is for the caller to retry later. LimitExceededException is
	// AWS Backup's answer to too many concurrent jobs: also "later".
	"Throttling":                engine.ETHROTTLED,
	"ThrottlingException":       engine.ETHROTTLED,
	"ThrottledException":        engine.ETHROTTLED,
	"TooManyRequestsException":  engine.ETHROTTLED,
	"RequestLimitExceeded":      engine.ETHROTTLED,
	"RequestThrottled":          engine.ETHROTTLED,
	"RequestThrottledException": engine.ETHROTTLED,
	"LimitExceededException":    engine.ETHROTTLED,
	"SlowDown":                  engine.ETHROTTLED,

	// A role or policy is missing something: an admin must act.
	"AccessDenied":                       engine.EDENIED,
	"AccessDeniedException":              engine.EDENIED,
	"AccessDeniedForDependencyException": engine.EDENIED,
	"AuthorizationError":                 engine.EDENIED, // SNS
	"UnauthorizedOperation":              engine.EDENIED, // EC2
	"AuthFailure":                        engine.EDENIED,
	"InvalidClientTokenId":               engine.EDENIED,
	"UnrecognizedClientException":        engine.EDENIED,
	"ExpiredToken":                       engine.EDENIED,
	"ExpiredTokenException":              engine.EDENIED,
	"SignatureDoesNotMatch":              engine.EDENIED,
	"IncompleteSignature":                engine.EDENIED,
	"RegionDisabledException":            engine.EDENIED, // STS in an opted-out Region

	// The request is wrong: retrying the same request will not help.
	"InvalidRequestException":        engine.EINVALID,
	"InvalidParameterValueException": engine.EINVALID,
	"MissingParameterValueException": engine.EINVALID,
	"InvalidParameterException":      engine.EINVALID,
	"InvalidParameter":               engine.EINVALID,
	"InvalidInputException":          engine.EINVALID,
	"ValidationException":            engine.EINVALID,
	"ValidationError":                engine.EINVALID,
	"BadRequest":                     engine.EINVALID, // EFS

	// The resource exists but its state forbids the call now (AWS Backup:
	// "already performing an action on this recovery point"; a vault
	// being created). Not ECONFLICT: the engine reads ECONFLICT as "a
	// conditional write lost", i.e. someone else did the work, which is
	// not what happened here. EPRECONDITION tells the caller to try again
	// later without pretending the work was done.
	"InvalidResourceStateException":     engine.EPRECONDITION,
	"IncorrectFileSystemLifeCycleState": engine.EPRECONDITION,
	"AWSOrganizationsNotInUseException": engine.EPRECONDITION,

	// The call collided with an equal one, or the thing already exists.
	"AlreadyExistsException": engine.ECONFLICT,
	"ConflictException":      engine.ECONFLICT,

	// AWS is having a bad moment.
	"ServiceUnavailableException": engine.EUNAVAIL,
	"ServiceUnavailable":          engine.EUNAVAIL,
	"DependencyFailureException":  engine.EUNAVAIL,
	"InternalFailure":             engine.EUNAVAIL,
	"InternalServerError":         engine.EUNAVAIL,
	"ServiceException":            engine.EUNAVAIL,
}

// codeOf returns the engine code for an error from the SDK.
func codeOf(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if code, ok := errorCodes[ae.ErrorCode()]; ok {
			return code
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch s := re.HTTPStatusCode(); {
		case s == 0:
			// The request never got an answer (connection refused, DNS,
			// timeouts), even after the SDK's retries.
			return engine.EUNAVAIL
		case s == http.StatusNotFound:
			return engine.ENOTFOUND
		case s == http.StatusForbidden || s == http.StatusUnauthorized:
			return engine.EDENIED
		case s == http.StatusTooManyRequests:
			return engine.ETHROTTLED
		case s >= 500:
			return engine.EUNAVAIL
		}
		return engine.EINTERNAL
	}
	if ae != nil && ae.ErrorFault() == smithy.FaultServer {
		return engine.EUNAVAIL
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return engine.EUNAVAIL
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		// No answer at all (connection refused, DNS, retries exhausted on
		// network errors): the dependency is down.
		return engine.EUNAVAIL
	}
	return engine.EINTERNAL
}

// wrap turns an SDK error into an *engine.Error that names the step and
// the resource, e.g. "start backup of fs-0abc in 111122223333/eu-west-1".
// An *engine.Error passes through with the step prefixed.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf(format, args...)
	var ee *engine.Error
	if errors.As(err, &ee) {
		return &engine.Error{Code: ee.Code, Message: msg, Err: err}
	}
	return &engine.Error{Code: codeOf(err), Message: msg, Err: err}
}
