package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/ruleset"
)

// APIPrefix is where the rules API lives.
const APIPrefix = "/api/v1/rules"

// routes adds the API's routes: everything under /api checks the Host
// header, then the token.
func (s *Server) routes() {
	api := http.NewServeMux()
	api.HandleFunc("GET "+APIPrefix, s.list)
	api.HandleFunc("POST "+APIPrefix, s.create)
	api.HandleFunc("GET "+APIPrefix+"/{id}", s.get)
	api.HandleFunc("PUT "+APIPrefix+"/{id}", s.replace)
	api.HandleFunc("PATCH "+APIPrefix+"/{id}", s.patch)
	api.HandleFunc("DELETE "+APIPrefix+"/{id}", s.delete)
	api.HandleFunc("POST "+APIPrefix+"/{id}/enable", s.enable(true))
	api.HandleFunc("POST "+APIPrefix+"/{id}/disable", s.enable(false))
	api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		problem(w, http.StatusNotFound, "not-found", fmt.Sprintf("no API route %s %s", r.Method, r.URL.Path))
	})
	s.mux.Handle("/api/", s.ownHost(s.authorized(s.limited(api))))
}

// limited caps request bodies at Config.MaxBody: a larger Content-Length
// is refused at once, a body without one when readBody reaches the cap.
func (s *Server) limited(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.ContentLength > s.cfg.MaxBody {
			s.tooLarge(w)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
		h.ServeHTTP(w, r)
	})
}

// tooLarge answers 413.
func (s *Server) tooLarge(w http.ResponseWriter) {
	problem(w, http.StatusRequestEntityTooLarge, "too-large", fmt.Sprintf("the request body is larger than %d bytes", s.cfg.MaxBody))
}

// readBody reads the request body, capped by limited. It answers the
// request itself (413, or 400 when the body cannot be read) and returns
// false when there is no body to use.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.tooLarge(w)
		return nil, false
	case err != nil:
		problem(w, http.StatusBadRequest, "bad-body", "the request body could not be read")
		return nil, false
	}
	return data, true
}

