package main_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/detourhttp/detour/internal/testutil"
)

// TestSeedCurl is the seed's exchange with the real curl: the 307 hop,
// then the echo of the same POST and its body.
func TestSeedCurl(t *testing.T) {
	curl := testutil.Bin(t, "curl")
	s := startServe(t, nil, args()...)
	out, err := exec.Command(curl, "-sS", "-i", "-L", "-X", "POST", "-d", "data=example",
		s.base()+"/original-resource").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	got := strings.ReplaceAll(string(out), "\r\n", "\n")
	// In order: the 307 and its Location, then the 200 echo of the POST
	// with its body.
	want := []string{
		"HTTP/1.1 307 Temporary Redirect\n",
		"Location: /temporary-resource\n",
		"HTTP/1.1 200 OK\n",
		"POST /temporary-resource HTTP/1.1\n",
		"Content-Type: application/x-www-form-urlencoded\n",
		"\n\ndata=example",
	}
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("curl output lacks %q (in order):\n%s", w, got)
		}
		rest = rest[i+len(w):]
	}
}

// TestSeedGoClient follows the demo's 307 with Go's client: the POST and
// its body arrive at the echo.
func TestSeedGoClient(t *testing.T) {
	s := startServe(t, nil, args()...)
	req, err := http.NewRequest("POST", s.base()+"/original-resource", strings.NewReader("data=example"))
	if err != nil {
		t.Fatal(err)
	}
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("data=example")), nil }
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var hops []int
	c := &http.Client{
		Timeout: 10 * time.Second,
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			hops = append(hops, r.Response.StatusCode)
			return nil
		},
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	echo, _ := io.ReadAll(resp.Body)
	if len(hops) != 1 || hops[0] != 307 || resp.StatusCode != 200 {
		t.Fatalf("hops %v then %d, want [307] then 200", hops, resp.StatusCode)
	}
	for _, w := range []string{"POST /temporary-resource HTTP/1.1\n", "\n\ndata=example"} {
		if !strings.Contains(string(echo), w) {
			t.Errorf("echo %q does not hold %q", echo, w)
		}
	}
}

func TestServeRulesFile(t *testing.T) {
	path := writeRules(t, "rules:\n  - from: /a\n    to: /b\n")
	s := startServe(t, nil, args("--rules", path, "--log-format", "json")...)
	tests := []struct {
		name     string
		path     string
		status   int
		location string
	}{
		{"rule from the file", "/a", 307, "/b"},
		{"no demo set", "/original-resource", 404, ""},
		{"no echo", "/temporary-resource", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if st, loc := redirectOf(t, s.base(), tt.path); st != tt.status || loc != tt.location {
				t.Errorf("got %d %q, want %d %q", st, loc, tt.status, tt.location)
			}
		})
	}
	// The JSON access log names the rule.
	var found bool
	for line := range strings.SplitSeq(s.stderr.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "request" && rec["path"] == "/a" {
			found = rec["rule"] != "" && rec["status"] == 307.0
		}
	}
	if !found {
		t.Errorf("no JSON access-log record for /a with its rule:\n%s", s.stderr.String())
	}
}

