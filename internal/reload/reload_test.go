package reload_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/internal/reload"
	"github.com/detourhttp/detour/internal/server"
	"github.com/detourhttp/detour/internal/testutil"
)

// validRules redirects /probe to /vN.
func validRules(n int) string {
	return fmt.Sprintf("rules:\n  - from: /probe\n    to: /v%d\n", n)
}

// invalidRules has an error on line 4 (a bad status).
func invalidRules(n int) string {
	return fmt.Sprintf("rules:\n  - from: /probe\n    to: /bad%d\n    status: 999\n", n)
}

// writeFile writes data to path atomically: a temp file renamed over it.
func writeFile(tb testing.TB, path, data string) {
	tb.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// symlinkSwap points link at target by renaming a new symlink over it.
func symlinkSwap(tb testing.TB, target, link string) {
	tb.Helper()
	tmp := link + ".tmp-link"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		tb.Fatal(err)
	}
}

// syncBuffer is testutil.SyncBuffer: a bytes.Buffer safe for concurrent use.
type syncBuffer = testutil.SyncBuffer

// fixture is a Reloader serving a rules path through a real listener.
type fixture struct {
	r   *reload.Reloader
	h   *server.Handler
	url string
	log *syncBuffer
}

func newFixture(tb testing.TB, path string) *fixture {
	tb.Helper()
	return newFixtureHook(tb, path, nil)
}

// logHook is an io.Writer for a log that calls onLine with each line,
// from inside the call that logs it, then writes it to w.
type logHook struct {
	w      io.Writer
	onLine func(line string)
}

func (h logHook) Write(p []byte) (int, error) {
	h.onLine(string(p))
	return h.w.Write(p)
}

// newFixtureHook is newFixture whose Reloader logs through onLine too
// (nil: not).
func newFixtureHook(tb testing.TB, path string, onLine func(line string)) *fixture {
	tb.Helper()
	f := &fixture{h: server.New(server.Options{}), log: &syncBuffer{}}
	var logw io.Writer = f.log
	if onLine != nil {
		logw = logHook{f.log, onLine}
	}
	var err error
	f.r, err = reload.New(reload.Config{
		Path:     path,
		Server:   f.h,
		Log:      slog.New(slog.NewTextHandler(logw, nil)),
		Debounce: 20 * time.Millisecond,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.r.Reload("start"); err != nil {
		tb.Fatalf("first load: %v", err)
	}
	ts := httptest.NewServer(f.h)
	tb.Cleanup(ts.Close)
	f.url = ts.URL
	return f
}

// watch runs the watcher until the test ends. It returns once the watcher
// is live: it touches the rules path (renaming a copy over it) until a
// reload follows.
func (f *fixture) watch(tb testing.TB, path string) {
	tb.Helper()
	f.run(tb)
	touch := path
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		touch = filepath.Join(path, "zz-touch.yaml")
		defer os.Remove(touch)
	}
	data, err := os.ReadFile(touch)
	if err != nil {
		data = []byte("rules: []\n")
	}
	before := f.r.Stats().Successes
	deadline := time.Now().Add(10 * time.Second)
	for f.r.Stats().Successes == before {
		if time.Now().After(deadline) {
			tb.Fatal("the watcher never reloaded")
		}
		if real, err := filepath.EvalSymlinks(touch); err == nil {
			touch = real
		}
		writeFile(tb, touch, string(data))
		time.Sleep(50 * time.Millisecond)
	}
}

// run starts the watcher, to run until the test ends.
func (f *fixture) run(tb testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.r.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
}

var client = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// location answers GET path: the status and Location.
func (f *fixture) location(path string) (int, string, error) {
	resp, err := client.Get(f.url + path)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// eventually polls cond until it holds or 10 s pass.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) waitLocation(tb testing.TB, path, want string) {
	tb.Helper()
	eventually(tb, path+" → "+want, func() bool {
		_, loc, err := f.location(path)
		return err == nil && loc == want
	})
}

func (f *fixture) waitFailures(tb testing.TB, n uint64) {
	tb.Helper()
	eventually(tb, fmt.Sprintf("%d failed reloads", n), func() bool { return f.r.Stats().Failures >= n })
}

// TestReloadUnderLoad rewrites the rules file 50 times, valid and invalid
// alternately, by renaming new files over it and by swapping the symlink
// it is, while clients keep asking: every answer must be a valid set's
// redirect.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	versions := filepath.Join(dir, "versions")
	if err := os.Mkdir(versions, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "detour.yaml")
	writeFile(t, path, validRules(0))
	f := newFixture(t, path)
	f.watch(t, path)

	var valid sync.Map // Location → true for every valid set written
	valid.Store("/v0", true)
	var answers, wrong atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, loc, err := f.location("/probe")
				answers.Add(1)
				if _, ok := valid.Load(loc); err != nil || status != 307 || !ok {
					if wrong.Add(1) <= 5 {
						t.Errorf("answer %d %q, err %v", status, loc, err)
					}
				}
			}
		})
	}

	failures := uint64(0)
	for i := 1; i <= 50; i++ {
		data := validRules(i)
		if i%2 == 1 {
			data = invalidRules(i)
		} else {
			valid.Store(fmt.Sprintf("/v%d", i), true)
		}
		switch i % 4 {
		case 0, 1: // rename a new file over the old one
			writeFile(t, path, data)
		case 2, 3: // the rules file is a symlink, swapped to a new target
			target := filepath.Join(versions, fmt.Sprintf("v%d.yaml", i))
			if err := os.WriteFile(target, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			symlinkSwap(t, target, path)
		}
		if i%2 == 1 {
			failures++
			f.waitFailures(t, failures)
			failures = f.r.Stats().Failures
		} else {
			f.waitLocation(t, "/probe", fmt.Sprintf("/v%d", i))
		}
	}
	close(stop)
	wg.Wait()

	if got := wrong.Load(); got != 0 {
		t.Errorf("%d of %d answers were wrong", got, answers.Load())
	}
	st := f.r.Stats()
	if st.Successes < 26 || st.Failures < 25 {
		t.Errorf("stats %+v: want at least 26 successes and 25 failures", st)
	}
	t.Logf("%d answers, %d reloads (%d refused), zero wrong", answers.Load(), st.Successes+st.Failures, st.Failures)
}

