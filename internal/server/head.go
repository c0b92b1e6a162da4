package server

import (
	"bytes"
	"unsafe"

	"github.com/detourhttp/detour/internal/pct"
	"golang.org/x/net/http/httpguts"
)

// What parseHead made of the bytes it was given.
const (
	headDone    = iota // a whole request head the lean path answers
	headMore           // a prefix of one: read more
	headHandoff        // anything else: net/http decides
)

// leanHead is a request head the lean path answers: a GET or HEAD with no
// body. Its strings point into the read buffer and live until the request
// is answered.
type leanHead struct {
	head      bool   // HEAD, else GET
	target    string // origin-form: "/path?query"
	host      string // the one Host header, trimmed
	forwarded string // the last Forwarded header, trimmed
	xfp       string // the last X-Forwarded-Proto header, trimmed
	n         int    // bytes of the head, final CRLF included
}

// tokenByte says which bytes may make up a header field name (RFC 9110
// §5.6.2 tchar), as net/textproto accepts them.
var tokenByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// parseHead reads the request head at the start of b into hd. It accepts
// only a subset of what net/http accepts, and only requests with no body,
// so that whatever it answers net/http would have read the same way:
//
//   - the request line is exactly "GET " or "HEAD ", an origin-form target
//     of visible ASCII whose path has only well-formed percent escapes, and
//     " HTTP/1.1" — HTTP/1.0 and every other method go to net/http;
//   - every line ends in CRLF; a header name is a token followed at once
//     by ':'; a value has no control character but HTAB; no line starts
//     with white space (obs-fold);
//   - there is exactly one Host header and net/http finds it well formed;
//   - no Content-Length, Transfer-Encoding, Upgrade or Expect, and no
//     Connection but "keep-alive".
//
// Anything else is headHandoff: net/http reads the same bytes and answers
// or refuses them as it always does. parseHead never decides where a body
// ends, because it never accepts a request that has one.
func parseHead(b []byte, hd *leanHead) int {
	var rest []byte
	switch {
	case bytes.HasPrefix(b, []byte("GET ")):
		rest = b[4:]
	case bytes.HasPrefix(b, []byte("HEAD ")):
		rest, hd.head = b[5:], true
	case len(b) < 5 && (bytes.HasPrefix([]byte("GET "), b) || bytes.HasPrefix([]byte("HEAD "), b)):
		return headMore
	default:
		return headHandoff
	}
	if len(rest) == 0 {
		return headMore
	}
	if rest[0] != '/' {
		return headHandoff // absolute-form, asterisk-form, or no target
	}
	i, query := 0, false
	for ; i < len(rest) && rest[i] != ' '; i++ {
		switch c := rest[i]; {
		case c < 0x21 || c > 0x7e:
			return headHandoff
		case c == '?':
			query = true
		case c == '%' && !query:
			// net/url refuses a malformed escape in the path (not in
			// the query).
			for k := i + 1; k <= i+2; k++ {
				switch {
				case k >= len(rest):
					return headMore
				case !pct.IsHex(rest[k]):
					return headHandoff
				}
			}
		}
	}
	if i == len(rest) {
		return headMore
	}
	hd.target = str(rest[:i])
	rest = rest[i+1:]
	const version = "HTTP/1.1\r\n"
	if len(rest) < len(version) {
		if bytes.HasPrefix([]byte(version), rest) {
			return headMore
		}
		return headHandoff
	}
	if string(rest[:len(version)]) != version {
		return headHandoff
	}
	pos := len(b) - len(rest) + len(version)

	hosts := 0
	for {
		j := bytes.IndexByte(b[pos:], '\n')
		if j < 0 {
			return headMore
		}
		line := b[pos : pos+j]
		pos += j + 1
		if len(line) == 0 || line[len(line)-1] != '\r' {
			return headHandoff // a bare LF
		}
		line = line[:len(line)-1]
		if len(line) == 0 {
			break
		}
		k := 0
		for k < len(line) && tokenByte[line[k]] {
			k++
		}
		if k == 0 || k == len(line) || line[k] != ':' {
			return headHandoff // no name, white space before ':', obs-fold
		}
		name, value := line[:k], line[k+1:]
		for _, c := range value {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return headHandoff
			}
		}
		value = trimOWS(value)
		switch len(name) {
		case 4:
			if lowerIs(name, "host") {
				hosts++
				hd.host = str(value)
			}
		case 6:
			if lowerIs(name, "expect") {
				return headHandoff
			}
		case 7:
			if lowerIs(name, "upgrade") {
				return headHandoff
			}
		case 9:
			if lowerIs(name, "forwarded") {
				hd.forwarded = str(value)
			}
		case 10:
			if lowerIs(name, "connection") && !lowerIs(value, "keep-alive") {
				return headHandoff
			}
		case 14:
			if lowerIs(name, "content-length") {
				return headHandoff
			}
		case 17:
			switch {
			case lowerIs(name, "transfer-encoding"):
				return headHandoff
			case lowerIs(name, "x-forwarded-proto"):
				hd.xfp = str(value)
			}
		}
	}
	if hosts != 1 || !httpguts.ValidHostHeader(hd.host) {
		return headHandoff
	}
	hd.n = pos
	return headDone
}

// trimOWS trims spaces and tabs from both ends of b.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// lowerIs reports whether b is s, ASCII letters in any case; s is lower
// case.
func lowerIs(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// str returns b as a string without copying; b must not change while the
// string is in use.
func str(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
