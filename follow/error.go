package follow

import (
	"errors"
	"strings"
)

// Sentinel errors. Every error returned by Client.Follow and Client.Do is an
// *Error; errors.Is finds these through it.
var (
	// ErrTooManyRedirects: the response after MaxRedirects redirects was
	// one more redirect to follow. Error.Cycle names the cycle, if the
	// chain has one.
	ErrTooManyRedirects = errors.New("too many redirects")

	// ErrLoop: the next request would repeat an earlier one of the chain
	// (same method, URL, headers and body) with no Set-Cookie in between,
	// so following it could only go round again. Error.Cycle names it.
	ErrLoop = errors.New("redirect loop")

	// ErrDowngrade: a redirect from https to http, refused because
	// Client.AllowDowngrade is false.
	ErrDowngrade = errors.New("https to http downgrade refused")

	// ErrBodyTooLarge: a 307 or 308 (or a 301/302 of a method that keeps
	// its body) asks for a request body to be sent again, the body cannot
	// be rewound, and more of it than Client.ReplayLimit was already read.
	// The redirect is not followed: the body is never sent empty and the
	// method never silently changed.
	ErrBodyTooLarge = errors.New("request body too large to replay")

	// ErrBadLocation: a redirect's Location does not parse, has no host,
	// or the response has several differing Location headers.
	ErrBadLocation = errors.New("bad Location")

	// ErrUnsupportedScheme: a redirect's Location is neither http nor
	// https.
	ErrUnsupportedScheme = errors.New("unsupported scheme")
)

// Error is the error of a chain that could not be followed to its end. It
// carries the chain so far, so that a caller (the `detour trace` command)
// can print it.
type Error struct {
	// Hops are the requests sent and the responses they got, oldest
	// first. The last hop is the response that could not be followed,
	// unless the request of a hop failed (Err is then the transport's
	// error, and that request is not in Hops). It is empty when the first
	// request got no response.
	Hops []Hop

	// Cycle, for ErrTooManyRedirects and ErrLoop, holds the indexes in
	// Hops of the requests that repeat, oldest first: after the last, the
	// chain goes back to Hops[Cycle[0]]. It is nil when there is no cycle.
	Cycle []int

	// Err says what went wrong: one of the sentinel errors above wrapped
	// with detail, the error of the Client's Transport, or the error
	// returned by the http.Client's CheckRedirect.
	Err error
}

// Error returns "follow: " and the cause, followed by the cycle if there is
// one.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("follow: ")
	b.WriteString(e.Err.Error())
	if len(e.Cycle) > 0 {
		b.WriteString(" (cycle: ")
		for _, i := range e.Cycle {
			b.WriteString(e.Hops[i].Method)
			b.WriteByte(' ')
			b.WriteString(e.Hops[i].URL)
			b.WriteString(" → ")
		}
		first := e.Hops[e.Cycle[0]]
		b.WriteString(first.Method)
		b.WriteByte(' ')
		b.WriteString(first.URL)
		b.WriteByte(')')
	}
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }
