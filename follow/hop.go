package follow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Hop is the record of one request of a chain and the response it got.
// It is a plain value: a Hop holds no connection and needs no closing.
type Hop struct {
	// Method and URL of the request. The URL's password, if it has one,
	// is shown as "xxxxx" (url.URL.Redacted); its fragment is the one
	// the chain carries (RFC 9110 §10.2.2), though it is never sent.
	Method string
	URL    string

	// Status is the response's status code.
	Status int

	// Location is the response's Location header as received, or "".
	Location string

	// Duration runs from sending the request to receiving the response
	// headers, measured with Client.Now.
	Duration time.Duration

	// Changes lists, in words, what the client changed in the request
	// before the next hop: "method POST→GET", "body dropped",
	// "Content-Type dropped", "Authorization dropped (cross-origin)",
	// "waited 2s (Retry-After)". Empty for the last hop.
	Changes []string

	// BodyReplayed reports whether this request sent again the body of an
	// earlier one (after a 307 or 308, or a 301/302 that kept the method).
	BodyReplayed bool

	// RetryAfter is the delay the response's Retry-After header asked
	// for, or 0. Waited is how long the client waited before the next hop
	// because of it (see Client.RetryAfterMax).
	RetryAfter time.Duration
	Waited     time.Duration
}

// String returns the hop on one line, as `detour trace` prints it:
//
//	307 POST http://example.com/a 12ms → /b
//	302 POST http://example.com/b 3ms → /c; method POST→GET, body dropped
func (h Hop) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s %s %s", h.Status, h.Method, h.URL, roundDuration(h.Duration))
	if h.Location != "" {
		fmt.Fprintf(&b, " → %s", h.Location)
	}
	if len(h.Changes) > 0 {
		b.WriteString("; ")
		b.WriteString(strings.Join(h.Changes, ", "))
	}
	return b.String()
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d
}

// hopJSON is a Hop in the shape of SPEC §8.
type hopJSON struct {
	Method       string   `json:"method"`
	URL          string   `json:"url"`
	Status       int      `json:"status"`
	Location     string   `json:"location"`
	DurationMS   float64  `json:"duration_ms"`
	Changes      []string `json:"changes"`
	BodyReplayed bool     `json:"body_replayed"`
}

// MarshalJSON encodes h as one element of "hops" in `detour trace --json`:
// {"method","url","status","location","duration_ms","changes","body_replayed"}.
// duration_ms has microsecond precision; changes is [] when empty.
func (h Hop) MarshalJSON() ([]byte, error) {
	changes := h.Changes
	if changes == nil {
		changes = []string{}
	}
	return marshal(hopJSON{
		Method:       h.Method,
		URL:          h.URL,
		Status:       h.Status,
		Location:     h.Location,
		DurationMS:   float64(h.Duration.Microseconds()) / 1000,
		Changes:      changes,
		BodyReplayed: h.BodyReplayed,
	})
}

// Result is the outcome of a chain followed to its end.
type Result struct {
	// Response is the final response: not a redirect, a redirect that
	// is not followed (a 300, a 304, a 3xx without Location), or the
	// first response when Client.MaxRedirects is NoRedirects. Its
	// Request is the last request sent. The caller must close its Body.
	Response *http.Response

	// Hops are the requests sent and the responses they got, oldest
	// first; the last is Response's.
	Hops []Hop
}

// Trace is the record of one Follow call, in the shape `detour trace --json`
// prints (SPEC §8). Make one with NewTrace.
type Trace struct {
	// Hops are the requests sent and the responses they got, oldest first.
	Hops []Hop
	// Err is the error of Follow, or nil.
	Err error
}

// NewTrace returns the trace of a Follow call from what it returned: the
// hops of res, or of err when it is an *Error.
func NewTrace(res *Result, err error) Trace {
	t := Trace{Err: err}
	var fe *Error
	switch {
	case res != nil:
		t.Hops = res.Hops
	case errors.As(err, &fe):
		t.Hops = fe.Hops
	}
	return t
}

// Final returns the last hop of a successful trace, and false when there
// is none: when Follow failed, no response was final.
func (t Trace) Final() (Hop, bool) {
	if t.Err != nil || len(t.Hops) == 0 {
		return Hop{}, false
	}
	return t.Hops[len(t.Hops)-1], true
}

type finalJSON struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	Status int    `json:"status"`
}

// MarshalJSON encodes t as
// {"hops":[…],"final":{"method","url","status"},"error":null}: "final" is
// the last hop when Follow succeeded and null when it failed; "error" is
// null or the error's message.
func (t Trace) MarshalJSON() ([]byte, error) {
	var out struct {
		Hops  []Hop      `json:"hops"`
		Final *finalJSON `json:"final"`
		Error *string    `json:"error"`
	}
	out.Hops = t.Hops
	if out.Hops == nil {
		out.Hops = []Hop{}
	}
	if h, ok := t.Final(); ok {
		out.Final = &finalJSON{Method: h.Method, URL: h.URL, Status: h.Status}
	}
	if t.Err != nil {
		msg := t.Err.Error()
		out.Error = &msg
	}
	return marshal(out)
}

// marshal is json.Marshal without HTML escaping, so that URLs keep their
// '&'; an encoder that wants it escaped (json.Marshal's default) still
// escapes what MarshalJSON returns.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
