package detour

import (
	"errors"
	"strings"

	"github.com/detourhttp/detour/internal/pct"
	"golang.org/x/net/idna"
)

// Request is what a rule is matched on, already normalised (SPEC §1.1).
// Build Host with NormalizeHost and Path with NormalizePath.
type Request struct {
	// Method is the upper-case request method.
	Method string
	// Scheme is "http" or "https": the listener's, or the one a trusted
	// proxy reported.
	Scheme string
	// Host is lower-case, without port or trailing dot, IDNs as A-labels.
	// Empty when the request named no host.
	Host string
	// Path is percent-decoded, with dot segments removed (and duplicate
	// slashes merged when the rule set asks for it). It begins with "/".
	Path string
	// Query is the raw query string, without the "?"; empty when none.
	Query string
}

// Errors of request normalisation. The server answers them with 400.
var (
	// ErrBadPath: the path does not begin with "/", holds a bad
	// percent-escape, or decodes to a NUL byte.
	ErrBadPath = errors.New("bad request path")
	// ErrBadHost: the host is not a valid name or address.
	ErrBadHost = errors.New("bad request host")
)

// NormalizePath percent-decodes the escaped request path p and removes dot
// segments, as nginx does for $uri; with mergeSlashes, runs of slashes
// become one. It returns p itself, without allocating, when nothing changes.
func NormalizePath(p string, mergeSlashes bool) (string, error) {
	if p == "" || p[0] != '/' {
		return "", ErrBadPath
	}
	if !needsPathWork(p, mergeSlashes) {
		return p, nil
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' {
			v, ok := pct.Decode(p, i)
			if !ok {
				return "", ErrBadPath
			}
			c = v
			i += 2
		}
		if c == 0 {
			return "", ErrBadPath
		}
		b.WriteByte(c)
	}
	return cleanPath(b.String(), mergeSlashes), nil
}

// needsPathWork reports whether p holds an escape, a dot segment, or (with
// merge) a doubled slash.
func needsPathWork(p string, merge bool) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%', 0:
			return true
		case '.':
			if p[i-1] == '/' && (i+1 == len(p) || p[i+1] == '/' ||
				p[i+1] == '.' && (i+2 == len(p) || p[i+2] == '/')) {
				return true
			}
		case '/':
			if merge && i+1 < len(p) && p[i+1] == '/' {
				return true
			}
		}
	}
	return false
}

// cleanPath removes "." and ".." segments of a decoded path that begins
// with "/" (RFC 3986 §5.2.4); ".." never climbs above the root. A trailing
// "/." or "/.." leaves a trailing slash.
func cleanPath(p string, merge bool) string {
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch {
		case s == ".":
			if last {
				out = append(out, "")
			}
		case s == "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case s == "" && merge && !last:
			// a run of slashes: keep one
		default:
			out = append(out, s)
		}
	}
	if merge {
		// A trailing empty segment after merging is the trailing slash;
		// drop a doubled one.
		for len(out) > 1 && out[len(out)-1] == "" && out[len(out)-2] == "" {
			out = out[:len(out)-1]
		}
	}
	return "/" + strings.Join(out, "/")
}

// NormalizeHost lower-cases h and removes a port and a trailing dot;
// internationalised names become A-labels. It returns h itself, without
// allocating, when it is already normal. An IPv6 literal keeps its
// brackets.
func NormalizeHost(h string) (string, error) {
	if h == "" {
		return "", nil
	}
	if h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", ErrBadHost
		}
		return strings.ToLower(h[:end+1]), nil
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	ascii := true
	lower := true
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c >= 0x80 {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			lower = false
		}
	}
	if ascii {
		if lower {
			return h, nil
		}
		return strings.ToLower(h), nil
	}
	a, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return "", ErrBadHost
	}
	return a, nil
}
