package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/detourhttp/detour/follow"
)

const traceUsage = "detour trace URL [-X METHOD] [-d DATA | -d @FILE | -d @-] [--data-binary DATA|@FILE|@-] " +
	"[-H 'Name: value']... [-I] [-u USER:PASS] [-b 'k=v; k2=v2'] [--max-hops N] [--json] " +
	"[--keep-auth HOST]... [--allow-downgrade] [--post301] [--post302] [--post303] " +
	"[--resolve HOST:PORT:ADDR]... [-k | --cacert FILE] [--timeout DURATION]"

// expectContinueTimeout is how long trace waits for "100 Continue" before
// sending a body that follow sent with "Expect: 100-continue".
const expectContinueTimeout = time.Second

// traceConfig is trace's settings once its flags are parsed and checked.
type traceConfig struct {
	url       *url.URL
	method    string // "" until decided: -X, else HEAD for -I, POST for data, GET
	data      []dataArg
	headers   []string // -H as given
	head      bool
	user      string
	cookies   []string
	maxHops   int
	json      bool
	keepAuth  []string
	downgrade bool
	post      [3]bool // --post301, --post302, --post303
	resolve   map[string]string
	insecure  bool
	caFile    string
	timeout   time.Duration
}

// dataArg is one -d or --data-binary, in the order given: curl joins them
// with '&'.
type dataArg struct {
	value  string // the text, or the name after '@'
	file   bool   // value names a file ("-" for stdin)
	binary bool   // --data-binary: the bytes as they are
}

// dataFlag collects -d and --data-binary into one ordered list.
type dataFlag struct {
	list   *[]dataArg
	binary bool
}

func (d dataFlag) String() string { return "" }

func (d dataFlag) Set(v string) error {
	a := dataArg{value: v, binary: d.binary}
	if rest, ok := strings.CutPrefix(v, "@"); ok {
		if rest == "" {
			return errors.New("@ needs a file name, or - for stdin")
		}
		a.value, a.file = rest, true
	}
	*d.list = append(*d.list, a)
	return nil
}

// traceFlags parses trace's arguments; flags may come before or after URL.
func (m *Main) traceFlags(args []string) (traceConfig, int, bool) {
	var cfg traceConfig
	var headers, cookies, keepAuth, resolve listFlag
	var timeout string
	fs := newFlagSet("trace")
	fs.StringVar(&cfg.method, "X", "", "`METHOD` of the first request (later hops: as the redirects decide)")
	fs.Var(dataFlag{list: &cfg.data}, "d", "send `DATA` (implies POST, form Content-Type); @FILE reads a file and @- stdin, without CR and LF; repeated: joined with &")
	fs.Var(dataFlag{list: &cfg.data, binary: true}, "data-binary", "send `DATA`, @FILE or @- as it is")
	fs.Var(&headers, "H", "add a request header, `'Name: value'` (repeatable); 'Name:' removes one trace would send, 'Name;' sends it empty")
	fs.BoolVar(&cfg.head, "I", false, "send HEAD")
	fs.StringVar(&cfg.user, "u", "", "basic auth `USER:PASS`")
	fs.Var(&cookies, "b", "send `'k=v; k2=v2'` as the Cookie header (repeatable)")
	fs.IntVar(&cfg.maxHops, "max-hops", follow.DefaultMaxRedirects, "follow at most `N` redirects; 0 shows the first response")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON object")
	fs.Var(&keepAuth, "keep-auth", "keep Authorization and Cookie on a hop to `HOST` or HOST:PORT (repeatable)")
	fs.BoolVar(&cfg.downgrade, "allow-downgrade", false, "follow redirects from https to http")
	fs.BoolVar(&cfg.post[0], "post301", false, "keep POST on a 301")
	fs.BoolVar(&cfg.post[1], "post302", false, "keep POST on a 302")
	fs.BoolVar(&cfg.post[2], "post303", false, "keep POST on a 303")
	fs.Var(&resolve, "resolve", "`HOST:PORT:ADDR`: connect to ADDR for HOST:PORT, without resolving HOST (repeatable)")
	fs.BoolVar(&cfg.insecure, "k", false, "do not verify the server's TLS certificate")
	fs.StringVar(&cfg.caFile, "cacert", "", "trust the CA certificates in `FILE` (PEM)")
	fs.StringVar(&timeout, "timeout", "", "give up on the whole trace after `DURATION` (10s, 1m; a bare number is seconds)")
	pos, code, ok := m.parseFlags(fs, args, traceUsage)
	if !ok {
		return cfg, code, false
	}
	fail := func(format string, args ...any) (traceConfig, int, bool) {
		return cfg, m.usageError(traceUsage, format, args...), false
	}

	switch len(pos) {
	case 0:
		return fail("trace takes a URL")
	case 1:
	default:
		return fail("trace takes one URL, got %q", pos)
	}
	u, err := parseTraceURL(pos[0])
	if err != nil {
		return fail("%v", err)
	}
	cfg.url = u

	if cfg.head && len(cfg.data) > 0 {
		return fail("-I (HEAD) sends no body: drop -d or --data-binary")
	}
	if cfg.method != "" && !httpguts.ValidHeaderFieldName(cfg.method) {
		return fail("-X %q is not a method", cfg.method)
	}
	for _, h := range headers {
		if _, _, _, err := parseHeader(h); err != nil {
			return fail("-H %q: %v", h, err)
		}
	}
	cfg.headers = headers
	if cfg.user != "" && !strings.Contains(cfg.user, ":") {
		return fail("-u %q: want USER:PASS", cfg.user)
	}
	for _, c := range cookies {
		if !strings.Contains(c, "=") {
			return fail("-b %q: want 'name=value; name2=value2' (cookie files are not read)", c)
		}
		if strings.ContainsAny(c, "\r\n") {
			return fail("-b %q: a cookie cannot hold CR or LF", c)
		}
	}
	cfg.cookies = cookies
	if cfg.maxHops < 0 {
		return fail("--max-hops %d: want 0 or more", cfg.maxHops)
	}
	cfg.keepAuth = keepAuth
	cfg.resolve = make(map[string]string, len(resolve))
	for _, r := range resolve {
		from, to, err := parseResolve(r)
		if err != nil {
			return fail("--resolve %q: %v", r, err)
		}
		cfg.resolve[from] = to
	}
	if cfg.insecure && cfg.caFile != "" {
		return fail("-k and --cacert exclude each other")
	}
	if timeout != "" {
		d, err := parseTimeout(timeout)
		if err != nil {
			return fail("--timeout %q: %v", timeout, err)
		}
		cfg.timeout = d
	}
	stdins := 0
	for _, a := range cfg.data {
		if a.file && a.value == "-" {
			stdins++
		}
	}
	if stdins > 1 {
		return fail("stdin can be read once: only one @-")
	}
	return cfg, exitOK, true
}

