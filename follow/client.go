package follow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults for the zero values of Client's fields.
const (
	// DefaultMaxRedirects is the number of redirects followed when
	// Client.MaxRedirects is zero.
	DefaultMaxRedirects = 20

	// NoRedirects, as Client.MaxRedirects, follows none: Follow returns
	// the first response as it is, whatever its status.
	NoRedirects = -1

	// DefaultReplayLimit is the most bytes of a body that cannot be
	// rewound that are kept for replay when Client.ReplayLimit is zero.
	DefaultReplayLimit = 64 << 20

	// DefaultReplayMemory is how much of a kept body stays in memory
	// before the rest goes to a temp file, when Client.ReplayMemory is
	// zero.
	DefaultReplayMemory = 1 << 20

	// DefaultExpectContinueThreshold is the body size above which a
	// request is sent with "Expect: 100-continue" when
	// Client.ExpectContinueThreshold is zero (curl's threshold).
	DefaultExpectContinueThreshold = 1 << 20
)

// maxDrain is the most bytes of an intermediate response body read so that
// its connection can be reused. A longer body is closed unread, and its
// connection with it.
const maxDrain = 16 << 10

// A Client follows redirects with the semantics of SPEC §5.1 on top of an
// *http.Client, whose Transport, Timeout and Jar it uses.
//
// The zero value is ready to use: it sends with http.DefaultClient, follows
// up to 20 redirects, keeps up to 64 MiB of a body that cannot be rewound
// for replay (1 MiB in memory, the rest in a temp file), sends bodies over
// 1 MiB or of unknown length with "Expect: 100-continue", refuses HTTPS to
// HTTP downgrades, drops credentials on cross-origin hops, and reports
// Retry-After without waiting for it.
//
// A Client is safe for concurrent use by multiple goroutines as long as its
// fields are not changed meanwhile. It holds no state between calls: the
// connection pool is the Transport's.
type Client struct {
	// HTTP sends each request. Its Transport sends every hop (nil means
	// http.DefaultTransport); its Jar, if not nil, is consulted for every
	// hop and updated from every response, so cookies work hop by hop as
	// in a browser; its Timeout, if not zero, limits the whole chain,
	// including reading the final response's body. Its CheckRedirect, if
	// not nil, is called before each hop as http.Client calls it (after
	// follow's own checks); returning http.ErrUseLastResponse makes Follow
	// return the redirect response itself. Follow never changes HTTP and
	// does not use http.Client.Do: it sends through the Transport itself,
	// so that it sees every Location header.
	//
	// If HTTP is nil, http.DefaultClient is used. Its Transport,
	// http.DefaultTransport, waits up to 1s for a "100 Continue".
	HTTP *http.Client

	// MaxRedirects is the most redirects followed; the response after
	// that many, if it is one more redirect to follow, is an error
	// wrapping ErrTooManyRedirects. Zero means DefaultMaxRedirects (20);
	// NoRedirects (or any negative value) means none: the first response
	// is returned as it is.
	MaxRedirects int

	// ReplayLimit is the most bytes kept of a request body that cannot be
	// rewound (one with no GetBody, such as an io.Pipe or a network
	// stream), so that a redirect can send it again. The body is kept as
	// it is first sent; if it must be sent again after more than
	// ReplayLimit bytes of it were read, Follow fails with
	// ErrBodyTooLarge. Zero means DefaultReplayLimit (64 MiB); a negative
	// value keeps nothing. A body with GetBody (as http.NewRequest sets
	// for a *bytes.Buffer, *bytes.Reader or *strings.Reader) is rewound
	// through it and never kept.
	ReplayLimit int64

	// ReplayMemory is how much of a kept body stays in memory; the rest
	// goes to a temp file in TempDir, removed when the last request
	// using it is done. Zero means DefaultReplayMemory (1 MiB); a
	// negative value spills every byte.
	ReplayMemory int64

	// TempDir is where kept bodies spill; "" means os.TempDir().
	TempDir string

	// ExpectContinueThreshold: a request whose body is longer than this,
	// or of unknown length, is sent with "Expect: 100-continue", so that
	// a server that answers with a redirect before asking for the body
	// does not receive the upload. Zero means
	// DefaultExpectContinueThreshold (1 MiB); a negative value never adds
	// the header (one set by the caller is kept).
	//
	// Whether the Transport waits for "100 Continue" is its own setting:
	// an *http.Transport waits up to its ExpectContinueTimeout, and if
	// that is zero sends the body at once. It also sends the body after a
	// final response that leaves the connection open (to keep using it);
	// only a response with "Connection: close" spares the upload, which
	// is what Go's and detour's servers send.
	ExpectContinueThreshold int64

	// Post301, Post302 and Post303 keep POST (and its body) on a 301, 302
	// or 303, as curl's --post301, --post302 and --post303 do. By default
	// POST becomes GET on all three.
	Post301, Post302, Post303 bool

	// KeepAuth names hosts to which the caller's Authorization,
	// Proxy-Authorization and Cookie headers are still sent after a
	// cross-origin hop. An entry with a port ("example.com:8443") names
	// that port only. Once a hop has gone to another origin that is not
	// named here, they are never sent again, even back at the first
	// origin.
	KeepAuth []string

	// AllowDowngrade follows redirects from https to http. By default
	// they fail with ErrDowngrade. No Referer is sent on a downgrade
	// either way.
	AllowDowngrade bool

	// RetryAfterMax, if positive, makes Follow honour a Retry-After
	// header on a redirect: it waits what the header asks, but no longer
	// than RetryAfterMax, before the next hop. Zero only reports it (in
	// Hop.RetryAfter).
	RetryAfterMax time.Duration

	// Now returns the current time, for hop durations and Retry-After
	// dates. Nil means time.Now.
	Now func() time.Time

	// Sleep waits d or until ctx is done, for Retry-After. Nil means a
	// timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Do sends req and follows its redirects, returning the final response, as
// http.Client.Do does. The caller must close the response's Body.
//
// The request's Body, if not nil, is closed, even on errors, though perhaps
// after Do returns (as the Transport closes it). Every error is an *Error;
// on error the response is nil. A non-2xx status is not an error.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	res, err := c.Follow(req)
	if err != nil {
		return nil, err
	}
	return res.Response, nil
}

