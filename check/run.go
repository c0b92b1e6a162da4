package check

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/detourhttp/detour/follow"
)

// Defaults of a Runner's zero fields.
const (
	// DefaultConcurrency is how many cases run at once, and how many
	// connections are opened to each host, when Runner.Concurrency is 0.
	DefaultConcurrency = 8
	// DefaultTimeout bounds each case, its redirect chain included, when
	// Runner.Timeout is 0.
	DefaultTimeout = 10 * time.Second
)

// userAgent is sent when a case sets no User-Agent.
const userAgent = "detour-check"

// maxDrain is how much of a response body is read so that its connection
// can be reused; a longer body is closed unread.
const maxDrain = 64 << 10

var (
	// ErrUnreachable: the first case got no response at all (the server
	// refused the connection, timed out, or spoke no HTTP), so nothing
	// was checked. Run returns it wrapped with the cause.
	ErrUnreachable = errors.New("no response from the server")

	// ErrNoBase: a case's URL is a path and the Runner has no Base.
	ErrNoBase = errors.New("the URL is a path and no base URL is given")
)

// Runner runs cases against a live server. The zero value is ready to use
// for cases with absolute URLs: DefaultConcurrency cases at a time, each
// within DefaultTimeout, Locations compared after resolution.
//
// Connections go straight to the server (or where Resolve says): the
// environment's proxy settings are not used, since a proxy would answer
// in the server's place.
//
// A Runner may run several Run calls at once as long as its fields are not
// changed meanwhile. Each Run has its own connection pool, closed when it
// returns.
type Runner struct {
	// Base is the URL the paths of cases are appended to: its scheme and
	// host say where to connect, and its path, if any, prefixes theirs
	// ("http://127.0.0.1:8080/app" and "/old" give
	// "http://127.0.0.1:8080/app/old"). Nil: every case URL must be
	// absolute.
	Base *url.URL

	// Concurrency is how many cases run at once, and the most connections
	// open to any one host; 0 means DefaultConcurrency.
	Concurrency int

	// Timeout bounds each case: connecting, the request, the redirect
	// chain when one is followed, and reading (up to 64 KiB of) the final
	// response body. 0 means DefaultTimeout.
	Timeout time.Duration

	// ExactLocation compares the Location header with the expected text
	// byte for byte, instead of comparing both after resolution against
	// the request URL.
	ExactLocation bool

	// Resolve sends connections for a host and port elsewhere, as curl's
	// --resolve does; the URL, Host header and TLS server name are kept.
	Resolve []Override

	// TLSClientConfig configures TLS for https URLs; nil means Go's
	// defaults (the system's roots).
	TLSClientConfig *tls.Config

	// Progress, if not nil, is called after each case with the counts so
	// far. Calls come from Run's goroutines one at a time, in order of
	// completion; a slow Progress slows the run.
	Progress func(Progress)
}

// Progress is how far a Run has got.
type Progress struct {
	Done, Failed, Total int
}

// Report is the outcome of a Run.
type Report struct {
	// Name names the run in reports (the JUnit test suite): the
	// expectations file, or the rule set. Run leaves it empty.
	Name string
	// Results, one per case, in the order of the cases.
	Results []Result
	// Skipped lists rules that FromRules derived no case from; Run
	// leaves it empty.
	Skipped []Skipped
	// Passed and Failed count Results.
	Passed, Failed int
	// Started is when the run began; Duration how long it took.
	Started  time.Time
	Duration time.Duration
}

// Result is the outcome of one case.
type Result struct {
	// Case is the case, pointing into the slice given to Run.
	Case *Case
	// Method and URL of the request sent.
	Method string
	URL    string
	// Status and Location of the first response; 0 and "" when there
	// was none.
	Status   int
	Location string
	// Followed reports whether the redirect chain was followed (the case
	// expects final_status or hops). FinalStatus and Hops are the status
	// at its end and the number of redirects followed; FollowError is
	// set when the chain could not be followed to its end (a loop, too
	// many redirects, a bad Location, a failed hop), FinalStatus is then
	// 0 and Hops the number of redirects received before it broke off.
	Followed    bool
	FinalStatus int
	Hops        int
	FollowError string
	// Mismatches lists every expected field that differs.
	Mismatches []Mismatch
	// Error is set when the request got no response at all.
	Error string
	// Duration is how long the case took.
	Duration time.Duration
}

// Passed reports whether the case got a response and every expected
// field matched.
func (r *Result) Passed() bool { return r.Error == "" && len(r.Mismatches) == 0 }

// Mismatch is one expected field that the response did not meet.
type Mismatch struct {
	// Field is the name in the expectations file: "status", "location",
	// "final_status" or "hops".
	Field string
	// Expected and Got are the values, as text. A missing Location is
	// "(none)".
	Expected, Got string
	// Detail says more, when there is more to say: the two Locations
	// after resolution, or why the chain could not be followed.
	Detail string
}

