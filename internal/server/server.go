// Package server is detour's redirect listener: the http.Handler that
// normalises a request (SPEC §1.1), looks it up in the live rule set and
// writes the redirect (SPEC §1.3), plus the demo echo that serves
// /temporary-resource when the built-in demo set is live.
//
// The live rule set sits behind an atomic pointer: Store swaps in a new
// one while requests in flight finish on the one they started with.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

// EchoPath is the path the demo echo answers at when Rules.Echo is set: the
// target of the demo set's /original-resource rule.
const EchoPath = "/temporary-resource"

// Rules is a compiled rule set as the handler serves it, with the settings
// that apply to the whole set. Once stored in a Handler it must not change.
type Rules struct {
	// Table answers lookups. It must not be nil.
	Table *match.Table
	// MergeSlashes merges runs of slashes in request paths before lookup
	// (the rules file's merge_slashes).
	MergeSlashes bool
	// Echo makes EchoPath answer 200 with an echo of the request when no
	// rule matches it (the built-in demo set).
	Echo bool
	// Stats, when set, counts each answer on its rule's counters (see
	// Stats.Index); nil counts nothing.
	Stats map[*detour.Rule]*RuleStats
}

// Observer receives the duration of each lookup, in seconds: a
// prometheus.Histogram is one.
type Observer interface{ Observe(float64) }

// Options configure a Handler. The zero value is ready to use: the real
// clock, no trusted proxies, no access log.
type Options struct {
	// Now is the clock rule windows are judged by; nil means time.Now.
	Now func() time.Time
	// TrustedProxies are the peers whose Forwarded / X-Forwarded-Proto
	// headers say the request's scheme; from any other peer the headers
	// are ignored and the scheme is the listener's.
	TrustedProxies []netip.Prefix
	// Log receives one access-log record per request at level Info; nil
	// means no access log.
	Log *slog.Logger
	// LookupLatency, when set, observes how long each lookup took.
	LookupLatency Observer
}

// Handler answers requests on the redirect listener. It is safe for
// concurrent use; the zero value is not usable, call New.
type Handler struct {
	rules   atomic.Pointer[Rules]
	now     func() time.Time
	trusted []netip.Prefix
	log     *slog.Logger
	latency Observer
	realNow bool      // now is time.Now: its reading can time the lookup too
	pool    sync.Pool // *exchange

	notFound atomic.Uint64
}

var _ http.Handler = (*Handler)(nil)

// exchange is the per-request scratch space, pooled. Nothing in it may be
// referenced by the response after ServeHTTP returns: net/http/1 writes
// the header after the handler returns.
type exchange struct {
	req  detour.Request
	m    match.Match
	loc  []byte
	body []byte
	clen []byte  // the note's length in decimal
	hdr  []field // the redirect's header fields; values may point into loc and clen
}

// New returns a Handler with no rules; it answers 503 until Store is
// called.
func New(opts Options) *Handler {
	h := &Handler{now: opts.Now, trusted: opts.TrustedProxies, log: opts.Log, latency: opts.LookupLatency}
	if h.now == nil {
		h.now, h.realNow = time.Now, true
	}
	h.pool.New = func() any {
		return &exchange{loc: make([]byte, 0, 256), body: make([]byte, 0, 512), clen: make([]byte, 0, 8), hdr: make([]field, 0, 8)}
	}
	return h
}

// Store makes rs the live rule set. Requests already looking up finish on
// the previous one.
func (h *Handler) Store(rs *Rules) { h.rules.Store(rs) }

// Rules returns the live rule set, nil before the first Store.
func (h *Handler) Rules() *Rules { return h.rules.Load() }

// NotFound returns the number of requests no rule matched (the demo echo
// included) since the Handler was made.
func (h *Handler) NotFound() uint64 { return h.notFound.Load() }

// outcome is what the access log says about an answered request.
type outcome struct {
	status int
	rule   string
	row    int
	host   string // normalised when it could be, else as received
	path   string // normalised when it could be, else as received
}

