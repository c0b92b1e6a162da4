package main_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// process is a "detour serve" running as a real process.
type process struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	addr   string // redirect listener
	admin  string
	exited chan error
}

// startProcess builds the binary and runs "detour serve" on loopback
// ports with a JSON log, in an empty folder (so without --rules it serves
// the demo set). It returns once the log says where it listens.
func startProcess(t *testing.T, bin string, extra ...string) *process {
	t.Helper()
	p := &process{stderr: &syncBuffer{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--log-format", "json"}, extra...)...)
	p.cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DETOUR_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	deadline := time.Now().Add(30 * time.Second)
	for p.addr == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no listening record:\n%s", p.stderr.String())
		}
		select {
		case err := <-p.exited:
			t.Fatalf("detour exited (%v):\n%s", err, p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		p.addr, p.admin = p.listening()
	}
	return p
}

// listening finds the addresses in the "listening" log record.
func (p *process) listening() (addr, admin string) {
	for line := range strings.SplitSeq(p.stderr.String(), "\n") {
		var rec struct{ Msg, Addr, Admin string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
			return rec.Addr, rec.Admin
		}
	}
	return "", ""
}

// wait waits for the process to exit and returns its exit code.
func (p *process) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err // for Cleanup
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.ExitCode()
		}
		t.Fatal(err)
	case <-time.After(40 * time.Second):
		t.Fatalf("detour did not exit:\n%s", p.stderr.String())
	}
	return -1
}

// TestProcess runs the real binary: SIGTERM lets the request in flight
// finish, then exits 0; SIGHUP reloads the rules.
func TestProcess(t *testing.T) {
	bin := buildDetour(t)

	t.Run("SIGTERM waits for the request in flight", func(t *testing.T) {
		p := startProcess(t, bin)
		conn, br := startSlowEcho(t, p.addr)
		defer conn.Close()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitFor(t, p.stderr, "shutting down")
		finishSlowEcho(t, conn, br)
		if code := p.wait(t); code != 0 {
			t.Errorf("exit %d, want 0:\n%s", code, p.stderr.String())
		}
	})

	t.Run("SIGHUP reloads", func(t *testing.T) {
		path := writeRules(t, "rules:\n  - from: /a\n    to: /b\n")
		p := startProcess(t, bin, "--rules", path)
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, p.stderr, `"reason":"SIGHUP"`)
		if st, loc := redirectOf(t, "http://"+p.addr, "/a"); st != 307 || loc != "/b" {
			t.Errorf("after SIGHUP: %d %q, want 307 /b", st, loc)
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t); code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
	})
}
