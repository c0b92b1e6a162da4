package follow

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// redirectBehavior says what a response with status does to a request with
// method: whether it is followed, the next request's method, and whether
// the body goes with it. It is the whole method policy of SPEC §5.1 and
// WHATWG Fetch's "HTTP-redirect fetch", step 12:
//
//   - 307 and 308 keep the method and the body.
//   - 301 and 302 turn POST into GET (unless post301 or post302 is set, as
//     curl's --post301/--post302); every other method keeps its method and
//     body. (Go's client turns every method but GET and HEAD into GET.)
//   - 303 turns every method but GET and HEAD into GET (unless post303 is
//     set and the method is POST); GET and HEAD are kept, with their body.
//   - Other statuses are not followed.
//
// The body is dropped exactly when the method changes.
func redirectBehavior(status int, method string, post301, post302, post303 bool) (next string, keepBody, follow bool) {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound:
		keepPost := status == http.StatusMovedPermanently && post301 ||
			status == http.StatusFound && post302
		if method == http.MethodPost && !keepPost {
			return http.MethodGet, false, true
		}
		return method, true, true
	case http.StatusSeeOther:
		switch {
		case method == http.MethodGet, method == http.MethodHead:
			return method, true, true
		case method == http.MethodPost && post303:
			return method, true, true
		}
		return http.MethodGet, false, true
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return method, true, true
	}
	return method, false, false
}

// bodyHeaders are the request-body-header names of WHATWG Fetch, plus
// Content-Length: when the method changes they go with the body.
var bodyHeaders = []string{
	"Content-Type",
	"Content-Length",
	"Content-Encoding",
	"Content-Language",
	"Content-Location",
}

// credentialHeaders are the caller's credentials, never sent to an origin
// other than the first (unless Client.KeepAuth names its host).
var credentialHeaders = []string{
	"Authorization",
	"Proxy-Authorization",
	"Cookie",
}

// origin is a URL's scheme, host and port, the port made explicit.
type origin struct {
	scheme, host, port string
}

func originOf(u *url.URL) origin {
	o := origin{scheme: u.Scheme, host: strings.ToLower(u.Hostname()), port: u.Port()}
	if o.port == "" {
		switch o.scheme {
		case "http":
			o.port = "80"
		case "https":
			o.port = "443"
		}
	}
	return o
}

// keepsAuth reports whether keep (Client.KeepAuth) names u's host. An entry
// with a port ("example.com:8443", "[::1]:8080") names that port only; one
// without names every port.
func keepsAuth(keep []string, u *url.URL) bool {
	o := originOf(u)
	return slices.ContainsFunc(keep, func(k string) bool {
		k = strings.ToLower(strings.TrimSpace(k))
		if h, p, err := net.SplitHostPort(k); err == nil {
			return h == o.host && p == o.port
		}
		return strings.Trim(k, "[]") == o.host
	})
}

// referer returns the Referer for a request to next made because of a
// redirect from last (as Go's client does): the caller's explicit one, or
// last without its userinfo and fragment; none from https to http.
func referer(last, next *url.URL, explicit string) string {
	if last.Scheme == "https" && next.Scheme == "http" {
		return ""
	}
	if explicit != "" {
		return explicit
	}
	r := *last
	r.User = nil
	r.Fragment, r.RawFragment = "", ""
	return r.String()
}
