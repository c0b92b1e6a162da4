package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// redirector answers /a and /b with 307s, anything else with 404.
func redirector(locB string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			w.Header().Set("Location", "/to-a")
		case "/b":
			w.Header().Set("Location", locB)
		default:
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
}

func TestCheck(t *testing.T) {
	sample := filepath.Join(t.TempDir(), "sample.tsv")
	if err := os.WriteFile(sample, []byte("/a\t307\t/to-a\n/b\t307\t/to-b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		locB     string
		wantCode int
	}{
		{"every answer right", "/to-b", 0},
		{"one Location wrong", "/to-b/", 1},
		{"absolute where relative is wanted", "http://example.com/to-b", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(redirector(tt.locB))
			defer srv.Close()
			var out, errs strings.Builder
			got := run([]string{"check", "-url", srv.URL, "-sample", sample, "-n", "20"}, &out, &errs)
			if got != tt.wantCode {
				t.Errorf("exit: got %d, want %d (stdout %q, stderr %q)", got, tt.wantCode, out.String(), errs.String())
			}
		})
	}
}

func TestReadyWaitsForTheAnswer(t *testing.T) {
	var asked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The old target for the first five questions, then the new one.
		loc := "/old"
		if asked.Add(1) > 5 {
			loc = "/new"
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	var out, errs strings.Builder
	code := run([]string{"ready", "-url", srv.URL, "-path", "/p", "-location", "/new", "-interval", "1ms", "-timeout", "5s"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if n := asked.Load(); n != 6 {
		t.Errorf("questions: got %d, want 6", n)
	}
	if secs, err := strconv.ParseFloat(strings.TrimSpace(out.String()), 64); err != nil || secs < 0 {
		t.Errorf("printed %q, want seconds", out.String())
	}
}

func TestReadyGivesUp(t *testing.T) {
	srv := httptest.NewServer(redirector("/to-b"))
	defer srv.Close()
	var out, errs strings.Builder
	code := run([]string{"ready", "-url", srv.URL, "-path", "/a", "-location", "/never", "-interval", "1ms", "-timeout", "50ms"}, &out, &errs)
	if code != 1 {
		t.Errorf("exit: got %d, want 1", code)
	}
	if !strings.Contains(errs.String(), `last: 307 "/to-a"`) {
		t.Errorf("stderr %q does not say what was last seen", errs.String())
	}
}

func TestCPUAndMemoryOfThisProcess(t *testing.T) {
	pid := os.Getpid()
	if _, err := procStat(pid); err != nil {
		t.Fatalf("procStat: %v", err)
	}
	m, err := procMemory(pid, true)
	if err != nil {
		t.Fatalf("procMemory: %v", err)
	}
	if m.rss <= 0 || m.hwm < m.rss {
		t.Errorf("got RSS %d kB, HWM %d kB: want 0 < RSS <= HWM", m.rss, m.hwm)
	}
	if got := tree(pid); len(got) == 0 || got[0] != pid {
		t.Errorf("tree(%d) = %v, want it first", pid, got)
	}
}