// Follow is Do that also returns the record of every hop. On error, the
// *Error holds the hops so far.
//
// Intermediate responses are drained (up to 16 KiB) and closed, so that
// their connections are reused. The final response's Body is the caller's
// to close; when the http.Client has a Timeout, closing it (or reading it
// to its end) also stops the timer.
func (c *Client) Follow(req *http.Request) (*Result, error) {
	f := &follower{c: c, ireq: req}
	return f.run()
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) maxRedirects() int {
	switch {
	case c.MaxRedirects == 0:
		return DefaultMaxRedirects
	case c.MaxRedirects < 0:
		return 0
	}
	return c.MaxRedirects
}

func orDefault(v, def int64) int64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// follower is the state of one Follow call.
type follower struct {
	c    *Client
	hc   *http.Client
	rt   http.RoundTripper
	ctx  context.Context
	ireq *http.Request // the caller's request; never modified

	// The body of the chain.
	hasBody  bool                          // the current request carries the caller's body
	getBody  func() (io.ReadCloser, error) // rewinds it (the caller's GetBody, or the capture's)
	cap      *capture                      // nil unless the body cannot be rewound
	bodyLen  int64                         // the caller's ContentLength
	initBody io.ReadCloser                 // the first hop's body; nil once handed to the Transport

	tmpl          http.Header // headers for the next hop; shrinks as things are dropped
	firstOrigin   origin
	credsStripped bool
	downgraded    bool
	seen          map[string]int // request fingerprint → hop index, since the last Set-Cookie

	hops []Hop
	reqs []*http.Request
}