// String returns "field: expected X, got Y" and the detail, if any.
func (m Mismatch) String() string {
	s := fmt.Sprintf("%s: expected %s, got %s", m.Field, m.Expected, m.Got)
	if m.Detail != "" {
		s += " (" + m.Detail + ")"
	}
	return s
}

// Run sends every case and compares the responses with the expectations.
// The first case runs alone; when it gets no response at all, Run stops
// and returns an error wrapping ErrUnreachable with the Report of that one
// case. Then up to Concurrency cases run at once.
//
// The error is also set, before anything is sent, when a case's URL is a
// path and Base is nil (ErrNoBase), and when ctx is done before the run
// ends (the Report then holds every result, the cut ones failed). A
// mismatch is not an error: it is in the Report.
func (r *Runner) Run(ctx context.Context, cases []Case) (*Report, error) {
	rep := &Report{Started: time.Now(), Results: make([]Result, len(cases))}
	targets := make([]*url.URL, len(cases))
	for i := range cases {
		u, err := r.target(&cases[i])
		if err != nil {
			return nil, fmt.Errorf("case %s: %w", caseRef(&cases[i], i), err)
		}
		targets[i] = u
	}
	conc := r.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	tr := &http.Transport{
		DialContext:           newDialer(r.Resolve).DialContext,
		ForceAttemptHTTP2:     true,
		MaxConnsPerHost:       conc,
		MaxIdleConns:          4 * conc,
		MaxIdleConnsPerHost:   conc,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if r.TLSClientConfig != nil {
		tr.TLSClientConfig = r.TLSClientConfig.Clone()
	}
	defer tr.CloseIdleConnections()
	x := &execution{r: r, tr: tr, plain: &http.Client{Transport: tr}, total: len(cases)}

	finish := func() *Report {
		for i := range rep.Results {
			if rep.Results[i].Passed() {
				rep.Passed++
			} else {
				rep.Failed++
			}
		}
		rep.Duration = time.Since(rep.Started)
		return rep
	}
	if len(cases) == 0 {
		return finish(), nil
	}

	rep.Results[0] = x.one(ctx, &cases[0], targets[0])
	if err := ctx.Err(); err != nil {
		rep.Results = rep.Results[:1]
		return finish(), fmt.Errorf("check: %w", err)
	}
	if rep.Results[0].Error != "" {
		rep.Results = rep.Results[:1]
		return finish(), fmt.Errorf("%w: %s", ErrUnreachable, rep.Results[0].Error)
	}
	x.progress(&rep.Results[0])

	var next atomic.Int64
	next.Store(1)
	var wg sync.WaitGroup
	for range min(conc, len(cases)-1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(cases) {
					return
				}
				rep.Results[i] = x.one(ctx, &cases[i], targets[i])
				x.progress(&rep.Results[i])
			}
		})
	}
	wg.Wait()
	finish()
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("check: %w", err)
	}
	return rep, nil
}

// caseRef names case i in an error: its source, else its number.
func caseRef(c *Case, i int) string {
	if c.Source != "" {
		return c.Source
	}
	return "#" + strconv.Itoa(i+1)
}

// target returns the URL a case's request goes to.
func (r *Runner) target(c *Case) (*url.URL, error) {
	s := c.Request.URL
	if !strings.HasPrefix(s, "/") {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("url %q: %w", s, unwrapURL(err))
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("url %q: want a path beginning with / or an absolute http(s) URL", s)
		}
		return u, nil
	}
	if r.Base == nil {
		return nil, fmt.Errorf("url %q: %w", s, ErrNoBase)
	}
	u, err := url.Parse(r.Base.Scheme + "://" + r.Base.Host + strings.TrimSuffix(r.Base.EscapedPath(), "/") + s)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", s, unwrapURL(err))
	}
	return u, nil
}

// execution is the state of one Run.
type execution struct {
	r     *Runner
	tr    *http.Transport
	plain *http.Client // without a cookie jar, for cases that follow nothing

	mu           sync.Mutex
	done, failed int
	total        int
}

// progress counts res and reports it.
func (x *execution) progress(res *Result) {
	if x.r.Progress == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.done++
	if !res.Passed() {
		x.failed++
	}
	x.r.Progress(Progress{Done: x.done, Failed: x.failed, Total: x.total})
}