// TestConfigMapSwap follows a Kubernetes ConfigMap volume: the rules file
// is a symlink into ..data, itself a symlink swapped to a new folder.
func TestConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	publish := func(n int, data string) {
		t.Helper()
		ts := filepath.Join(dir, fmt.Sprintf("..2026_%02d", n))
		if err := os.Mkdir(ts, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ts, "detour.yaml"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		symlinkSwap(t, filepath.Base(ts), filepath.Join(dir, "..data"))
	}
	publish(0, validRules(0))
	path := filepath.Join(dir, "detour.yaml")
	if err := os.Symlink(filepath.Join("..data", "detour.yaml"), path); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, path)
	f.watch(t, path)

	publish(1, validRules(1))
	f.waitLocation(t, "/probe", "/v1")
	publish(2, invalidRules(2))
	f.waitFailures(t, 1)
	if _, loc, _ := f.location("/probe"); loc != "/v1" {
		t.Errorf("after a refused set: Location = %q, want /v1", loc)
	}
	publish(3, validRules(3))
	f.waitLocation(t, "/probe", "/v3")
}

func TestRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "detour.yaml")
	writeFile(t, path, validRules(1))
	f := newFixture(t, path)

	writeFile(t, path, invalidRules(2))
	err := f.r.Reload("SIGHUP")
	var diags detour.Diagnostics
	if !errors.As(err, &diags) || len(diags) == 0 {
		t.Fatalf("Reload = %v, want diagnostics", err)
	}
	for _, d := range diags {
		if d.File == "" || d.Line == 0 {
			t.Errorf("diagnostic %q does not name file and line", d)
		}
	}
	st := f.r.Stats()
	if st.Successes != 1 || st.Failures != 1 || st.LastError == "" || st.LastSuccess.IsZero() {
		t.Errorf("stats = %+v, want 1 success, 1 failure and the error", st)
	}
	if _, loc, _ := f.location("/probe"); loc != "/v1" {
		t.Errorf("Location = %q, want /v1 (the previous rules)", loc)
	}
	if log := f.log.String(); !strings.Contains(log, "detour.yaml:4") {
		t.Errorf("log does not name detour.yaml:4:\n%s", log)
	}

	// SIGHUP after a fix: the new set goes live and the error clears.
	writeFile(t, path, validRules(3))
	if err := f.r.Reload("SIGHUP"); err != nil {
		t.Fatal(err)
	}
	if st := f.r.Stats(); st.Successes != 2 || st.LastError != "" {
		t.Errorf("stats = %+v, want 2 successes and no error", st)
	}
	if _, loc, _ := f.location("/probe"); loc != "/v3" {
		t.Errorf("Location = %q, want /v3", loc)
	}
}