// parseTraceURL parses the URL to trace; one without a scheme is http, as
// in curl.
func parseTraceURL(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q: only http and https are traced", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", s)
	}
	return u, nil
}

// parseHeader parses -H: "Name: value" sets, "Name:" removes, "Name;"
// sends an empty value (curl's meanings).
func parseHeader(h string) (name, value string, remove bool, err error) {
	if strings.ContainsAny(h, "\r\n") {
		return "", "", false, errors.New("a header cannot hold CR or LF")
	}
	if n, ok := strings.CutSuffix(h, ";"); ok && !strings.Contains(n, ":") {
		name = strings.TrimSpace(n)
	} else {
		n, v, ok := strings.Cut(h, ":")
		if !ok {
			return "", "", false, errors.New("want 'Name: value'")
		}
		name, value = strings.TrimSpace(n), strings.TrimSpace(v)
		remove = value == ""
	}
	if !httpguts.ValidHeaderFieldName(name) {
		return "", "", false, fmt.Errorf("%q is not a header name", name)
	}
	return name, value, remove, nil
}

// parseResolve parses curl's HOST:PORT:ADDR into the dial address to
// replace ("host:port", host lower case) and the one to dial instead.
func parseResolve(s string) (from, to string, err error) {
	var host, rest string
	if strings.HasPrefix(s, "[") {
		i := strings.Index(s, "]:")
		if i < 0 {
			return "", "", errors.New("want HOST:PORT:ADDR")
		}
		host, rest = s[1:i], s[i+2:]
	} else {
		var ok bool
		host, rest, ok = strings.Cut(s, ":")
		if !ok {
			return "", "", errors.New("want HOST:PORT:ADDR")
		}
	}
	port, addr, ok := strings.Cut(rest, ":")
	if !ok || host == "" {
		return "", "", errors.New("want HOST:PORT:ADDR")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", "", fmt.Errorf("port %q is not a port number", port)
	}
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return "", "", fmt.Errorf("ADDR %q is not an IP address", addr)
	}
	return net.JoinHostPort(strings.ToLower(host), port), net.JoinHostPort(ip.String(), port), nil
}

