package engine

import (
	"errors"
	"fmt"
)

// Error codes. They are mapped to HTTP statuses in exactly one place (pkg/api)
// and let callers branch without matching message text.
const (
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"  // a conditional write lost: version or existence check failed
	EINVALID      = "invalid"   // the request or document is malformed
	ETHROTTLED    = "throttled" // the AWS API asked us to slow down; retry later
	EDENIED       = "access_denied"
	EINTERNAL     = "internal"
	EUNAVAIL      = "unavailable" // a dependency is down; retry later
	EPRECONDITION = "precondition"
)

// Error is an engine error with a code and a message meant for the admin.
type Error struct {
	Code    string
	Message string
	Err     error // the cause, if any
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for other non-nil errors and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// IsNotFound reports whether err has code ENOTFOUND.
func IsNotFound(err error) bool { return ErrorCode(err) == ENOTFOUND }

// IsConflict reports whether err has code ECONFLICT.
func IsConflict(err error) bool { return ErrorCode(err) == ECONFLICT }

// IsThrottled reports whether err has code ETHROTTLED.
func IsThrottled(err error) bool { return ErrorCode(err) == ETHROTTLED }
