package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const adminToken = "test-admin-token"

// redirectOf asks base for path without following: status and Location.
func redirectOf(t *testing.T, base, path string) (int, string) {
	t.Helper()
	resp, err := noFollow.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// TestRulesCLI drives "detour rules" against an in-process detour serve.
func TestRulesCLI(t *testing.T) {
	s := startServe(t, map[string]string{"DETOUR_ADMIN_TOKEN": adminToken}, args()...)
	env := map[string]string{"DETOUR_SERVER": "http://" + s.addrs.Admin.String(), "DETOUR_ADMIN_TOKEN": adminToken}
	steps := []struct {
		name     string
		args     []string
		env      map[string]string
		code     int
		stdout   string // a regexp
		stderr   string // a regexp
		path     string // then the redirect listener answers path with
		status   int
		location string
	}{
		{name: "add", args: []string{"add", "/promo", "/landing", "--id", "promo", "--status", "302"},
			code: 0, stdout: `(?m)^created promo\n(.|\n)*status:\s+302`, path: "/promo", status: 302, location: "/landing"},
		{name: "add from a file", args: []string{"add", "--file", "@rule.json"},
			code: 0, stdout: `created maint`, path: "/checkout/x", status: 307, location: "/maintenance"},
		{name: "list", args: []string{"list"},
			code: 0, stdout: `(?m)^ID\s+STATE\s+STATUS\s+HOST\s+FROM\s+TO\s+HITS\s+LAST HIT\n` +
				`promo\s+active\s+302\s+-\s+/promo\s+/landing\s+1\s+\d{4}-.*\n` +
				`maint\s+active\s+307\s+shop.example.com\s+/checkout/\*\s+/maintenance\s+1\s+\d{4}-.*\n$`},
		{name: "list filtered", args: []string{"list", "--host", "shop.example.com"}, code: 0, stdout: `(?s)^ID.*\nmaint\s[^\n]*\n$`},
		{name: "get as JSON", args: []string{"get", "promo", "--json"}, code: 0, stdout: `"id": "promo"`},
		{name: "invalid rule", args: []string{"add", "/x", "/y", "--status", "305"},
			code: 1, stderr: `the rule is invalid(.|\n)*\n  status: status must be 301, 302, 303, 307, 308 or 410, got "305"`},
		{name: "tie with the demo set", args: []string{"add", "/original-resource", "/elsewhere"},
			code: 1, stderr: `conflicts with the live rules: .*ties with rule .* at demo.yaml:\d+`},
		{name: "disable", args: []string{"disable", "promo"}, code: 0, stdout: `state:\s+disabled`, path: "/promo", status: 404},
		{name: "enable", args: []string{"enable", "promo"}, code: 0, stdout: `state:\s+active`, path: "/promo", status: 302, location: "/landing"},
		{name: "rm", args: []string{"rm", "promo"}, code: 0, stdout: `deleted promo`, path: "/promo", status: 404},
		{name: "get what is gone", args: []string{"get", "promo"}, code: 1, stderr: `no runtime rule has id "promo" \(404\)`},
		{name: "list as JSON", args: []string{"list", "--json"}, code: 0, stdout: `(?s)^\{\s*"rules": \[\s*\{\s*"id": "maint"`},
		{name: "no token", args: []string{"list"}, env: map[string]string{"DETOUR_SERVER": env["DETOUR_SERVER"]},
			code: 2, stderr: `set DETOUR_ADMIN_TOKEN`},
		{name: "wrong token", args: []string{"list"}, env: map[string]string{"DETOUR_SERVER": env["DETOUR_SERVER"], "DETOUR_ADMIN_TOKEN": "nope"},
			code: 2, stderr: `the admin token is wrong \(401\)`},
		{name: "--server wins over DETOUR_SERVER", args: []string{"list", "--server", "http://" + closedAddr(t)}, code: 2, stderr: `admin API: .*refused`},
		{name: "bad server URL", args: []string{"list", "--server", "localhost:9090"}, code: 2, stderr: `--server "localhost:9090"`},
		{name: "unknown subcommand", args: []string{"frob"}, code: 2, stderr: `unknown rules command "frob"`},
		{name: "missing argument", args: []string{"get"}, code: 2, stderr: `rules get takes 1 argument`},
		{name: "help", args: []string{"-h"}, code: 0, stdout: `detour rules list`},
	}
	dir := t.TempDir()
	rule := filepath.Join(dir, "rule.json")
	if err := os.WriteFile(rule, []byte(`{"id": "maint", "host": "shop.example.com", "from": "/checkout/*", "to": "/maintenance"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			e := env
			if st.env != nil {
				e = st.env
			}
			a := append([]string{"rules"}, st.args...)
			for i := range a {
				if a[i] == "@rule.json" {
					a[i] = rule
				}
			}
			code, stdout, stderr := run(t, e, a...)
			if code != st.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, st.code, stdout, stderr)
			}
			if st.stdout != "" && !regexp.MustCompile(st.stdout).MatchString(stdout) {
				t.Errorf("stdout does not match %s:\n%s", st.stdout, stdout)
			}
			if st.stderr != "" && !regexp.MustCompile(st.stderr).MatchString(stderr) {
				t.Errorf("stderr does not match %s:\n%s", st.stderr, stderr)
			}
			if st.path == "" {
				return
			}
			req, _ := http.NewRequest("GET", s.base()+st.path, nil)
			if strings.HasPrefix(st.path, "/checkout") {
				req.Host = "shop.example.com"
			}
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != st.status || resp.Header.Get("Location") != st.location {
				t.Errorf("redirect listener: %d %q, want %d %q", resp.StatusCode, resp.Header.Get("Location"), st.status, st.location)
			}
		})
	}
}

// adminCall sends a request to an admin listener with the token.
func adminCall(t *testing.T, admin, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+admin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeAdminToken: without a token configured serve makes one and
// logs it once; DETOUR_ADMIN_TOKEN and --admin-token-file set it.
func TestServeAdminToken(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		token string // "" means: the one logged
	}{
		{"generated", nil, nil, ""},
		{"environment", map[string]string{"DETOUR_ADMIN_TOKEN": "from-env"}, nil, "from-env"},
		{"file beats environment", map[string]string{"DETOUR_ADMIN_TOKEN": "from-env"}, []string{"--admin-token-file", tokenFile}, "from-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServe(t, tt.env, args(tt.args...)...)
			logged := regexp.MustCompile(`admin token: ([A-Za-z0-9_-]+)`).FindAllStringSubmatch(s.stderr.String(), -1)
			token := tt.token
			if token == "" {
				if len(logged) != 1 {
					t.Fatalf("token logged %d times:\n%s", len(logged), s.stderr.String())
				}
				token = logged[0][1]
			} else if len(logged) != 0 {
				t.Errorf("a configured token is logged:\n%s", s.stderr.String())
			}
			for _, tc := range []struct {
				token string
				want  int
			}{{token, 200}, {token + "x", 401}} {
				req, _ := http.NewRequest("GET", "http://"+s.addrs.Admin.String()+"/api/v1/rules", nil)
				req.Header.Set("Authorization", "Bearer "+tc.token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("token %q: %d, want %d", tc.token, resp.StatusCode, tc.want)
				}
			}
		})
	}
}

func TestServeStoreFlag(t *testing.T) {
	tests := []struct {
		name   string
		store  string
		code   int
		stderr string
	}{
		{"postgres is not built yet", "postgres://db/detour", 2, "PostgreSQL stores are not supported yet"},
		{"unknown scheme", "mysql://db/detour", 2, `unknown store "mysql://"`},
		{"unwritable place", "/proc/nonexistent/detour.db", 2, "runtime rule store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, nil, append([]string{"serve", "--store", tt.store}, loopback...)...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
}

// buildDetour builds the binary once per test.
func buildDetour(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "detour")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// storeFlags returns the serve flags for a store and an admin token file
// (holding adminToken) in a new folder, for processes that restart on
// the same store.
func storeFlags(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(adminToken), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--store", filepath.Join(dir, "detour.db"), "--admin-token-file", tokenFile}
}

// TestDurableAcrossSIGKILL: rules created through the API of a real
// detour serve, which is then killed with SIGKILL while writes are still
// coming, all serve after a restart on the same store; each was live on
// the redirect listener as soon as it was acknowledged.
func TestDurableAcrossSIGKILL(t *testing.T) {
	bin := buildDetour(t)
	flags := storeFlags(t)
	p := startProcess(t, bin, flags...)

	var (
		mu    sync.Mutex
		acked []int
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	client := &http.Client{Timeout: 10 * time.Second}
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			body := fmt.Sprintf(`{"id": "d%d", "from": "/d/%d", "to": "/t/%d"}`, i, i, i)
			req, _ := http.NewRequest("POST", "http://"+p.admin+"/api/v1/rules", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+adminToken)
			resp, err := client.Do(req)
			if err != nil {
				return // killed
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 {
				t.Errorf("create d%d: %d", i, resp.StatusCode)
				return
			}
			mu.Lock()
			acked = append(acked, i)
			mu.Unlock()
			// Live at once: the very next request sees it.
			resp, err = noFollow.Get(fmt.Sprintf("http://%s/d/%d", p.addr, i))
			if err != nil {
				return // killed
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); resp.StatusCode != 307 || loc != fmt.Sprintf("/t/%d", i) {
				t.Errorf("d%d right after 201: %d %q", i, resp.StatusCode, loc)
			}
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 25 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-done
	p.wait(t)
	mu.Lock()
	got := append([]int(nil), acked...)
	mu.Unlock()
	if len(got) == 0 {
		t.Fatal("no rule acknowledged before the kill")
	}

	q := startProcess(t, bin, flags...)
	for _, i := range got {
		if st, loc := redirectOf(t, "http://"+q.addr, fmt.Sprintf("/d/%d", i)); st != 307 || loc != fmt.Sprintf("/t/%d", i) {
			t.Errorf("acknowledged d%d after SIGKILL and restart: %d %q", i, st, loc)
		}
	}
	t.Logf("%d rules acknowledged before SIGKILL; all serve after the restart", len(got))
}

// TestHitsAcrossRestart: hit counts are persisted at shutdown and counted
// on after a restart.
func TestHitsAcrossRestart(t *testing.T) {
	bin := buildDetour(t)
	flags := storeFlags(t)
	p := startProcess(t, bin, flags...)
	if st, body := adminCall(t, p.admin, "POST", "/api/v1/rules", `{"id": "h", "from": "/h", "to": "/x"}`); st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	for range 3 {
		redirectOf(t, "http://"+p.addr, "/h")
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.stderr.String())
	}
	q := startProcess(t, bin, flags...)
	redirectOf(t, "http://"+q.addr, "/h")
	st, body := adminCall(t, q.admin, "GET", "/api/v1/rules/h", "")
	var r struct {
		Hits    int     `json:"hits"`
		LastHit *string `json:"last_hit"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || st != 200 {
		t.Fatalf("%d %s: %v", st, body, err)
	}
	if r.Hits != 4 || r.LastHit == nil {
		t.Errorf("hits %d last_hit %v after a restart, want 4 and a time", r.Hits, r.LastHit)
	}
}
