package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/detourhttp/detour"
)

// statusOf is the one table that maps detour.Error codes to HTTP statuses.
var statusOf = map[string]int{
	detour.EINVALID:      http.StatusUnprocessableEntity,
	detour.ENOTFOUND:     http.StatusNotFound,
	detour.ECONFLICT:     http.StatusConflict,
	detour.EPRECONDITION: http.StatusPreconditionFailed,
	detour.EUNAVAILABLE:  http.StatusServiceUnavailable,
	detour.EUNAUTHORIZED: http.StatusUnauthorized,
	detour.EINTERNAL:     http.StatusInternalServerError,
}

// ProblemType is the prefix of the type URI of every problem the API
// answers with; the rest is a short word ("invalid", "conflict", …).
const ProblemType = "urn:detour:problem:"

// Problem is an RFC 9457 problem document (application/problem+json).
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Errors name each field at fault, for validation problems.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one field at fault: its name as the rules file names it
// ("to", "window.end") and the message the rules file would get.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// Rule is the id of the rule concerned, when it is not the one sent.
	Rule string `json:"rule,omitempty"`
	// Code is the kind of finding ("invalid", "tie", "unknown-field"…).
	Code string `json:"code,omitempty"`
}

// writeProblem writes p.
func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	b, err := json.Marshal(p)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	w.Write(append(b, '\n'))
}

// problem writes a problem of kind (the type's last word) with status.
func problem(w http.ResponseWriter, status int, kind, detail string, errs ...FieldError) {
	writeProblem(w, Problem{Type: ProblemType + kind, Status: status, Detail: detail, Errors: errs})
}

// writeError answers with the problem of err: its code's status, its
// user-safe message and the diagnostics behind it. Errors that are not
// the client's fault go to the log with their cause.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := detour.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = detour.EINTERNAL, http.StatusInternalServerError
	}
	if status >= 500 {
		s.cfg.Log.Error("admin API", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	p := Problem{Type: ProblemType + strings.ReplaceAll(code, "_", "-"), Status: status, Detail: detour.ErrorMessage(err)}
	var de *detour.Error
	if errors.As(err, &de) {
		p.Errors = fieldErrors(de.Diagnostics, "")
	}
	writeProblem(w, p)
}

// fieldErrors converts the errors among ds; self is the id of the rule
// sent, which is not repeated.
func fieldErrors(ds detour.Diagnostics, self string) []FieldError {
	var out []FieldError
	for _, d := range ds {
		if d.Severity != detour.SeverityError {
			continue
		}
		fe := FieldError{Field: d.Field, Message: d.Message, Code: d.Code}
		if d.Rule != self {
			fe.Rule = d.Rule
		}
		out = append(out, fe)
	}
	return out
}
