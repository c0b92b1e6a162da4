// Package check runs expectations against a live HTTP server and reports,
// case by case, whether it redirects as intended (SPEC §5.2): the command
// `detour check` is built on it.
//
// A Case is one request and what its response must be: the status, the
// Location header, and optionally the status at the end of the redirect
// chain and the number of redirects followed on the way. Cases come from a
// YAML expectations file (Load, Parse) or are derived from a rule set
// (FromRules), so that any server claiming to implement the rule set —
// detour, nginx, Apache, a CDN — can be verified against it. A Runner sends
// them concurrently over a bounded number of connections and returns a
// Report, which WriteText, WriteJSON and WriteJUnit render.
//
// Locations are compared after resolution against the request URL (see
// follow.Resolve), so "/new" and "http://example.com/new" are the same
// answer to a request for http://example.com/old, as they are to every
// client; Runner.ExactLocation compares the header's text instead.
package check

import (
	"strconv"
	"strings"
)

// Case is one request and the response expected for it.
//
// A Case is a plain value; the Runner does not change it.
type Case struct {
	// Name names the case in reports; "" means Title's default.
	Name string
	// Source says where the case came from, for reports: "file:line" of
	// an expectations file, or the rule's "file:line" for a derived case.
	// It may be empty.
	Source string
	// Request is what is sent.
	Request Request
	// Expect is what the response must be.
	Expect Expect
}

// Title returns c.Name, or, when that is empty, "METHOD URL" followed by
// the Host header in brackets when the request sets one.
func (c *Case) Title() string {
	if c.Name != "" {
		return c.Name
	}
	s := c.Request.method() + " " + c.Request.URL
	if h := c.Request.Host(); h != "" {
		s += " [Host: " + h + "]"
	}
	return s
}

// Request is the request of a Case.
type Request struct {
	// Method is the request method; "" means GET.
	Method string
	// URL is an absolute http or https URL, or a path beginning with "/"
	// (and optionally "?query") that the Runner appends to its Base. It
	// is sent as written: escapes, dot segments and doubled slashes are
	// not touched.
	URL string
	// Headers are sent in order. A Host header sets the request's Host
	// (the URL still says where to connect).
	Headers []Header
	// Body is sent as the request body when it is not empty.
	Body string
}

// Header is one request header.
type Header struct {
	Name  string
	Value string
}

// method returns r's method, GET when empty.
func (r *Request) method() string {
	if r.Method == "" {
		return "GET"
	}
	return r.Method
}

// Host returns the value of r's Host header, or "".
func (r *Request) Host() string {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, "Host") {
			return h.Value
		}
	}
	return ""
}

// Expect is what the response to a Case's request must be. A zero or nil
// field is not checked; at least one field is set in a case read from a
// file.
type Expect struct {
	// Status is the status code of the first response; 0: not checked.
	Status int
	// Location is the Location header of the first response: nil is not
	// checked, a pointer to "" means the response must have none.
	Location *string
	// FinalStatus is the status code at the end of the redirect chain,
	// followed with package follow; 0: not checked.
	FinalStatus int
	// Hops is the number of redirects followed to reach the end of the
	// chain; nil: not checked.
	Hops *int
}

// follows reports whether e needs the redirect chain followed.
func (e *Expect) follows() bool { return e.FinalStatus != 0 || e.Hops != nil }

// String returns e as the YAML flow mapping of an expectations file, for
// messages: {status: 307, location: /temporary-resource}.
func (e Expect) String() string {
	var parts []string
	if e.Status != 0 {
		parts = append(parts, "status: "+strconv.Itoa(e.Status))
	}
	if e.Location != nil {
		if *e.Location == "" {
			parts = append(parts, "location: null")
		} else {
			parts = append(parts, "location: "+strconv.Quote(*e.Location))
		}
	}
	if e.FinalStatus != 0 {
		parts = append(parts, "final_status: "+strconv.Itoa(e.FinalStatus))
	}
	if e.Hops != nil {
		parts = append(parts, "hops: "+strconv.Itoa(*e.Hops))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