// inbound is what deciding an answer needs of a request, whether net/http
// or the lean HTTP/1.1 path read it.
type inbound struct {
	method    string
	tls       bool
	remote    string // the peer's address as ip:port
	host      string // the Host as received
	path      string // the target's escaped path
	query     string // the target's raw query
	forwarded string // the last Forwarded header line, "" when none
	xfp       string // the last X-Forwarded-Proto header line, "" when none
	// now, when set, is the time to judge rule windows by, read by the
	// caller already; zero means the Handler's clock.
	now time.Time
}

// verdict is the kind of answer decide chose.
type verdict uint8

const (
	answerRedirect verdict = iota // a rule matched: x.m, x.loc, x.body and x.hdr hold the answer
	answerNotFound                // 404
	answerEcho                    // the demo echo
	answerBadPath                 // 400: the path cannot be normalised
	answerBadHost                 // 400: the host cannot be normalised
	answerNoRules                 // 503: no rule set stored yet
)

// field is one response header field of a redirect.
type field struct{ name, value string }

// ServeHTTP answers r: a redirect or 410 when a rule matches, the demo
// echo, 404 when nothing matches, 400 for a path or host that cannot be
// normalised, 503 before any rule set is stored. It never reads the
// request body unless it answers with the echo.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var start time.Time
	if h.log != nil {
		start = time.Now()
	}
	x := h.pool.Get().(*exchange)
	out := h.serve(w, r, x)
	if h.log != nil {
		h.logAccess(r.Method, r.RemoteAddr, out, start)
	}
	h.release(x)
}

func (h *Handler) release(x *exchange) {
	x.reset()
	h.pool.Put(x)
}

// reset empties x for the next request, dropping its references.
func (x *exchange) reset() {
	x.m = match.Match{}
	x.req = detour.Request{}
	x.loc, x.body, x.clen = x.loc[:0], x.body[:0], x.clen[:0]
	clear(x.hdr)
	x.hdr = x.hdr[:0]
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, x *exchange) outcome {
	path, query := splitTarget(r)
	in := inbound{method: r.Method, tls: r.TLS != nil, remote: r.RemoteAddr, host: r.Host, path: path, query: query}
	if len(h.trusted) > 0 {
		in.forwarded = lastLine(r.Header["Forwarded"])
		in.xfp = lastLine(r.Header["X-Forwarded-Proto"])
	}
	v, out := h.decide(x, &in, true)
	switch v {
	case answerRedirect:
		writeRedirect(w, r, x)
	case answerNotFound:
		writeText(w, r, http.StatusNotFound, notFoundText)
	case answerEcho:
		out.status = echo(w, r)
	case answerBadPath:
		writeText(w, r, http.StatusBadRequest, badPathText)
	case answerBadHost:
		writeText(w, r, http.StatusBadRequest, badHostText)
	case answerNoRules:
		writeText(w, r, http.StatusServiceUnavailable, noRulesText)
	}
	return out
}

// The bodies of the plain-text answers.
const (
	notFoundText = "404 Not Found: no rule matches this request\n"
	badPathText  = "400 Bad Request: bad request path\n"
	badHostText  = "400 Bad Request: bad request host\n"
	noRulesText  = "503 Service Unavailable: no rules loaded\n"
)

