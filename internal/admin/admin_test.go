package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/detourhttp/detour/internal/admin"
	"github.com/detourhttp/detour/internal/reload"
	"github.com/detourhttp/detour/internal/server"
)

// get asks the admin handler for path over a real listener.
func get(t *testing.T, h http.Handler, path string) (int, string, string) {
	t.Helper()
	ts := httptest.NewServer(h)
	defer ts.Close()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// reloaded returns a handler whose rules come from a file with two rules
// that went live, and then a refused reload.
func reloaded(t *testing.T) (*server.Handler, *reload.Reloader) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "detour.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("rules:\n  - from: /a\n    to: /b\n  - from: /c\n    to: /d\n")
	h := server.New(server.Options{})
	r, err := reload.New(reload.Config{Path: path, Server: h})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Reload("start"); err != nil {
		t.Fatal(err)
	}
	write("rules:\n  - from: /a\n    status: 999\n")
	if err := r.Reload("test"); err == nil {
		t.Fatal("an invalid set was accepted")
	}
	return h, r
}

func TestHealthz(t *testing.T) {
	h, _ := reloaded(t)
	tests := []struct {
		name string
		h    *server.Handler
	}{
		{"without rules", server.New(server.Options{})},
		{"with rules", h},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := get(t, admin.New(admin.Config{Rules: tt.h}), "/healthz")
			if status != 200 || body != "ok\n" {
				t.Errorf("got %d %q, want 200 \"ok\\n\"", status, body)
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	h, r := reloaded(t)
	tests := []struct {
		name       string
		cfg        admin.Config
		status     int
		ready      bool
		rules      int
		withReload bool
	}{
		{"no rules loaded", admin.Config{Rules: server.New(server.Options{})}, 503, false, 0, false},
		{"rules loaded, last reload refused", admin.Config{Rules: h, Reloader: r}, 200, true, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ctype, body := get(t, admin.New(tt.cfg), "/readyz")
			if status != tt.status || ctype != "application/json" {
				t.Fatalf("got %d %s, want %d application/json", status, ctype, tt.status)
			}
			var got admin.Readiness
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("%v in %s", err, body)
			}
			if got.Ready != tt.ready || got.Rules != tt.rules {
				t.Errorf("got ready %v rules %d, want %v %d", got.Ready, got.Rules, tt.ready, tt.rules)
			}
			if !tt.withReload {
				if got.Reload != nil {
					t.Errorf("reload = %+v, want none", got.Reload)
				}
				return
			}
			if got.Reload == nil || got.Reload.OK || got.Reload.Successes != 1 || got.Reload.Failures != 1 || got.Reload.Error == "" || got.Reload.LastSuccess == nil {
				t.Errorf("reload = %+v, want last refused after 1 success", got.Reload)
			}
		})
	}
}

func TestUnknownPath(t *testing.T) {
	status, _, _ := get(t, admin.New(admin.Config{Rules: server.New(server.Options{})}), "/nope")
	if status != 404 {
		t.Errorf("status = %d, want 404", status)
	}
}