// parseTimeout parses a Go duration, or a bare number of seconds as curl's
// --max-time takes.
func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		secs, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0, errors.New("want a duration such as 10s or 1m30s")
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 {
		return 0, errors.New("want a positive duration")
	}
	return d, nil
}

// trace follows URL's redirects and prints every hop (SPEC §5.2, §8): exit
// 0 when the chain ends in a response, 1 on a redirect error (loop, too
// many hops, refused downgrade, body too large to replay, bad Location,
// unsupported scheme, a later hop that got no response), 2 on a usage
// error, an unreadable @FILE or --cacert, or no response at all.
func (m *Main) trace(ctx context.Context, args []string) int {
	cfg, code, ok := m.traceFlags(args)
	if !ok {
		return code
	}
	req, err := m.traceRequest(ctx, cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "detour: trace: %v\n", err)
		return exitCantRun
	}
	tr, err := traceTransport(cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "detour: trace: %v\n", err)
		return exitCantRun
	}
	defer tr.CloseIdleConnections()
	jar, err := cookiejar.New(nil)
	if err != nil {
		fmt.Fprintf(m.Stderr, "detour: trace: cookie jar: %v\n", err)
		return exitCantRun
	}
	client := &follow.Client{
		HTTP:           &http.Client{Transport: tr, Jar: jar, Timeout: cfg.timeout},
		MaxRedirects:   cfg.maxHops,
		KeepAuth:       cfg.keepAuth,
		AllowDowngrade: cfg.downgrade,
		Post301:        cfg.post[0],
		Post302:        cfg.post[1],
		Post303:        cfg.post[2],
	}
	if cfg.maxHops == 0 {
		client.MaxRedirects = follow.NoRedirects
	}

	res, err := client.Follow(req)
	if res != nil {
		res.Response.Body.Close()
	}
	t := follow.NewTrace(res, err)
	if cfg.json {
		enc := json.NewEncoder(m.Stdout)
		enc.SetEscapeHTML(false)
		if werr := enc.Encode(t); werr != nil {
			fmt.Fprintf(m.Stderr, "detour: trace: %v\n", werr)
			return exitCantRun
		}
	} else {
		writeTrace(m.Stdout, t, cfg.maxHops)
		if err != nil {
			fmt.Fprintf(m.Stderr, "detour: %v\n", err)
		}
	}
	return traceExit(err)
}

// traceExit maps Follow's error to an exit code: 2 when no response came
// back at all (the first request failed), 1 for every other failure of the
// chain.
func traceExit(err error) int {
	if err == nil {
		return exitOK
	}
	var fe *follow.Error
	if errors.As(err, &fe) && len(fe.Hops) == 0 {
		return exitCantRun
	}
	return exitFailed
}

// traceRequest builds the first request: method, body, headers.
func (m *Main) traceRequest(ctx context.Context, cfg traceConfig) (*http.Request, error) {
	body, err := m.traceBody(cfg.data)
	if err != nil {
		return nil, err
	}
	method := cfg.method
	switch {
	case method != "":
	case cfg.head:
		method = http.MethodHead
	case len(cfg.data) > 0:
		method = http.MethodPost
	default:
		method = http.MethodGet
	}
	// A *bytes.Reader gets a GetBody (follow rewinds it) and a
	// Content-Length; a stream gets neither (follow keeps its bytes as
	// they are first sent, so that a 307 can send them again).
	req, err := http.NewRequestWithContext(ctx, method, cfg.url.String(), body)
	if err != nil {
		return nil, err
	}
	if _, ok := body.(*bytes.Reader); !ok && body != nil {
		req.ContentLength = -1
	}

	if len(cfg.data) > 0 {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cfg.user != "" {
		user, pass, _ := strings.Cut(cfg.user, ":")
		req.SetBasicAuth(user, pass)
	}
	if len(cfg.cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(cfg.cookies, "; "))
	}
	given := map[string]bool{}
	for _, h := range cfg.headers {
		name, value, remove, _ := parseHeader(h) // checked by traceFlags
		key := http.CanonicalHeaderKey(name)
		if key == "Host" {
			if !remove {
				req.Host = value
			}
			continue
		}
		switch {
		case remove:
			req.Header.Del(key)
		case given[key]:
			req.Header.Add(key, value)
		default:
			req.Header.Set(key, value)
		}
		given[key] = true
	}
	return req, nil
}