func TestMissingFile(t *testing.T) {
	h := server.New(server.Options{})
	r, err := reload.New(reload.Config{Path: filepath.Join(t.TempDir(), "nope.yaml"), Server: h})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Reload("start")
	var diags detour.Diagnostics
	if err == nil || errors.As(err, &diags) && !diags.HasErrors() {
		t.Fatalf("Reload = %v, want an error", err)
	}
	if h.Rules() != nil {
		t.Error("a rule set went live")
	}
}

// TestTables follows table files: a change to a table reloads, and a
// table added in a new subfolder is watched from the next load on.
func TestTables(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "detour.yaml")
	writeFile(t, filepath.Join(dir, "legacy.csv"), "from,to\n/t1,/x1\n")
	writeFile(t, path, validRules(0)+"tables:\n  - file: legacy.csv\n")
	f := newFixture(t, path)
	f.watch(t, path)
	f.waitLocation(t, "/t1", "/x1")

	tests := []struct {
		name  string
		write func()
		path  string
		want  string
	}{
		{"table renamed over", func() { writeFile(t, filepath.Join(dir, "legacy.csv"), "from,to\n/t1,/x2\n") }, "/t1", "/x2"},
		{"table written in place", func() {
			if err := os.WriteFile(filepath.Join(dir, "legacy.csv"), []byte("from,to\n/t1,/x3\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "/t1", "/x3"},
		{"table added in a subfolder", func() {
			if err := os.Mkdir(filepath.Join(dir, "more"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "more", "extra.csv"), "from,to\n/t2,/y1\n")
			writeFile(t, path, validRules(0)+"tables:\n  - file: legacy.csv\n  - file: more/extra.csv\n")
		}, "/t2", "/y1"},
		{"the new table is watched", func() { writeFile(t, filepath.Join(dir, "more", "extra.csv"), "from,to\n/t2,/y2\n") }, "/t2", "/y2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.write()
			f.waitLocation(t, tt.path, tt.want)
		})
	}
}

// TestNewTableChangedBeforeWatched: a table file new to the set is
// watched only once the load that added it is over, so a change made to
// it in between sends no event. The watcher must still see it: here the
// table is rewritten from inside that load (when it logs "rules loaded"),
// before its folder is watched, and the new row must go live.
func TestNewTableChangedBeforeWatched(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "detour.yaml")
	writeFile(t, filepath.Join(dir, "legacy.csv"), "from,to\n/t1,/x1\n")
	writeFile(t, path, validRules(0)+"tables:\n  - file: legacy.csv\n")
	extra := filepath.Join(dir, "more", "extra.csv")
	var rewrote atomic.Bool
	f := newFixtureHook(t, path, func(line string) {
		// The load that reads extra.csv for the first time.
		if strings.Contains(line, `msg="rules loaded"`) && strings.Contains(line, "files=3") && !rewrote.Swap(true) {
			writeFile(t, extra, "from,to\n/t2,/y22\n")
		}
	})
	f.watch(t, path)
	f.waitLocation(t, "/t1", "/x1")
	if err := os.Mkdir(filepath.Join(dir, "more"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, extra, "from,to\n/t2,/y1\n")
	writeFile(t, path, validRules(0)+"tables:\n  - file: legacy.csv\n  - file: more/extra.csv\n")
	f.waitLocation(t, "/t2", "/y22")
	if !rewrote.Load() {
		t.Error("the table was never rewritten during the load: the test proved nothing")
	}
}

// TestFolder serves a folder of rules files: a new file joins the set.
func TestFolder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), validRules(0))
	f := newFixture(t, dir)
	f.watch(t, dir)

	writeFile(t, filepath.Join(dir, "b.yaml"), "rules:\n  - from: /other\n    to: /b\n")
	f.waitLocation(t, "/other", "/b")
	if err := os.Remove(filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "/other to stop matching", func() bool {
		status, _, err := f.location("/other")
		return err == nil && status == 404
	})
}

// TestChangedBeforeWatching changes the rules between the first load and
// the start of the watcher: the watcher notices at once.
func TestChangedBeforeWatching(t *testing.T) {
	path := filepath.Join(t.TempDir(), "detour.yaml")
	writeFile(t, path, validRules(0))
	f := newFixture(t, path)
	writeFile(t, path, validRules(1)+"# a longer file\n")
	f.run(t)
	f.waitLocation(t, "/probe", "/v1")
}
