package detour

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the admin API.
const (
	EINVALID      = "invalid"      // the input is wrong: 400 or 422
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // 409
	EPRECONDITION = "precondition" // 412: a stale If-Match
	EUNAVAILABLE  = "unavailable"  // 503: a dependency is down
	EUNAUTHORIZED = "unauthorized" // 401
	EINTERNAL     = "internal"     // 500
)

// Error is an application error: a code to branch on and a message that is
// safe to show a user. Causes for the log are wrapped separately.
type Error struct {
	Code    string
	Message string
	// Diagnostics, when set, are the findings behind an EINVALID or
	// ECONFLICT error, each naming its field.
	Diagnostics Diagnostics
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain,
// EINTERNAL for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err: the *Error's message,
// or "internal error".
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "internal error"
}