func (f *follower) run() (res *Result, err error) {
	c := f.c
	f.hc = c.httpClient()
	f.rt = f.hc.Transport
	if f.rt == nil {
		f.rt = http.DefaultTransport
	}
	ireq := f.ireq
	switch {
	case ireq.URL == nil:
		closeBody(ireq.Body)
		return nil, &Error{Err: errors.New("nil Request.URL")}
	case ireq.RequestURI != "":
		closeBody(ireq.Body)
		return nil, &Error{Err: errors.New("Request.RequestURI can't be set in client requests")}
	}

	f.ctx = ireq.Context()
	cancel := context.CancelFunc(func() {})
	if f.hc.Timeout > 0 {
		f.ctx, cancel = context.WithTimeout(f.ctx, f.hc.Timeout)
	}
	defer func() {
		if err != nil {
			cancel()
		}
	}()

	if err := f.initBodyState(); err != nil {
		return nil, &Error{Err: err}
	}
	defer func() {
		if f.initBody != nil {
			closeBody(f.initBody) // never sent
		}
		if f.cap != nil {
			f.cap.release()
		}
	}()

	f.tmpl = ireq.Header.Clone()
	if f.tmpl == nil {
		f.tmpl = make(http.Header)
	}
	f.firstOrigin = originOf(ireq.URL)
	f.seen = make(map[string]int)

	method := ireq.Method
	if method == "" {
		method = http.MethodGet
	}
	req := f.newRequest(method, ireq.URL, ireq.Host, nil)
	if f.hasBody {
		f.setBody(req, f.initBody)
		f.initBody = nil
	}

	for {
		resp, err := f.send(req)
		if err != nil {
			return nil, &Error{Hops: f.hops, Err: err}
		}
		hop := &f.hops[len(f.hops)-1]

		if c.MaxRedirects < 0 {
			return f.final(resp, cancel), nil
		}
		nextMethod, keepBody, follow := redirectBehavior(resp.StatusCode, req.Method, c.Post301, c.Post302, c.Post303)
		if !follow {
			return f.final(resp, cancel), nil
		}
		loc, ok, err := location(resp)
		if err != nil {
			drain(resp)
			return nil, f.errorf(hop, "%w", err)
		}
		if !ok {
			return f.final(resp, cancel), nil // a 3xx without Location
		}

		next, err := f.redirect(req, resp, loc, nextMethod, keepBody, hop)
		if err != nil {
			drain(resp)
			return nil, err
		}
		if f.hc.CheckRedirect != nil {
			err := f.hc.CheckRedirect(next, slices.Clone(f.reqs))
			if errors.Is(err, http.ErrUseLastResponse) {
				closeBody(next.Body)
				hop.Changes = nil
				return f.final(resp, cancel), nil
			}
			if err != nil {
				closeBody(next.Body)
				drain(resp)
				return nil, f.errorf(hop, "%w", err)
			}
		}
		drain(resp)

		if hop.RetryAfter > 0 {
			if c.RetryAfterMax > 0 {
				wait := min(hop.RetryAfter, c.RetryAfterMax)
				if err := c.sleep(f.ctx, wait); err != nil {
					closeBody(next.Body)
					return nil, f.errorf(hop, "waiting for Retry-After: %w", err)
				}
				hop.Waited = wait
				note := fmt.Sprintf("waited %s (Retry-After)", wait)
				if wait < hop.RetryAfter {
					note = fmt.Sprintf("waited %s (Retry-After %s, capped)", wait, hop.RetryAfter)
				}
				hop.Changes = append(hop.Changes, note)
			} else {
				hop.Changes = append(hop.Changes, fmt.Sprintf("Retry-After %s not waited for", hop.RetryAfter))
			}
		}
		req = next
	}
}

// initBodyState sorts out the caller's body: none, rewindable through
// GetBody, or captured as it is first sent.
func (f *follower) initBodyState() error {
	ireq := f.ireq
	if ireq.Body == nil || ireq.Body == http.NoBody {
		return nil
	}
	f.hasBody = true
	f.bodyLen = ireq.ContentLength
	if ireq.GetBody != nil {
		f.getBody = ireq.GetBody
		f.initBody = ireq.Body
		return nil
	}
	c := f.c
	f.cap = newCapture(ireq.Body,
		orDefault(c.ReplayLimit, DefaultReplayLimit),
		orDefault(c.ReplayMemory, DefaultReplayMemory),
		c.TempDir)
	f.getBody = f.cap.newReader
	r, err := f.cap.newReader()
	if err != nil {
		return err
	}
	f.initBody = r
	return nil
}

