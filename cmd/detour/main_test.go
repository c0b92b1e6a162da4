package main_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	main "github.com/detourhttp/detour/cmd/detour"
	"github.com/detourhttp/detour/internal/testutil"
)

// syncBuffer is testutil.SyncBuffer: a bytes.Buffer safe for the goroutines of a running Main.
type syncBuffer = testutil.SyncBuffer

// run runs a command that finishes by itself and returns its exit code
// and output.
func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	env = withStore(t, env)
	var out, errb syncBuffer
	m := &main.Main{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = m.Run(ctx, args)
	return code, out.String(), errb.String()
}

// withStore returns env with DETOUR_STORE set to a store of the test's
// own (unless env sets one), so that serve does not create ./detour.db in
// the package folder.
func withStore(t testing.TB, env map[string]string) map[string]string {
	if env["DETOUR_STORE"] != "" {
		return env
	}
	env = maps.Clone(env)
	if env == nil {
		env = map[string]string{}
	}
	env["DETOUR_STORE"] = filepath.Join(t.TempDir(), "detour.db")
	return env
}

// serving is an in-process "detour serve".
type serving struct {
	addrs   main.Addrs
	stderr  *syncBuffer
	hangup  chan os.Signal
	stop    context.CancelFunc
	done    chan int
	stopped bool
}

// base returns the redirect listener's URL.
func (s *serving) base() string { return "http://" + s.addrs.HTTP.String() }

// shutdown stops the server and returns its exit code.
func (s *serving) shutdown(t testing.TB) int {
	t.Helper()
	if s.stopped {
		t.Fatal("shut down twice")
	}
	s.stopped = true
	s.stop()
	select {
	case code := <-s.done:
		return code
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop")
	}
	return -1
}

// startServe runs "detour serve args..." in-process on loopback ports and
// returns once it listens. The server stops at the end of the test or
// benchmark.
func startServe(t testing.TB, env map[string]string, args ...string) *serving {
	t.Helper()
	env = withStore(t, env)
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{stderr: &syncBuffer{}, hangup: make(chan os.Signal, 1), stop: cancel, done: make(chan int, 1)}
	ready := make(chan main.Addrs, 1)
	m := &main.Main{
		Stdout:    s.stderr,
		Stderr:    s.stderr,
		Getenv:    func(k string) string { return env[k] },
		Hangup:    s.hangup,
		Listening: func(a main.Addrs) { ready <- a },
	}
	go func() { s.done <- m.Run(ctx, append([]string{"serve"}, args...)) }()
	select {
	case s.addrs = <-ready:
	case code := <-s.done:
		cancel()
		t.Fatalf("serve exited with %d before listening:\n%s", code, s.stderr.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not start listening")
	}
	t.Cleanup(func() {
		if !s.stopped {
			if code := s.shutdown(t); code != 0 {
				t.Errorf("serve exited with %d:\n%s", code, s.stderr.String())
			}
		}
	})
	return s
}

// loopback are the flags that put both listeners on free loopback ports.
var loopback = []string{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"}

func args(extra ...string) []string { return append(append([]string(nil), loopback...), extra...) }

// writeRules writes a rules file into a new temporary folder.
func writeRules(t *testing.T, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "detour.yaml")
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", testutil.FreePorts(t, 1)[0])
}

var noFollow = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"no command", nil, 2, "usage: detour <command>", ""},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`, ""},
		{"help", []string{"help"}, 0, "", "usage: detour <command>"},
		{"serve: unknown flag", []string{"serve", "--bogus"}, 2, "usage: detour serve", ""},
		{"serve: extra argument", []string{"serve", "extra"}, 2, `unexpected argument "extra"`, ""},
		{"serve: bad log format", []string{"serve", "--log-format", "xml"}, 2, "--log-format must be json or text", ""},
		{"serve: cert without key", []string{"serve", "--tls-cert", "c.pem"}, 2, "--tls-cert and --tls-key go together", ""},
		{"serve: bad trusted proxy", []string{"serve", "--trusted-proxy", "nonsense"}, 2, `--trusted-proxy "nonsense"`, ""},
		{"serve: help", []string{"serve", "-h"}, 0, "", "-trusted-proxy CIDR"},
		{"version: extra argument", []string{"version", "x"}, 2, "usage: detour version", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not hold %q", stderr, tt.stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q does not hold %q", stdout, tt.stdout)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := run(t, nil, "version")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	fields := strings.Fields(stdout)
	if len(fields) != 4 || fields[0] != "detour" || fields[1] == "" || fields[2] != runtime.Version() {
		t.Errorf("version printed %q, want \"detour VERSION %s OS/ARCH\"", stdout, runtime.Version())
	}
}