// TestServeDefaultRules serves ./detour.yaml when it exists and no
// --rules names another file, and the demo set otherwise.
func TestServeDefaultRules(t *testing.T) {
	tests := []struct {
		name     string
		file     bool
		location string
	}{
		{"./detour.yaml present", true, "/from-cwd"},
		{"absent: the demo set", false, "/temporary-resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.file {
				data := "rules:\n  - from: /original-resource\n    to: /from-cwd\n"
				if err := os.WriteFile(filepath.Join(dir, "detour.yaml"), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(dir)
			s := startServe(t, nil, args()...)
			if _, got := redirectOf(t, s.base(), "/original-resource"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
		})
	}
}

func TestServeBadRules(t *testing.T) {
	tests := []struct {
		name   string
		rules  string
		code   int
		stderr string
	}{
		{"invalid rules", "rules:\n  - from: /a\n    to: /b\n    status: 999\n", 1, "detour.yaml:4"},
		{"missing rules file", "", 2, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "detour.yaml")
			if tt.rules != "" {
				path = writeRules(t, tt.rules)
			}
			code, _, stderr := run(t, nil, append([]string{"serve", "--rules", path}, loopback...)...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
}

// TestServeEnvironment takes settings from the environment when no flag
// gives them, and from flags over the environment.
func TestServeEnvironment(t *testing.T) {
	path := writeRules(t, "rules:\n  - from: /env\n    to: /from-env\n")
	env := map[string]string{
		"DETOUR_LISTEN":     "127.0.0.1:0",
		"DETOUR_ADMIN":      "127.0.0.1:0",
		"DETOUR_RULES":      path,
		"DETOUR_LOG_FORMAT": "bogus", // the flag below wins
	}
	s := startServe(t, env, "--log-format", "json")
	if _, got := redirectOf(t, s.base(), "/env"); got != "/from-env" {
		t.Errorf("Location = %q, want /from-env", got)
	}
}

func TestServeLimits(t *testing.T) {
	s := startServe(t, nil, args()...)
	tests := []struct {
		name   string
		header int
		status int
	}{
		{"32 KiB of headers", 32 << 10, 307},
		{"100 KiB of headers", 100 << 10, 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.base()+"/original-resource", nil)
			req.Header.Set("X-Big", strings.Repeat("a", tt.header))
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

func TestServeAdmin(t *testing.T) {
	s := startServe(t, nil, args()...)
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/healthz", 200, "ok\n"},
		{"/readyz", 200, `"ready":true`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := noFollow.Get("http://" + s.addrs.Admin.String() + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.body) {
				t.Errorf("got %d %q, want %d with %q", resp.StatusCode, b, tt.status, tt.body)
			}
		})
	}
}

// TestServeHangup reloads on SIGHUP (delivered on Main.Hangup).
func TestServeHangup(t *testing.T) {
	path := writeRules(t, "rules:\n  - from: /a\n    to: /b\n")
	s := startServe(t, nil, args("--rules", path)...)
	s.hangup <- syscall.SIGHUP
	waitFor(t, s.stderr, "reason=SIGHUP")
	resp, err := noFollow.Get("http://" + s.addrs.Admin.String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rd struct {
		Reload struct{ Successes int } `json:"reload"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rd); err != nil {
		t.Fatal(err)
	}
	if rd.Reload.Successes < 2 {
		t.Errorf("reload successes = %d, want at least 2 (start and SIGHUP)", rd.Reload.Successes)
	}
}

// TestServeShutdownWaits cancels serve while a request is in flight: the
// request finishes and serve exits 0.
func TestServeShutdownWaits(t *testing.T) {
	s := startServe(t, nil, args()...)
	conn, br := startSlowEcho(t, s.addrs.HTTP.String())
	defer conn.Close()
	go s.stop()
	waitFor(t, s.stderr, "shutting down")
	finishSlowEcho(t, conn, br)
	if code := s.shutdown(t); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
}

// startSlowEcho sends the echo a POST whose body has not come yet, and
// returns once the handler asked for it (the 100 Continue): the request
// is then in flight.
func startSlowEcho(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(conn, "POST /temporary-resource HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 100 {
		t.Fatalf("want 100 Continue, got %v %v", resp, err)
	}
	return conn, br
}

// finishSlowEcho sends the body and checks that the echo answered in full.
func finishSlowEcho(t *testing.T, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	io.WriteString(conn, "data=example")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("in-flight request cut short: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasSuffix(string(b), "\n\ndata=example") {
		t.Errorf("got %d %q, want 200 with the echo of the body", resp.StatusCode, b)
	}
}

func waitFor(t *testing.T, log interface{ String() string }, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(log.String(), what) {
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q:\n%s", what, log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServeTLS serves HTTPS with a self-signed certificate: HTTP/2 and
// the redirect.
func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	s := startServe(t, nil, args("--tls-cert", certFile, "--tls-key", keyFile)...)
	tests := []struct {
		name      string
		transport *http.Transport
		proto     int
	}{
		{"HTTP/2", &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}, 2},
		{"HTTP/1.1", &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
			TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &http.Client{Timeout: 10 * time.Second, Transport: tt.transport, CheckRedirect: noFollow.CheckRedirect}
			defer tt.transport.CloseIdleConnections()
			resp, err := c.Get("https://" + s.addrs.HTTP.String() + "/original-resource")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.ProtoMajor != tt.proto || resp.StatusCode != 307 || resp.Header.Get("Location") != "/temporary-resource" {
				t.Errorf("got %s %d %q, want HTTP/%d 307 /temporary-resource", resp.Proto, resp.StatusCode, resp.Header.Get("Location"), tt.proto)
			}
		})
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "detour test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeAccessLogSwitch: --access-log=false (or DETOUR_ACCESS_LOG=false)
// answers as before and writes no record per request, as nginx's
// access_log off; the flag wins over the environment.
func TestServeAccessLogSwitch(t *testing.T) {
	path := writeRules(t, "rules:\n  - from: /a\n    to: /b\n")
	tests := []struct {
		name    string
		env     map[string]string
		flags   []string
		wantLog bool
	}{
		{name: "default on", wantLog: true},
		{name: "flag off", flags: []string{"--access-log=false"}, wantLog: false},
		{name: "env off", env: map[string]string{"DETOUR_ACCESS_LOG": "false"}, wantLog: false},
		{name: "flag on beats env off", env: map[string]string{"DETOUR_ACCESS_LOG": "false"}, flags: []string{"--access-log=true"}, wantLog: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServe(t, tt.env, args(append([]string{"--rules", path, "--log-format", "json"}, tt.flags...)...)...)
			if st, loc := redirectOf(t, s.base(), "/a"); st != 307 || loc != "/b" {
				t.Fatalf("got %d %q, want 307 /b", st, loc)
			}
			// The record is written after the answer: a second request on
			// the same connection comes after it.
			redirectOf(t, s.base(), "/a")
			logged := false
			deadline := time.Now().Add(2 * time.Second)
			for !logged && time.Now().Before(deadline) {
				for line := range strings.SplitSeq(s.stderr.String(), "\n") {
					var rec map[string]any
					if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "request" && rec["path"] == "/a" {
						logged = true
					}
				}
				if !tt.wantLog {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if logged != tt.wantLog {
				t.Errorf("access-log record for /a: %v, want %v\n%s", logged, tt.wantLog, s.stderr.String())
			}
		})
	}
}

// TestServeSwitches: --lean (default on) answers plain-HTTP redirects on
// the lean path, as detour_lean_answered_total shows, and --lean=false or
// DETOUR_LEAN=false leaves them to net/http with the same answers;
// --hit-counts=false (or DETOUR_HIT_COUNTS=false) counts no hits.
func TestServeSwitches(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		flags    []string
		wantLean bool
		wantHits int
	}{
		{name: "defaults", wantLean: true, wantHits: 2},
		{name: "lean off", flags: []string{"--lean=false"}, wantLean: false, wantHits: 2},
		{name: "lean off by env", env: map[string]string{"DETOUR_LEAN": "false"}, wantLean: false, wantHits: 2},
		{name: "flag beats env", env: map[string]string{"DETOUR_LEAN": "false"}, flags: []string{"--lean=true"}, wantLean: true, wantHits: 2},
		{name: "hit counts off", flags: []string{"--hit-counts=false"}, wantLean: true, wantHits: 0},
		{name: "hit counts off by env", env: map[string]string{"DETOUR_HIT_COUNTS": "0"}, wantLean: true, wantHits: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DETOUR_ADMIN_TOKEN": adminToken}
			for k, v := range tt.env {
				env[k] = v
			}
			s := startServe(t, env, args(tt.flags...)...)
			// A runtime rule: the API shows its hits.
			if st, body := adminCall(t, s.addrs.Admin.String(), "POST", "/api/v1/rules", `{"id": "a", "from": "/a", "to": "/b"}`); st != 201 {
				t.Fatalf("create: %d %s", st, body)
			}
			for range 2 {
				if st, loc := redirectOf(t, s.base(), "/a"); st != 307 || loc != "/b" {
					t.Fatalf("got %d %q, want 307 /b", st, loc)
				}
			}
			_, metrics := adminCall(t, s.addrs.Admin.String(), "GET", "/metrics", "")
			if got := strings.Contains(metrics, "detour_lean_answered_total 2\n"); got != tt.wantLean {
				t.Errorf("detour_lean_answered_total 2 in /metrics: %v, want %v", got, tt.wantLean)
			}
			st, body := adminCall(t, s.addrs.Admin.String(), "GET", "/api/v1/rules/a", "")
			var r struct {
				Hits int `json:"hits"`
			}
			if err := json.Unmarshal([]byte(body), &r); err != nil || st != 200 {
				t.Fatalf("GET rule a: %d %s: %v", st, body, err)
			}
			if r.Hits != tt.wantHits {
				t.Errorf("hits %d, want %d", r.Hits, tt.wantHits)
			}
		})
	}
}
