package convert_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour/internal/pct"
	"github.com/detourhttp/detour/internal/server"
	"github.com/detourhttp/detour/ruleset"
)

// This file runs the real nginx and Apache for the differential tests:
// one process of each per test, every corpus configuration on its own
// loopback port, and an in-process detour handler beside it.

// listenRE finds nginx listen directives.
var listenRE = regexp.MustCompile(`(?m)^(\s*)listen\s+([^;]*);`)

// nginxSite rewrites a corpus configuration to listen on the case's
// ports: plain listens on http, ssl or 443 ones on https (with the test
// certificate).
func nginxSite(conf string, httpPort, httpsPort int, cert, key string) string {
	return listenRE.ReplaceAllStringFunc(conf, func(m string) string {
		sub := listenRE.FindStringSubmatch(m)
		args := strings.Fields(sub[2])
		def := ""
		for _, a := range args {
			if a == "default_server" {
				def = " default_server"
			}
		}
		if strings.Contains(sub[2], "ssl") || strings.HasPrefix(sub[2], "443") {
			return fmt.Sprintf("%slisten 127.0.0.1:%d ssl%s; ssl_certificate %s; ssl_certificate_key %s;", sub[1], httpsPort, def, cert, key)
		}
		return fmt.Sprintf("%slisten 127.0.0.1:%d%s;", sub[1], httpPort, def)
	})
}

// vhostRE finds Apache virtual host sections.
var vhostRE = regexp.MustCompile(`(?mi)^(\s*)<VirtualHost\s+([^>]*)>`)

// apacheSite rewrites a corpus configuration for the case's ports; a
// configuration without virtual hosts is wrapped in one.
func apacheSite(conf string, httpPort, httpsPort int, cert, key string) string {
	if !vhostRE.MatchString(conf) {
		return fmt.Sprintf("<VirtualHost 127.0.0.1:%d>\n%s\n</VirtualHost>\n", httpPort, conf)
	}
	return vhostRE.ReplaceAllStringFunc(conf, func(m string) string {
		sub := vhostRE.FindStringSubmatch(m)
		if strings.Contains(sub[2], ":443") {
			return fmt.Sprintf("%s<VirtualHost 127.0.0.1:%d>\nSSLEngine on\nSSLCertificateFile %s\nSSLCertificateKeyFile %s", sub[1], httpsPort, cert, key)
		}
		return fmt.Sprintf("%s<VirtualHost 127.0.0.1:%d>", sub[1], httpPort)
	})
}

// detourServer serves the rules file at path in-process, over http and
// https, and returns the two base URLs.
func detourServer(t *testing.T, path string) (string, string) {
	t.Helper()
	set, ds, err := ruleset.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if ds.HasErrors() {
		b, _ := os.ReadFile(path)
		t.Fatalf("the imported rules do not load:\n%v\n%s", ds.Errors(), b)
	}
	return serveSet(t, set)
}

// serveSet serves set in-process, over http and https.
func serveSet(t *testing.T, set *ruleset.Set) (string, string) {
	t.Helper()
	tb, ds := set.Compile()
	if tb == nil {
		t.Fatalf("the rules do not compile:\n%v", ds.Errors())
	}
	h := server.New(server.Options{})
	h.Store(&server.Rules{Table: tb, MergeSlashes: set.MergeSlashes})
	plain := newServer(t, h, false)
	secure := newServer(t, h, true)
	return plain, secure
}

func newServer(t *testing.T, h http.Handler, tlsOn bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	scheme := "http"
	if tlsOn {
		scheme = "https"
		cert, err := tls.X509KeyPair(testCert, testKey)
		if err != nil {
			t.Fatal(err)
		}
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return scheme + "://" + l.Addr().String()
}

// request is one request of a case.
type request struct {
	method, scheme, host, target string
	// differs, when set, is why the original server is known to answer
	// otherwise (a documented pitfall): the test checks that it does.
	differs string
}

func (r request) String() string {
	return fmt.Sprintf("%s %s://%s%s", r.method, r.scheme, r.host, r.target)
}

// answer is a response reduced to what is compared.
type answer struct {
	kind     string // "redirect", "gone", "none"
	status   int
	location string // resolved against the request URL, normalised
}

func (a answer) String() string {
	switch a.kind {
	case "redirect":
		return fmt.Sprintf("%d %s", a.status, a.location)
	case "gone":
		return "410"
	}
	return fmt.Sprintf("no redirect (%d)", a.status)
}

func (a answer) same(b answer) bool {
	if a.kind != b.kind {
		return false
	}
	return a.kind == "none" || a.status == b.status && a.location == b.location
}

var client = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
		MaxIdleConnsPerHost: 4,
	},
}