// Rule is a runtime rule as the API shows it: the rules file's fields, and
// what the server knows about the rule.
type Rule struct {
	ruleset.RuleFields
	// Enabled rules take part in the rule set.
	Enabled bool `json:"enabled"`
	// State is "active", "scheduled" (its window has not begun), "expired"
	// (its window has ended), "disabled", or "shadowed" (left out of the
	// live rules: a file rule wins over it; ShadowedBy says why).
	State      string `json:"state"`
	ShadowedBy string `json:"shadowed_by,omitempty"`
	// Version is the rule's ETag, unquoted.
	Version   int64      `json:"version"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	Hits      uint64     `json:"hits"`
	LastHit   *time.Time `json:"last_hit"`
}

// RuleList is a page of the list.
type RuleList struct {
	Rules []Rule `json:"rules"`
	// NextCursor, when set, fetches the next page (?cursor=).
	NextCursor string `json:"next_cursor,omitempty"`
}

// readOnly are the fields of Rule a client may send back (from a GET) but
// does not set.
var readOnly = []string{"enabled", "state", "shadowed_by", "version", "created_at", "updated_at", "hits", "last_hit"}

// view builds the API's view of rr.
func (s *Server) view(rr *detour.RuntimeRule, now time.Time) Rule {
	v := Rule{
		RuleFields: ruleset.Fields(&rr.Rule),
		Enabled:    rr.Enabled,
		Version:    rr.Version,
		CreatedAt:  rr.CreatedAt,
		UpdatedAt:  rr.UpdatedAt,
		Hits:       rr.Hits,
	}
	last := rr.LastHit
	if st := s.cfg.Reloader.RuleStats(); st != nil {
		n, l := st.Unflushed(rr.Rule.ID)
		v.Hits += n
		if l.After(last) {
			last = l
		}
	}
	if !last.IsZero() {
		last = last.UTC()
		v.LastHit = &last
	}
	switch why := s.cfg.Reloader.Shadowed(rr.Rule.ID); {
	case !rr.Enabled:
		v.State = "disabled"
	case why != "":
		v.State, v.ShadowedBy = "shadowed", why
	case !rr.Rule.Window.Start.IsZero() && now.Before(rr.Rule.Window.Start):
		v.State = "scheduled"
	case !rr.Rule.Window.End.IsZero() && !now.Before(rr.Rule.Window.End):
		v.State = "expired"
	default:
		v.State = "active"
	}
	return v
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// writeRule answers with rr, its ETag and status.
func (s *Server) writeRule(w http.ResponseWriter, status int, rr *detour.RuntimeRule) {
	w.Header().Set("ETag", etag(rr.Version))
	writeJSON(w, status, s.view(rr, s.cfg.Now()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// store returns the reloader's store, or answers 503.
func (s *Server) ready(w http.ResponseWriter) bool {
	if s.cfg.Reloader == nil || s.cfg.Reloader.Store() == nil {
		problem(w, http.StatusServiceUnavailable, "unavailable", "this server has no rule store")
		return false
	}
	return true
}

// list answers GET /api/v1/rules?host=&path_prefix=&enabled=&active=&limit=&cursor=.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if !s.ready(w) {
		return
	}
	q := r.URL.Query()
	f := detour.RuleFilter{Host: q.Get("host"), PathPrefix: q.Get("path_prefix"), After: q.Get("cursor")}
	var errs []FieldError
	if v := q.Get("enabled"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, FieldError{Field: "enabled", Message: fmt.Sprintf("must be true or false, got %q", v)})
		}
		f.Enabled = &b
	}
	now := s.cfg.Now()
	if v := q.Get("active"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, FieldError{Field: "active", Message: fmt.Sprintf("must be true or false, got %q", v)})
		}
		if b {
			f.ActiveAt = now
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > detour.MaxListLimit {
			errs = append(errs, FieldError{Field: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d, got %q", detour.MaxListLimit, v)})
		}
		f.Limit = n
	}
	if len(errs) > 0 {
		problem(w, http.StatusBadRequest, "bad-query", "the query parameters are wrong", errs...)
		return
	}
	page, err := s.cfg.Reloader.Store().ListRules(r.Context(), f)
	if err != nil {
		if detour.ErrorCode(err) == detour.EINVALID {
			problem(w, http.StatusBadRequest, "bad-query", detour.ErrorMessage(err), FieldError{Field: "cursor", Message: detour.ErrorMessage(err)})
			return
		}
		s.writeError(w, r, err)
		return
	}
	out := RuleList{Rules: make([]Rule, 0, len(page.Rules)), NextCursor: page.Next}
	for _, rr := range page.Rules {
		out.Rules = append(out.Rules, s.view(rr, now))
	}
	if page.Next != "" {
		next := *r.URL
		nq := next.Query()
		nq.Set("cursor", page.Next)
		next.RawQuery = nq.Encode()
		w.Header().Set("Link", "<"+next.RequestURI()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, out)
}

// get answers GET /api/v1/rules/{id}.
func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	if !s.ready(w) {
		return
	}
	rr, err := s.cfg.Reloader.Store().Rule(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeRule(w, http.StatusOK, rr)
}

// body reads the request's rule: JSON with the rules file's fields (and
// optionally "enabled", default true). It answers 400, 413 or 422 itself
// and returns false when the body will not do.
func (s *Server) body(w http.ResponseWriter, r *http.Request) (rule detour.Rule, enabled bool, hasID bool, ok bool) {
	data, ok := s.readBody(w, r)
	if !ok {
		return rule, false, false, false
	}
	var head struct {
		ID      *string `json:"id"`
		Enabled *bool   `json:"enabled"`
	}
	if len(bytes.TrimSpace(data)) == 0 {
		problem(w, http.StatusBadRequest, "bad-body", "the request body is empty; send the rule as a JSON object with from and to")
		return rule, false, false, false
	}
	if err := json.Unmarshal(data, &head); err != nil {
		problem(w, http.StatusBadRequest, "bad-body", "the request body is not a JSON object: "+err.Error())
		return rule, false, false, false
	}
	rule, diags := ruleset.DecodeRule(data, "request", readOnly...)
	if diags.HasErrors() {
		problem(w, http.StatusUnprocessableEntity, "invalid", "the rule is invalid: "+diags.Errors()[0].Message, fieldErrors(diags, "")...)
		return rule, false, false, false
	}
	rule.Source = detour.Source{}
	enabled = head.Enabled == nil || *head.Enabled
	return rule, enabled, head.ID != nil, true
}

// create answers POST /api/v1/rules: 201 with Location and ETag.
func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	if !s.ready(w) {
		return
	}
	rule, enabled, _, ok := s.body(w, r)
	if !ok {
		return
	}
	rr, err := s.cfg.Reloader.CreateRule(r.Context(), rule, enabled)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", APIPrefix+"/"+url.PathEscape(rr.Rule.ID))
	s.writeRule(w, http.StatusCreated, rr)
}

// ifMatch returns the version an If-Match header names: 0 for "*" or no
// header (required says whether that is allowed: 428 otherwise). It
// answers the request itself and returns false when the header is bad.
func ifMatch(w http.ResponseWriter, r *http.Request, required bool) (int64, bool) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	switch {
	case v == "" && required:
		problem(w, http.StatusPreconditionRequired, "precondition-required",
			`replacing a rule needs If-Match with the ETag of the rule as last read (GET it first), or If-Match: * to replace whatever is there`)
		return 0, false
	case v == "" || v == "*":
		return 0, true
	}
	n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	if err != nil || n <= 0 || !strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) || len(v) < 3 {
		problem(w, http.StatusPreconditionFailed, "precondition", fmt.Sprintf("If-Match %q is not an ETag this server gave (a weak or unknown tag never matches)", v))
		return 0, false
	}
	return n, true
}

// replace answers PUT /api/v1/rules/{id}; If-Match is required.
func (s *Server) replace(w http.ResponseWriter, r *http.Request) {
	if !s.ready(w) {
		return
	}
	id := r.PathValue("id")
	version, ok := ifMatch(w, r, true)
	if !ok {
		return
	}
	rule, enabled, hasID, ok := s.body(w, r)
	if !ok {
		return
	}
	switch {
	case !hasID:
		rule.ID = id
	case rule.ID != id:
		problem(w, http.StatusUnprocessableEntity, "invalid", fmt.Sprintf("the id in the body (%q) is not the id in the URL (%q); to rename a rule, create the new one and delete the old", rule.ID, id),
			FieldError{Field: "id", Message: fmt.Sprintf("must be %q, the id in the URL", id)})
		return
	}
	rr, err := s.cfg.Reloader.ReplaceRule(r.Context(), rule, enabled, version)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeRule(w, http.StatusOK, rr)
}

// delete answers DELETE /api/v1/rules/{id}: 204. If-Match is optional.
func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	if !s.ready(w) {
		return
	}
	version, ok := ifMatch(w, r, false)
	if !ok {
		return
	}
	if err := s.cfg.Reloader.DeleteRule(r.Context(), r.PathValue("id"), version); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// enable answers POST /api/v1/rules/{id}/enable and …/disable: 200 with
// the rule. If-Match is optional.
func (s *Server) enable(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.ready(w) {
			return
		}
		s.setEnabled(w, r, on)
	}
}

func (s *Server) setEnabled(w http.ResponseWriter, r *http.Request, on bool) {
	version, ok := ifMatch(w, r, false)
	if !ok {
		return
	}
	rr, err := s.cfg.Reloader.SetEnabled(r.Context(), r.PathValue("id"), on, version)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeRule(w, http.StatusOK, rr)
}

// patch answers PATCH /api/v1/rules/{id} with {"enabled": true|false},
// the one field that can be patched.
func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	if !s.ready(w) {
		return
	}
	data, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(data, &p) != nil {
		problem(w, http.StatusBadRequest, "bad-body", `PATCH takes a JSON object: {"enabled": true} or {"enabled": false}`)
		return
	}
	var errs []FieldError
	var on bool
	for k, v := range p {
		if k != "enabled" {
			errs = append(errs, FieldError{Field: k, Message: "cannot be patched; only enabled can (replace the rule with PUT to change the rest)"})
			continue
		}
		if json.Unmarshal(v, &on) != nil {
			errs = append(errs, FieldError{Field: "enabled", Message: "must be true or false"})
		}
	}
	if _, ok := p["enabled"]; !ok && len(errs) == 0 {
		errs = append(errs, FieldError{Field: "enabled", Message: "missing: PATCH sets enabled"})
	}
	if len(errs) > 0 {
		problem(w, http.StatusUnprocessableEntity, "invalid", errs[0].Field+": "+errs[0].Message, errs...)
		return
	}
	s.setEnabled(w, r, on)
}
