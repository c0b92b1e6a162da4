package follow

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// Resolve returns the URL a Location header value points to, relative to
// base, the URL of the request that got it:
//
//   - Leading and trailing spaces and control characters are trimmed, and
//     tabs and newlines removed, as the WHATWG URL parser does.
//   - Raw non-ASCII bytes, spaces and the other characters browsers
//     percent-encode are percent-encoded, each for the part of the URL it
//     is in (the WHATWG path, query and fragment encode sets); a non-ASCII
//     host is converted to A-labels (IDNA). Escapes already present are
//     kept as they are.
//   - The reference is resolved against base per RFC 3986 §5.2, so "next",
//     "../x", "//host/x" and "?q" all work.
//   - When the Location has no fragment, base's fragment is kept
//     (RFC 9110 §10.2.2).
//   - An http or https URL must have a host and a valid port; its host is
//     lower-cased.
//
// Resolve does not check the scheme: a Location may name any. An error
// wraps ErrBadLocation.
func Resolve(base *url.URL, location string) (*url.URL, error) {
	s := cleanLocation(location)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadLocation)
	}
	enc, err := encodeLocation(s)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrBadLocation, location, err)
	}
	ref, err := url.Parse(enc)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w %q: %w", ErrBadLocation, location, err)
	}
	u := base.ResolveReference(ref)
	if !strings.Contains(s, "#") {
		u.Fragment, u.RawFragment = base.Fragment, base.RawFragment
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		if u.Host == "" {
			return nil, fmt.Errorf("%w %q: no host", ErrBadLocation, location)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n > 65535 {
				return nil, fmt.Errorf("%w %q: invalid port %q", ErrBadLocation, location, p)
			}
		}
		u.Host = strings.ToLower(u.Host)
	}
	// url.Parse takes some authorities in a reference ("//::") that it
	// refuses once they are in an absolute URL: what Resolve returns must
	// parse back as itself.
	if _, err := url.Parse(u.String()); err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w %q: %w", ErrBadLocation, location, err)
	}
	return u, nil
}

// cleanLocation trims C0 controls and spaces from both ends and removes
// every tab, CR and LF, as the WHATWG URL parser does.
func cleanLocation(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\r\n") {
		s = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, s)
	}
	return s
}

// Extra characters of the WHATWG percent-encode sets, beyond C0 controls,
// space, DEL and non-ASCII, which every set has.
const (
	pathSet     = "\"<>`{}"
	querySet    = "\"<>'" // the special-query set: http and https are special
	fragmentSet = "\"<>`"
	userinfoSet = "\"<>`{}"
)

// encodeLocation percent-encodes s part by part and converts a non-ASCII
// host to A-labels. It does not validate: url.Parse does that next.
func encodeLocation(s string) (string, error) {
	var frag, query string
	hasFrag, hasQuery := false, false
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s, frag, hasFrag = s[:i], s[i+1:], true
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s, query, hasQuery = s[:i], s[i+1:], true
	}

	var b strings.Builder
	rest := s
	if i := schemeEnd(s); i > 0 {
		b.WriteString(s[:i+1])
		rest = s[i+1:]
	}
	if strings.HasPrefix(rest, "//") {
		auth := rest[2:]
		end := strings.IndexByte(auth, '/')
		if end < 0 {
			end = len(auth)
		}
		auth, rest = auth[:end], auth[end:]
		b.WriteString("//")
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			b.WriteString(percentEncode(auth[:at], userinfoSet))
			b.WriteByte('@')
			auth = auth[at+1:]
		}
		host, err := asciiHost(auth)
		if err != nil {
			return "", err
		}
		b.WriteString(host)
	}
	b.WriteString(percentEncode(rest, pathSet))
	if hasQuery {
		b.WriteByte('?')
		b.WriteString(percentEncode(query, querySet))
	}
	if hasFrag {
		b.WriteByte('#')
		b.WriteString(percentEncode(frag, fragmentSet))
	}
	return b.String(), nil
}

// schemeEnd returns the index of the ':' ending s's scheme, or -1.
func schemeEnd(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return i
		default:
			return -1
		}
	}
	return -1
}

// asciiHost converts the host of hostport to A-labels when it is not ASCII.
func asciiHost(hostport string) (string, error) {
	ascii := true
	for i := 0; i < len(hostport); i++ {
		if hostport[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii || strings.HasPrefix(hostport, "[") {
		return hostport, nil
	}
	host, port := hostport, ""
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i:]
	}
	a, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return "", fmt.Errorf("host %q: %w", host, err)
	}
	return a + port, nil
}

// percentEncode encodes the bytes of s that are C0 controls, space, DEL,
// non-ASCII or in set.
func percentEncode(s, set string) string {
	const hex = "0123456789ABCDEF"
	need := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(set, c) >= 0 {
			need = true
			break
		}
	}
	if !need {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(set, c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
