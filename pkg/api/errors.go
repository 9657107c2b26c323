package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

// Error codes of the HTTP layer itself, beside the engine's codes.
const (
	ETOOLARGE       = "too_large"          // the request body exceeds the limit
	EMETHOD         = "method_not_allowed" // the path exists, the method does not
	ENOTIMPLEMENTED = "not_implemented"    // the deployment lacks what the route needs
)

// status maps an error code to its HTTP status. It is the only place that
// does: handlers return errors with codes, never statuses.
func status(code string) int {
	switch code {
	case engine.EINVALID:
		return http.StatusBadRequest
	case engine.EDENIED:
		return http.StatusForbidden
	case engine.ENOTFOUND:
		return http.StatusNotFound
	case EMETHOD:
		return http.StatusMethodNotAllowed
	case engine.ECONFLICT:
		return http.StatusConflict
	case engine.EPRECONDITION:
		return http.StatusPreconditionFailed
	case ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case engine.ETHROTTLED:
		return http.StatusTooManyRequests
	case ENOTIMPLEMENTED:
		return http.StatusNotImplemented
	case engine.EUNAVAIL:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// ErrorBody is the JSON body of every error response. Errors lists every
// problem of an invalid document or query, each at its JSON path (for a
// policy, for example "copies.mappings[1].targetRegion"; for a query
// parameter, its name).
type ErrorBody struct {
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Errors  []policy.Problem `json:"errors,omitempty"`
}

// writeError answers with err's code and message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := engine.ErrorCode(err)
	// An *engine.Error's message is written for the admin; any other
	// error's text may name tables, ARNs or code paths, so it stays in the
	// log.
	body := ErrorBody{Code: code, Message: "internal error; the server log has the details"}
	var e *engine.Error
	if errors.As(err, &e) {
		body.Message = e.Message
	}
	var probs policy.Problems
	var fields engine.RequestProblems
	switch {
	case errors.As(err, &probs):
		body.Errors = probs
	case errors.As(err, &fields):
		for _, f := range fields {
			body.Errors = append(body.Errors, problem{Path: f.Field, Message: f.Message})
		}
	}
	st := status(code)
	if st >= 500 {
		s.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", code, "error", err)
	}
	if code == engine.ETHROTTLED || code == engine.EUNAVAIL {
		w.Header().Set("Retry-After", strconv.Itoa(5))
	}
	writeJSON(w, st, body)
}

// problem is one entry of an error body's list.
type problem = policy.Problem

// invalid returns an EINVALID error that carries problems for the body.
func invalid(message string, probs policy.Problems) error {
	return &engine.Error{Code: engine.EINVALID, Message: message, Err: probs}
}