// traceBody joins the -d and --data-binary arguments with '&', as curl
// does: nil when there are none, a *bytes.Reader when every part is known
// (data and files), a stream when one reads stdin.
func (m *Main) traceBody(data []dataArg) (io.Reader, error) {
	if len(data) == 0 {
		return nil, nil
	}
	var parts []io.Reader
	var fixed []byte
	for i, a := range data {
		if i > 0 {
			fixed = append(fixed, '&')
		}
		switch {
		case !a.file:
			fixed = append(fixed, a.value...)
		case a.value == "-":
			var r io.Reader = m.Stdin
			if r == nil {
				r = strings.NewReader("")
			}
			if !a.binary {
				r = &stripNewlines{r: r}
			}
			parts = append(parts, bytes.NewReader(fixed), r)
			fixed = nil
		default:
			b, err := os.ReadFile(a.value)
			if err != nil {
				return nil, fmt.Errorf("read data: %w", err)
			}
			if !a.binary {
				b = stripCRLF(b)
			}
			fixed = append(fixed, b...)
		}
	}
	if parts == nil {
		return bytes.NewReader(fixed), nil // http.NewRequest: NoBody when empty
	}
	parts = append(parts, bytes.NewReader(fixed))
	return io.MultiReader(parts...), nil
}

// stripCRLF removes every CR and LF, as curl does to -d @FILE.
func stripCRLF(b []byte) []byte {
	out := b[:0]
	for _, c := range b {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return out
}

// stripNewlines removes CR and LF from a stream as it is read, as curl
// does to -d @-.
type stripNewlines struct{ r io.Reader }

func (s *stripNewlines) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		kept := stripCRLF(p[:n])
		if len(kept) > 0 || err != nil {
			return len(kept), err
		}
	}
}

// traceTransport returns trace's own Transport: http.DefaultTransport's
// settings, --resolve's addresses, -k or --cacert.
func traceTransport(cfg traceConfig) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ExpectContinueTimeout = expectContinueTimeout
	if len(cfg.resolve) > 0 {
		dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		resolve := cfg.resolve
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := resolve[strings.ToLower(addr)]; ok {
				addr = to
			}
			return dialer.DialContext(ctx, network, addr)
		}
		proxy := tr.Proxy
		tr.Proxy = func(r *http.Request) (*url.URL, error) {
			if _, ok := resolve[strings.ToLower(canonicalAddr(r.URL))]; ok || proxy == nil {
				return nil, nil // a --resolve host is reached directly
			}
			return proxy(r)
		}
	}
	switch {
	case cfg.insecure:
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	case cfg.caFile != "":
		pem, err := os.ReadFile(cfg.caFile)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificate in it", cfg.caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return tr, nil
}

// canonicalAddr returns u's "host:port", with the scheme's default port.
func canonicalAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// writeTrace prints the chain one hop a line, in aligned columns:
//
//	1  307  POST  http://localhost:8080/original-resource   0.812ms  → /temporary-resource
//	2  200  POST  http://localhost:8080/temporary-resource  0.215ms  body replayed
//	final: 200 POST http://localhost:8080/temporary-resource (1 redirect)
//
// After a hop's Location come the changes made before the next hop
// ("then: method POST→GET, body dropped"). The final line is left out when
// the chain failed; the caller prints the error.
func writeTrace(w io.Writer, t follow.Trace, maxHops int) {
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	for i, h := range t.Hops {
		var notes []string
		if h.BodyReplayed {
			notes = append(notes, "body replayed")
		}
		if h.Location != "" {
			notes = append(notes, "→ "+h.Location)
		}
		if len(h.Changes) > 0 {
			notes = append(notes, "then: "+strings.Join(h.Changes, ", "))
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", i+1, h.Status, h.Method, h.URL, formatDuration(h.Duration), strings.Join(notes, "  "))
	}
	tw.Flush()
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	for line := range strings.Lines(table.String()) {
		bw.WriteString(strings.TrimRight(line, " \n")) // the notes column may be empty
		bw.WriteByte('\n')
	}
	final, ok := t.Final()
	if !ok {
		return
	}
	redirects := len(t.Hops) - 1
	note := fmt.Sprintf("%d redirects", redirects)
	switch {
	case redirects == 1:
		note = "1 redirect"
	case maxHops == 0 && final.Location != "":
		note = "not followed: --max-hops 0"
	}
	fmt.Fprintf(bw, "final: %d %s %s (%s)\n", final.Status, final.Method, final.URL, note)
}

// formatDuration prints d in milliseconds, to the microsecond below 10ms,
// or in seconds from one second up.
func formatDuration(d time.Duration) string {
	ms := float64(d.Microseconds()) / 1000
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.3fms", ms)
}

var _ flag.Value = dataFlag{}