// newRequest returns a request of the chain: the caller's, with its
// context, the chain's headers (a copy of tmpl) and no body.
func (f *follower) newRequest(method string, u *url.URL, host string, via *http.Response) *http.Request {
	r := f.ireq.Clone(f.ctx)
	r.Method = method
	r.URL = u
	r.Host = host
	r.Header = f.tmpl.Clone()
	r.Body, r.GetBody, r.ContentLength = nil, nil, 0
	r.TransferEncoding, r.Trailer = nil, nil
	r.Response = via
	return r
}

// send sends one hop as http.Client.send would — Jar cookies in, basic
// auth from the URL's userinfo, Jar updated from the response — and records
// it.
func (f *follower) send(req *http.Request) (*http.Response, error) {
	c := f.c
	f.seen[fingerprint(req)] = len(f.hops) // before the Jar's cookies: see fingerprint

	cookieURL := req.URL
	if req.Host != "" {
		cu := *req.URL
		cu.Host = req.Host
		cookieURL = &cu
	}
	if jar := f.hc.Jar; jar != nil {
		for _, ck := range jar.Cookies(cookieURL) {
			req.AddCookie(ck)
		}
	}
	if u := req.URL.User; u != nil && req.Header.Get("Authorization") == "" {
		pw, _ := u.Password()
		req.SetBasicAuth(u.Username(), pw)
	}

	f.reqs = append(f.reqs, req)
	start := c.now()
	resp, err := f.rt.RoundTrip(req)
	took := c.now().Sub(start)
	if err != nil {
		if f.cap != nil && req.Body != nil && len(f.hops) > 0 && !f.cap.replayable() && !errors.Is(err, ErrBodyTooLarge) {
			// The replay ran out of kept bytes while another hop was
			// still streaming the source.
			err = fmt.Errorf("%w: %w", ErrBodyTooLarge, err)
		}
		return nil, fmt.Errorf("hop %d: %s %s: %w", len(f.hops)+1, req.Method, req.URL.Redacted(), err)
	}
	if resp == nil {
		return nil, fmt.Errorf("hop %d: %s %s: RoundTripper (%T) returned a nil *Response with a nil error", len(f.hops)+1, req.Method, req.URL.Redacted(), f.rt)
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	if jar := f.hc.Jar; jar != nil {
		if rc := resp.Cookies(); len(rc) > 0 {
			jar.SetCookies(cookieURL, rc)
		}
	}
	if len(resp.Header.Values("Set-Cookie")) > 0 {
		clear(f.seen) // a cookie changed: a repeat is no longer a loop
	}
	hop := Hop{
		Method:       req.Method,
		URL:          req.URL.Redacted(),
		Status:       resp.StatusCode,
		Location:     resp.Header.Get("Location"),
		Duration:     took,
		BodyReplayed: req.Body != nil && len(f.hops) > 0,
	}
	if v := resp.Header.Get("Retry-After"); v != "" && isRedirect(resp.StatusCode) {
		hop.RetryAfter, _ = retryAfter(v, c.now())
	}
	f.hops = append(f.hops, hop)
	return resp, nil
}

// setBody gives req the chain's body, with "Expect: 100-continue" when it
// is large or of unknown length (see Client.ExpectContinueThreshold).
func (f *follower) setBody(req *http.Request, body io.ReadCloser) {
	req.Body, req.GetBody = body, f.getBody
	req.ContentLength = f.bodyLen
	if f.cap != nil && req.ContentLength <= 0 {
		// Known once read to its end.
		if req.ContentLength = max(f.cap.size(), -1); req.ContentLength == 0 {
			body.Close()
			req.Body = http.NoBody
		}
	}
	req.TransferEncoding, req.Trailer = f.ireq.TransferEncoding, f.ireq.Trailer

	thr := f.c.ExpectContinueThreshold
	switch {
	case thr < 0, req.Body == http.NoBody:
		return
	case thr == 0:
		thr = DefaultExpectContinueThreshold
	}
	if (req.ContentLength <= 0 || req.ContentLength > thr) && req.Header.Get("Expect") == "" {
		req.Header.Set("Expect", "100-continue")
	}
}

// redirect builds the request that follows resp, whose Location is loc,
// recording in hop what changes; or fails with an *Error.
func (f *follower) redirect(req *http.Request, resp *http.Response, loc, method string, keepBody bool, hop *Hop) (*http.Request, error) {
	c := f.c
	u, err := Resolve(req.URL, loc)
	if err != nil {
		return nil, f.errorf(hop, "%w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, f.errorf(hop, "%w %q in Location %q", ErrUnsupportedScheme, u.Scheme, loc)
	}
	downgrade := req.URL.Scheme == "https" && u.Scheme == "http"
	if downgrade && !c.AllowDowngrade {
		return nil, f.errorf(hop, "%w: Location %s", ErrDowngrade, u.Redacted())
	}

	// What changes, in the order a reader wants it told.
	var changes []string
	if method != req.Method {
		changes = append(changes, fmt.Sprintf("method %s→%s", req.Method, method))
	}
	if !keepBody {
		// The method changed: the body goes, and so do the body headers,
		// even when there was no body (WHATWG Fetch drops them whatever
		// the body).
		if f.hasBody {
			f.hasBody = false
			changes = append(changes, "body dropped")
		}
		for _, h := range bodyHeaders {
			if _, ok := f.tmpl[h]; ok {
				f.tmpl.Del(h)
				changes = append(changes, h+" dropped")
			}
		}
		if f.tmpl.Get("Expect") != "" {
			f.tmpl.Del("Expect")
			changes = append(changes, "Expect dropped")
		}
	}
	if !f.credsStripped && originOf(u) != f.firstOrigin && !keepsAuth(c.KeepAuth, u) {
		f.credsStripped = true
		for _, h := range credentialHeaders {
			if _, ok := f.tmpl[h]; ok {
				f.tmpl.Del(h)
				changes = append(changes, h+" dropped (cross-origin)")
			}
		}
	}
	if f.hc.Jar != nil && f.tmpl.Get("Cookie") != "" {
		changes = append(changes, f.dropOverriddenCookies(resp)...)
	}
	if downgrade && !f.downgraded {
		f.downgraded = true
		if f.tmpl.Get("Referer") != "" {
			changes = append(changes, "Referer dropped (downgrade)")
		}
		f.tmpl.Del("Referer") // the caller's, never sent again
	}

	// Keep a custom Host through relative Locations, as Go's client does
	// (golang/go#22233).
	host := ""
	if req.Host != "" && req.Host != req.URL.Host {
		if ref, err := url.Parse(cleanLocation(loc)); err == nil && ref.Host == "" && !ref.IsAbs() {
			host = req.Host
		}
	}
	next := f.newRequest(method, u, host, resp)
	if ref := referer(req.URL, u, f.tmpl.Get("Referer")); ref != "" {
		next.Header.Set("Referer", ref)
	} else {
		next.Header.Del("Referer")
	}
	if f.hasBody {
		body, err := f.getBody()
		if err != nil {
			if errors.Is(err, ErrBodyTooLarge) {
				return nil, f.errorf(hop, "%w (a %d asks for it again)", err, resp.StatusCode)
			}
			return nil, f.errorf(hop, "rewind body: %w", err)
		}
		f.setBody(next, body)
	}

	hop.Changes = changes
	if first, ok := f.seen[fingerprint(next)]; ok {
		closeBody(next.Body)
		cycle := make([]int, 0, len(f.hops)-first)
		for i := first; i < len(f.hops); i++ {
			cycle = append(cycle, i)
		}
		err := f.errorf(hop, "%w: the next request would repeat hop %d", ErrLoop, first+1)
		err.(*Error).Cycle = cycle
		return nil, err
	}
	if len(f.hops) > c.maxRedirects() {
		closeBody(next.Body)
		return nil, &Error{
			Hops:  f.hops,
			Cycle: cycleOf(f.hops, next),
			Err:   fmt.Errorf("%w: stopped after %d", ErrTooManyRedirects, c.maxRedirects()),
		}
	}
	return next, nil
}

// dropOverriddenCookies removes from the caller's Cookie header the cookies
// that resp sets, since the Jar now holds newer values (golang/go#17494).
func (f *follower) dropOverriddenCookies(resp *http.Response) []string {
	set := resp.Cookies()
	if len(set) == 0 {
		return nil
	}
	probe := &http.Request{Header: http.Header{"Cookie": f.tmpl.Values("Cookie")}}
	var keep []string
	var changes []string
	for _, ck := range probe.Cookies() {
		if slices.ContainsFunc(set, func(s *http.Cookie) bool { return s.Name == ck.Name }) {
			changes = append(changes, fmt.Sprintf("Cookie %s dropped (set by the response)", ck.Name))
			continue
		}
		keep = append(keep, ck.String())
	}
	if len(changes) == 0 {
		return nil
	}
	if len(keep) == 0 {
		f.tmpl.Del("Cookie")
	} else {
		f.tmpl.Set("Cookie", strings.Join(keep, "; "))
	}
	return changes
}

// final returns resp as the chain's result.
func (f *follower) final(resp *http.Response, cancel context.CancelFunc) *Result {
	if f.hc.Timeout > 0 {
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	} else {
		cancel()
	}
	return &Result{Response: resp, Hops: f.hops}
}

// errorf returns an *Error naming hop (the last one).
func (f *follower) errorf(hop *Hop, format string, args ...any) error {
	prefix := fmt.Sprintf("hop %d (%d %s %s): ", len(f.hops), hop.Status, hop.Method, hop.URL)
	return &Error{Hops: f.hops, Err: fmt.Errorf(prefix+format, args...)}
}

// location returns resp's Location, and false when it has none (or only
// empty ones). Several that differ are an error.
func location(resp *http.Response) (string, bool, error) {
	var loc string
	for _, v := range resp.Header.Values("Location") {
		v = cleanLocation(v)
		switch {
		case v == "":
		case loc == "":
			loc = v
		case v != loc:
			return "", false, fmt.Errorf("%w: differing Location headers %q", ErrBadLocation, resp.Header.Values("Location"))
		}
	}
	return loc, loc != "", nil
}

// fingerprint identifies a request for loop detection: method, URL (without
// fragment), Host, headers but Referer (which only says where the chain came
// from) and Expect (which only says how the body travels), and whether it
// has a body (always the caller's).
func fingerprint(r *http.Request) string {
	var b strings.Builder
	u := *r.URL
	u.Fragment, u.RawFragment = "", ""
	b.WriteString(r.Method)
	b.WriteByte(' ')
	b.WriteString(u.String())
	b.WriteByte('\n')
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	b.WriteString(host)
	b.WriteByte('\n')
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		if k != "Referer" && k != "Expect" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(strings.Join(r.Header[k], "\x00"))
		b.WriteByte('\n')
	}
	if r.Body != nil && r.Body != http.NoBody {
		b.WriteString("body")
	}
	return b.String()
}

// cycleOf finds the first (method, URL) of the chain — its hops, then next —
// that repeats an earlier one, and returns the indexes of the hops from
// that earlier one up to the repeat. nil if none repeats.
func cycleOf(hops []Hop, next *http.Request) []int {
	keys := make([]string, 0, len(hops)+1)
	for _, h := range hops {
		keys = append(keys, h.Method+" "+h.URL)
	}
	keys = append(keys, next.Method+" "+next.URL.Redacted())
	first := make(map[string]int)
	for j, k := range keys {
		if i, ok := first[k]; ok {
			cycle := make([]int, 0, j-i)
			for n := i; n < j; n++ {
				cycle = append(cycle, n)
			}
			return cycle
		}
		first[k] = j
	}
	return nil
}

func isRedirect(status int) bool {
	_, _, follow := redirectBehavior(status, http.MethodGet, false, false, false)
	return follow
}

// retryAfter parses a Retry-After value: delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3). A date in the past is a zero delay.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// drain reads a little of an intermediate response's body, so that its
// connection can be reused, and closes it.
func drain(resp *http.Response) {
	if resp.ContentLength < 0 || resp.ContentLength <= maxDrain {
		io.CopyN(io.Discard, resp.Body, maxDrain)
	}
	resp.Body.Close()
}

func closeBody(b io.ReadCloser) {
	if b != nil {
		b.Close()
	}
}

// cancelBody stops the chain's timer when the final body is closed or read
// to its end.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.cancel()
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