func lastLine(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// decide chooses the answer to in: it normalises the request, looks it
// up and, for a redirect, renders Location, note and header fields into
// x. A redirect or 404 is counted here (rule hits, not-found, lookup
// latency); final says the caller answers whatever the verdict, so that
// the demo echo is counted too. Without final, an echo is left uncounted
// for net/http to count when it answers it.
func (h *Handler) decide(x *exchange, in *inbound, final bool) (verdict, outcome) {
	rs := h.rules.Load()
	if rs == nil {
		return answerNoRules, outcome{status: http.StatusServiceUnavailable, host: in.host, path: in.path}
	}
	path, err := detour.NormalizePath(in.path, rs.MergeSlashes)
	if err != nil {
		return answerBadPath, outcome{status: http.StatusBadRequest, host: in.host, path: in.path}
	}
	host, err := detour.NormalizeHost(in.host)
	if err != nil {
		return answerBadHost, outcome{status: http.StatusBadRequest, host: in.host, path: path}
	}
	x.req = detour.Request{
		Method: in.method,
		Scheme: h.scheme(in),
		Host:   host,
		Path:   path,
		Query:  in.query,
	}
	now, t0 := in.now, in.now
	if now.IsZero() || !h.realNow {
		now = h.now()
		t0 = now
	}
	if h.latency != nil && (!h.realNow || !in.now.IsZero()) {
		t0 = time.Now()
	}
	found := rs.Table.Lookup(&x.req, now, &x.m)
	echo := !found && rs.Echo && path == EchoPath
	if echo && !final {
		return answerEcho, outcome{host: host, path: path}
	}
	if h.latency != nil {
		h.latency.Observe(time.Since(t0).Seconds())
	}
	out := outcome{host: host, path: path}
	switch {
	case found:
		if rs.Stats != nil {
			if st := rs.Stats[x.m.Rule]; st != nil {
				st.hit(x.m.Status(), now)
			}
		}
		x.render(now)
		out.status, out.row = x.m.Status(), x.m.Row
		if x.m.Rule != nil {
			out.rule = x.m.Rule.ID
		}
		return answerRedirect, out
	case echo:
		h.notFound.Add(1)
		return answerEcho, out
	}
	h.notFound.Add(1)
	out.status = http.StatusNotFound
	return answerNotFound, out
}

// render puts the matched rule's answer in x: the Location, the HTML note,
// and the header fields in the order net/http writes them (sorted by
// name, values of one name in the order set) — all but Date.
func (x *exchange) render(now time.Time) {
	status := x.m.Status()
	x.loc = x.m.AppendLocation(x.loc[:0])
	x.body = appendNote(x.body[:0], status, x.loc)
	x.clen = strconv.AppendInt(x.clen[:0], int64(len(x.body)), 10)
	if len(x.loc) > 0 {
		x.hdr = append(x.hdr, field{"Location", unsafe.String(unsafe.SliceData(x.loc), len(x.loc))})
	}
	x.m.Headers(now, func(name, value string) {
		name = textproto.CanonicalMIMEHeaderKey(name)
		if name == "Content-Type" {
			return // the note's own type wins
		}
		x.hdr = append(x.hdr, field{name, value})
	})
	x.hdr = append(x.hdr,
		field{"Content-Type", "text/html; charset=utf-8"},
		field{"Content-Length", unsafe.String(unsafe.SliceData(x.clen), len(x.clen))})
	// Insertion sort, stable: a handful of fields.
	for i := 1; i < len(x.hdr); i++ {
		for j := i; j > 0 && x.hdr[j].name < x.hdr[j-1].name; j-- {
			x.hdr[j], x.hdr[j-1] = x.hdr[j-1], x.hdr[j]
		}
	}
}

// splitTarget returns the escaped path and the raw query of r's request
// target. An absolute-form target ("http://host/p?q") gives its path; its
// authority is already r.Host (net/http puts it there).
func splitTarget(r *http.Request) (path, query string) {
	t := r.RequestURI
	if t == "" {
		// A request built in-process rather than read from the wire.
		return r.URL.EscapedPath(), r.URL.RawQuery
	}
	if t[0] != '/' {
		if i := strings.Index(t, "://"); i > 0 {
			rest := t[i+3:]
			j := strings.IndexAny(rest, "/?")
			switch {
			case j < 0:
				return "/", ""
			case rest[j] == '?':
				return "/", rest[j+1:]
			}
			t = rest[j:]
		}
	}
	path, query, _ = strings.Cut(t, "?")
	return path, query
}

// scheme returns "https" when the request came over TLS and "http"
// otherwise, unless the peer is a trusted proxy that says otherwise: the
// last element of the last Forwarded header's proto=, else the last
// element of X-Forwarded-Proto. The last element is the one the nearest
// proxy — the trusted one — added; earlier ones may come from the client.
func (h *Handler) scheme(in *inbound) string {
	s := "http"
	if in.tls {
		s = "https"
	}
	if len(h.trusted) == 0 || (in.forwarded == "" && in.xfp == "") || !h.trustedPeer(in.remote) {
		return s
	}
	if v := forwardedProto(in.forwarded); v != "" {
		return v
	}
	if in.xfp != "" {
		if v := knownScheme(lastElement(in.xfp)); v != "" {
			return v
		}
	}
	return s
}

func (h *Handler) trustedPeer(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range h.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedProto returns the proto= of the last element of an RFC 7239
// Forwarded header line, "" when it has none or names no known scheme.
func forwardedProto(v string) string {
	if v == "" {
		return ""
	}
	for pair := range strings.SplitSeq(lastElement(v), ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if ok && strings.EqualFold(k, "proto") {
			return knownScheme(strings.Trim(v, `"`))
		}
	}
	return ""
}

func lastElement(v string) string {
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

func knownScheme(v string) string {
	switch {
	case strings.EqualFold(v, "https"):
		return "https"
	case strings.EqualFold(v, "http"):
		return "http"
	}
	return ""
}

// writeRedirect writes the answer decide rendered into x through
// net/http: status, the header fields, and — for every method but HEAD —
// the HTML note.
func writeRedirect(w http.ResponseWriter, r *http.Request, x *exchange) {
	// The header map keeps its value slices after ServeHTTP returns, so
	// they get one fresh backing array rather than pooled memory, and
	// Location and Content-Length (pooled bytes in x) share one string.
	both := string(x.loc) + string(x.clen)
	vals := make([]string, len(x.hdr))
	for i, f := range x.hdr {
		switch f.name {
		case "Location":
			vals[i] = both[:len(x.loc)]
		case "Content-Length":
			vals[i] = both[len(x.loc):]
		default:
			vals[i] = f.value
		}
	}
	hdr := w.Header()
	// x.hdr is sorted: the values of one name are next to each other.
	for i := 0; i < len(x.hdr); {
		j := i + 1
		for j < len(x.hdr) && x.hdr[j].name == x.hdr[i].name {
			j++
		}
		hdr[x.hdr[i].name] = vals[i:j:j]
		i = j
	}
	w.WriteHeader(x.m.Status())
	if r.Method != http.MethodHead {
		w.Write(x.body)
	}
}

// appendNote appends the HTML note of a redirect to loc (or of a 410 when
// loc is empty) to dst.
func appendNote(dst []byte, status int, loc []byte) []byte {
	text := http.StatusText(status)
	dst = append(dst, "<!DOCTYPE html>\n<html><head><title>"...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, text...)
	dst = append(dst, "</title></head><body><h1>"...)
	dst = append(dst, text...)
	dst = append(dst, "</h1>"...)
	if len(loc) > 0 {
		dst = append(dst, `<p>The resource is at <a href="`...)
		dst = appendHTMLEscaped(dst, loc)
		dst = append(dst, `">`...)
		dst = appendHTMLEscaped(dst, loc)
		dst = append(dst, "</a>.</p>"...)
	} else {
		dst = append(dst, "<p>The resource is no longer here.</p>"...)
	}
	return append(dst, "</body></html>\n"...)
}

// appendHTMLEscaped appends s to dst with the five characters that matter
// in text and in a quoted attribute escaped, as html.EscapeString does.
func appendHTMLEscaped(dst, s []byte) []byte {
	clean := true
	for _, c := range s {
		if c == '&' || c == '<' || c == '>' || c == '"' || c == '\'' {
			clean = false
			break
		}
	}
	if clean {
		return append(dst, s...)
	}
	for _, c := range s {
		switch c {
		case '&':
			dst = append(dst, "&amp;"...)
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case '"':
			dst = append(dst, "&#34;"...)
		case '\'':
			dst = append(dst, "&#39;"...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// writeText answers with a short plain-text body: 400, 404, 503.
func writeText(w http.ResponseWriter, r *http.Request, status int, body string) {
	hdr := w.Header()
	hdr["Content-Type"] = []string{"text/plain; charset=utf-8"}
	hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
	hdr["X-Content-Type-Options"] = []string{"nosniff"}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write([]byte(body))
	}
}

// logAccess writes the access-log record of one request.
func (h *Handler) logAccess(method, remote string, out outcome, start time.Time) {
	ctx := context.Background()
	if !h.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := [...]slog.Attr{
		slog.String("method", method),
		slog.String("host", out.host),
		slog.String("path", out.path),
		slog.Int("status", out.status),
		slog.String("rule", out.rule),
		slog.Duration("duration", time.Since(start)),
		slog.String("remote", remote),
		slog.Int("row", out.row),
	}
	n := len(attrs)
	if out.row == 0 {
		n-- // only table rows have a row
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs[:n]...)
}