// one runs case c against u.
func (x *execution) one(ctx context.Context, c *Case, u *url.URL) (res Result) {
	start := time.Now()
	res = Result{Case: c, Method: c.Request.method(), URL: u.String()}
	defer func() { res.Duration = time.Since(start) }()

	ctx, cancel := context.WithTimeout(ctx, x.timeout())
	defer cancel()
	var body io.Reader
	if c.Request.Body != "" {
		body = strings.NewReader(c.Request.Body)
	}
	req, err := http.NewRequestWithContext(ctx, res.Method, res.URL, body)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	for _, h := range c.Request.Headers {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}

	fc := follow.Client{HTTP: x.plain, MaxRedirects: follow.NoRedirects}
	if c.Expect.follows() {
		jar, _ := cookiejar.New(nil) // cookies work hop by hop, as in a browser
		fc.HTTP = &http.Client{Transport: x.tr, Jar: jar}
		fc.MaxRedirects = follow.DefaultMaxRedirects
		if c.Expect.Hops != nil {
			fc.MaxRedirects = max(fc.MaxRedirects, *c.Expect.Hops+1)
		}
	}
	out, err := fc.Follow(req)
	var hops []follow.Hop
	if out != nil {
		hops = out.Hops
		if b := out.Response.Body; b != nil {
			io.CopyN(io.Discard, b, maxDrain)
			b.Close()
		}
	} else if fe, ok := errors.AsType[*follow.Error](err); ok {
		hops = fe.Hops
	}
	if len(hops) == 0 {
		res.Error = noResponse(ctx, err, x.timeout())
		return res
	}
	first := hops[0]
	res.Status, res.Location = first.Status, first.Location
	if c.Expect.follows() {
		res.Followed = true
		if err != nil {
			// Every hop of a broken chain was a redirect.
			res.Hops, res.FollowError = len(hops), err.Error()
		} else {
			res.Hops, res.FinalStatus = len(hops)-1, out.Response.StatusCode
		}
	}
	x.compare(&res, c, u)
	return res
}

func (x *execution) timeout() time.Duration {
	if x.r.Timeout > 0 {
		return x.r.Timeout
	}
	return DefaultTimeout
}

// noResponse describes the error of a request that got no response.
func noResponse(ctx context.Context, err error, timeout time.Duration) string {
	if err == nil {
		return "no response"
	}
	msg := err.Error()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		msg += fmt.Sprintf(" (timed out after %s)", timeout)
	}
	return msg
}

// compare fills res.Mismatches.
func (x *execution) compare(res *Result, c *Case, u *url.URL) {
	e := &c.Expect
	if e.Status != 0 && e.Status != res.Status {
		res.Mismatches = append(res.Mismatches, Mismatch{Field: "status",
			Expected: strconv.Itoa(e.Status), Got: strconv.Itoa(res.Status)})
	}
	if e.Location != nil {
		if m, ok := x.compareLocation(*e.Location, res.Location, requestURL(u, c.Request.Host())); !ok {
			res.Mismatches = append(res.Mismatches, m)
		}
	}
	if e.FinalStatus != 0 && (res.FollowError != "" || e.FinalStatus != res.FinalStatus) {
		m := Mismatch{Field: "final_status", Expected: strconv.Itoa(e.FinalStatus), Got: strconv.Itoa(res.FinalStatus)}
		if res.FollowError != "" {
			m.Got, m.Detail = "no final response", res.FollowError
		}
		res.Mismatches = append(res.Mismatches, m)
	}
	if e.Hops != nil && (res.FollowError != "" || *e.Hops != res.Hops) {
		m := Mismatch{Field: "hops", Expected: strconv.Itoa(*e.Hops), Got: strconv.Itoa(res.Hops)}
		if res.FollowError != "" {
			m.Got = fmt.Sprintf("%d before the chain broke off", res.Hops)
			if e.FinalStatus == 0 {
				m.Detail = res.FollowError
			}
		}
		res.Mismatches = append(res.Mismatches, m)
	}
}

// requestURL is the URL a client asked for: u, with the host of the Host
// header when the case sends one. Locations are resolved against it.
func requestURL(u *url.URL, host string) *url.URL {
	if host == "" {
		return u
	}
	v := *u
	v.Host = strings.ToLower(host)
	return &v
}

// compareLocation compares the Location got with the one expected ("" for
// none), as text or after resolution against base.
func (x *execution) compareLocation(want, got string, base *url.URL) (Mismatch, bool) {
	m := Mismatch{Field: "location", Expected: showLocation(want), Got: showLocation(got)}
	switch {
	case want == got:
		return m, true
	case want == "" || got == "":
		return m, false
	case x.r.ExactLocation:
		return m, false
	}
	w, err := follow.Resolve(base, want)
	if err != nil {
		m.Detail = fmt.Sprintf("the expected Location does not resolve: %v", err)
		return m, false
	}
	g, err := follow.Resolve(base, got)
	if err != nil {
		m.Detail = fmt.Sprintf("the Location got does not resolve: %v", err)
		return m, false
	}
	ws, gs := canonical(w), canonical(g)
	if ws == gs {
		return m, true
	}
	m.Detail = fmt.Sprintf("resolved against %s: expected %s, got %s", base, ws, gs)
	return m, false
}

// showLocation quotes a Location for a report; "(none)" for none.
func showLocation(s string) string {
	if s == "" {
		return "(none)"
	}
	return strconv.Quote(s)
}

// canonical returns u as text without the scheme's default port, so that
// http://h:80/x and http://h/x compare equal.
func canonical(u *url.URL) string {
	v := *u
	if p := v.Port(); p == "80" && v.Scheme == "http" || p == "443" && v.Scheme == "https" {
		v.Host = strings.TrimSuffix(v.Host, ":"+p)
	}
	return v.String()
}