// ask sends r to base (a scheme and address) and reduces the answer;
// port is stripped from absolute Locations on the request's host, as the
// original would have run on the default port.
func ask(t *testing.T, base string, r request, port string) answer {
	t.Helper()
	u, err := url.Parse(base + r.target)
	if err != nil {
		t.Fatalf("%s: %v", r, err)
	}
	req, err := http.NewRequest(r.method, u.String(), nil)
	if err != nil {
		t.Fatalf("%s: %v", r, err)
	}
	req.URL = u
	req.Host = r.host
	if r.method == "POST" {
		req.Body = io.NopCloser(strings.NewReader("data=example"))
		req.ContentLength = int64(len("data=example"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", r, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	a := answer{status: resp.StatusCode, kind: "none"}
	switch resp.StatusCode {
	case 301, 302, 303, 307, 308:
		a.kind = "redirect"
		a.location = resolve(r, resp.Header.Get("Location"), port)
	case 410:
		a.kind = "gone"
	}
	return a
}

// resolve resolves loc against the request URL and normalises it.
func resolve(r request, loc, port string) string {
	base, err := url.Parse(r.scheme + "://" + r.host + "/")
	if err != nil {
		return "bad base: " + err.Error()
	}
	// The request target as sent.
	if p, q, ok := strings.Cut(r.target, "?"); ok {
		base.RawQuery = q
		base.Opaque = ""
		base.Path, base.RawPath = p, p
	} else {
		base.Path, base.RawPath = r.target, r.target
	}
	lu, err := url.Parse(canonicalEscapes(loc))
	if err != nil {
		return "unparsable Location " + loc
	}
	res := base.ResolveReference(lu)
	if port != "" {
		res.Host = strings.TrimSuffix(res.Host, ":"+port)
	}
	res.Host = strings.TrimSuffix(strings.TrimSuffix(res.Host, ":80"), ":443")
	return canonicalEscapes(res.String())
}

// canonicalEscapes rewrites a URL's escapes in one form (RFC 3986
// §6.2.2): unreserved characters decoded, other escapes upper-case, and
// bytes that may not appear raw (space, controls, non-ASCII, quotes…)
// escaped. Two Locations that differ only so name the same resource.
func canonicalEscapes(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch v, esc := pct.Decode(s, i); {
		case esc:
			if isUnreserved(v) {
				b.WriteByte(v)
			} else {
				b.WriteByte('%')
				b.WriteByte(hex[v>>4])
				b.WriteByte(hex[v&15])
			}
			i += 2
		case c <= ' ' || c >= 0x7f || strings.IndexByte(`"<>\^`+"`{|}%", c) >= 0:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// caseHeader reads the test directives of a corpus file: lines
// "# req: METHOD [SCHEME://]HOST TARGET" and
// "# differs: METHOD [SCHEME://]HOST TARGET -- why".
func caseHeader(t *testing.T, path string) []request {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []request
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		kind, rest, ok := strings.Cut(line, ":")
		if !ok || (kind != "# req" && kind != "# differs") {
			continue
		}
		why := ""
		if kind == "# differs" {
			rest, why, _ = strings.Cut(rest, " -- ")
			if why == "" {
				why = "documented"
			}
		}
		f := strings.Fields(rest)
		if len(f) != 3 {
			t.Fatalf("%s: bad test line %q", path, line)
		}
		r := request{method: f[0], scheme: "http", host: f[1], target: f[2], differs: why}
		if s, h, ok := strings.Cut(r.host, "://"); ok {
			r.scheme, r.host = s, h
		}
		out = append(out, r)
	}
	return out
}
