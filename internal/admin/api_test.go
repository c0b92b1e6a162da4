package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/detourhttp/detour/internal/admin"
	"github.com/detourhttp/detour/internal/reload"
	"github.com/detourhttp/detour/internal/server"
	"github.com/detourhttp/detour/internal/sqlite"
	"github.com/detourhttp/detour/internal/testutil"
)

const token = "s3cret-token"

// fileRules is the rules file of the fixture: /file-rule at line 3.
const fileRules = `rules:
  - id: file-rule
    from: /file-rule
    to: /from-file
`

// fixture is a redirect listener and an admin listener over one rules
// file and one SQLite store, as detour serve wires them.
type fixture struct {
	rulesPath string
	dbPath    string
	store     *sqlite.DB
	handler   *server.Handler
	reloader  *reload.Reloader
	stats     *server.Stats
	redirect  *httptest.Server
	admin     *httptest.Server
	log       *testutil.SyncBuffer
}

type fixtureOpt func(*admin.Config)

func newFixture(t *testing.T, opts ...fixtureOpt) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{rulesPath: filepath.Join(dir, "detour.yaml"), dbPath: filepath.Join(dir, "detour.db"), log: &testutil.SyncBuffer{}}
	f.writeRules(t, fileRules)
	f.start(t, opts...)
	return f
}

func (f *fixture) writeRules(t *testing.T, s string) {
	t.Helper()
	if err := os.WriteFile(f.rulesPath, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// start opens the store and starts both listeners.
func (f *fixture) start(t *testing.T, opts ...fixtureOpt) {
	t.Helper()
	var err error
	f.store, err = sqlite.Open(context.Background(), f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close() })
	log := slog.New(slog.NewTextHandler(f.log, nil))
	metrics := admin.NewMetrics()
	f.stats = server.NewStats()
	f.handler = server.New(server.Options{LookupLatency: metrics.LookupLatency})
	f.reloader, err = reload.New(reload.Config{Path: f.rulesPath, Server: f.handler, Store: f.store, Stats: f.stats, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.reloader.Reload("start"); err != nil {
		t.Fatal(err)
	}
	f.redirect = httptest.NewServer(f.handler)
	t.Cleanup(f.redirect.Close)
	f.admin = httptest.NewUnstartedServer(nil)
	cfg := admin.Config{Rules: f.handler, Reloader: f.reloader, Token: token, Addr: f.admin.Listener.Addr().String(),
		Metrics: metrics, Log: log, MaxBody: 4096}
	for _, o := range opts {
		o(&cfg)
	}
	f.admin.Config.Handler = admin.New(cfg)
	f.admin.Start()
	t.Cleanup(f.admin.Close)
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("%d %s: %v", r.status, r.body, err)
	}
}

// call sends a request to the admin listener with the token (unless a
// header "Authorization" is given as "" in hdr).
func (f *fixture) call(t *testing.T, method, path, body string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, f.admin.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// redirect asks the redirect listener for path: status and Location.
func (f *fixture) redirectTo(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := noFollow.Get(f.redirect.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		path   string
		auth   string
		status int
	}{
		{"no token", "/api/v1/rules", "", 401},
		{"wrong token", "/api/v1/rules", "Bearer nope", 401},
		{"token as basic", "/api/v1/rules", "Basic " + token, 401},
		{"token prefix", "/api/v1/rules", "Bearer " + token[:5], 401},
		{"right token", "/api/v1/rules", "Bearer " + token, 200},
		{"unknown API route needs the token too", "/api/v2/x", "", 401},
		{"healthz open", "/healthz", "", 200},
		{"readyz open", "/readyz", "", 200},
		{"metrics open", "/metrics", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.call(t, "GET", tt.path, "", "Authorization", tt.auth)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status == 401 {
				if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate %q", got)
				}
				checkProblem(t, r, 401)
			}
		})
	}
	t.Run("metrics with --metrics-auth", func(t *testing.T) {
		g := newFixture(t, func(c *admin.Config) { c.MetricsAuth = true })
		wantStatus(t, g.call(t, "GET", "/metrics", "", "Authorization", ""), 401)
		wantStatus(t, g.call(t, "GET", "/metrics", ""), 200)
	})
	t.Run("no token configured refuses all", func(t *testing.T) {
		g := newFixture(t, func(c *admin.Config) { c.Token = "" })
		wantStatus(t, g.call(t, "GET", "/api/v1/rules", ""), 401)
	})
}

func TestHostCheck(t *testing.T) {
	f := newFixture(t)
	port := f.admin.Listener.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndex(port, ":")+1:]
	tests := []struct {
		name, path, host string
		status           int
	}{
		{"rebound name", "/api/v1/rules", "attacker.example:" + port, 421},
		{"rebound name on metrics", "/metrics", "attacker.example:" + port, 421},
		{"other port", "/api/v1/rules", "127.0.0.1:1", 421},
		{"localhost", "/api/v1/rules", "localhost:" + port, 200},
		{"loopback v4", "/api/v1/rules", "127.0.0.1:" + port, 200},
		{"loopback v6", "/api/v1/rules", "[::1]:" + port, 200},
		{"healthz answers any host", "/healthz", "attacker.example", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.call(t, "GET", tt.path, "", "Host", tt.host)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status == 421 {
				checkProblem(t, r, 421)
			}
		})
	}
	t.Run("configured name", func(t *testing.T) {
		g := newFixture(t, func(c *admin.Config) { c.Hosts = []string{"admin.internal"} })
		gport := g.admin.Listener.Addr().String()
		gport = gport[strings.LastIndex(gport, ":")+1:]
		wantStatus(t, g.call(t, "GET", "/api/v1/rules", "", "Host", "admin.internal:"+gport), 200)
	})
}

// checkProblem checks the RFC 9457 shape of a problem response.
func checkProblem(t *testing.T, r response, status int) admin.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p admin.Problem
	r.json(t, &p)
	if p.Status != status || p.Type == "" || p.Title == "" || !strings.HasPrefix(p.Type, admin.ProblemType) {
		t.Errorf("problem %+v, want status %d with type and title", p, status)
	}
	return p
}

// TestLifecycle: each write is live for the very next request.
func TestLifecycle(t *testing.T) {
	f := newFixture(t)
	r := f.call(t, "POST", "/api/v1/rules", `{"id": "promo", "from": "/promo", "to": "/landing", "status": 302}`)
	wantStatus(t, r, 201)
	if loc := r.header.Get("Location"); loc != "/api/v1/rules/promo" {
		t.Errorf("Location %q", loc)
	}
	etag := r.header.Get("ETag")
	var created admin.Rule
	r.json(t, &created)
	if created.ID != "promo" || created.Status != 302 || !created.Enabled || created.State != "active" || etag != fmt.Sprintf(`"%d"`, created.Version) {
		t.Errorf("created %+v, ETag %s", created, etag)
	}
	if st, loc := f.redirectTo(t, "/promo"); st != 302 || loc != "/landing" {
		t.Fatalf("after create: %d %q", st, loc)
	}

	g := f.call(t, "GET", "/api/v1/rules/promo", "")
	wantStatus(t, g, 200)
	if g.header.Get("ETag") != etag {
		t.Errorf("GET ETag %q, want %q", g.header.Get("ETag"), etag)
	}

	steps := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		redirect                 int
		location                 string
	}{
		{"replace without If-Match", "PUT", "/api/v1/rules/promo", `{"from": "/promo", "to": "/x"}`, nil, 428, 302, "/landing"},
		{"replace with a stale ETag", "PUT", "/api/v1/rules/promo", `{"from": "/promo", "to": "/x"}`, []string{"If-Match", `"999999"`}, 412, 302, "/landing"},
		{"replace with a weak ETag", "PUT", "/api/v1/rules/promo", `{"from": "/promo", "to": "/x"}`, []string{"If-Match", "W/" + etag}, 412, 302, "/landing"},
		{"replace with another id", "PUT", "/api/v1/rules/promo", `{"id": "other", "from": "/promo", "to": "/x"}`, []string{"If-Match", etag}, 422, 302, "/landing"},
		{"replace", "PUT", "/api/v1/rules/promo", `{"from": "/promo", "to": "/campaign"}`, []string{"If-Match", etag}, 200, 307, "/campaign"},
		{"replace with the old ETag again", "PUT", "/api/v1/rules/promo", `{"from": "/promo", "to": "/x"}`, []string{"If-Match", etag}, 412, 307, "/campaign"},
		{"disable", "POST", "/api/v1/rules/promo/disable", "", nil, 200, 404, ""},
		{"enable", "POST", "/api/v1/rules/promo/enable", "", nil, 200, 307, "/campaign"},
		{"patch disabled", "PATCH", "/api/v1/rules/promo", `{"enabled": false}`, nil, 200, 404, ""},
		{"patch another field", "PATCH", "/api/v1/rules/promo", `{"to": "/y"}`, nil, 422, 404, ""},
		{"patch enabled", "PATCH", "/api/v1/rules/promo", `{"enabled": true}`, nil, 200, 307, "/campaign"},
		{"delete with a stale ETag", "DELETE", "/api/v1/rules/promo", "", []string{"If-Match", etag}, 412, 307, "/campaign"},
		{"delete", "DELETE", "/api/v1/rules/promo", "", nil, 204, 404, ""},
		{"get deleted", "GET", "/api/v1/rules/promo", "", nil, 404, 404, ""},
		{"delete again", "DELETE", "/api/v1/rules/promo", "", nil, 404, 404, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := f.call(t, st.method, st.path, st.body, st.hdr...)
			wantStatus(t, r, st.status)
			if st.status >= 400 {
				checkProblem(t, r, st.status)
			}
			if code, loc := f.redirectTo(t, "/promo"); code != st.redirect || loc != st.location {
				t.Errorf("redirect listener: %d %q, want %d %q", code, loc, st.redirect, st.location)
			}
		})
	}
}

// TestValidation: the messages and field names of the rules file.
func TestValidation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name    string
		body    string
		status  int
		field   string
		message string
	}{
		{"bad status", `{"from": "/a", "to": "/b", "status": 305}`, 422, "status", `status must be 301, 302, 303, 307, 308 or 410, got "305"`},
		{"unknown field", `{"from": "/a", "to": "/b", "stauts": 302}`, 422, "stauts", `unknown field "stauts" (did you mean "status"?)`},
		{"window without offset", `{"from": "/a", "to": "/b", "window": {"end": "2026-12-01T04:00:00"}}`, 422, "window.end", `"2026-12-01T04:00:00" has no offset: write it with Z or ±hh:mm, such as 2026-12-01T04:00:00Z`},
		{"missing to", `{"from": "/a"}`, 422, "to", "missing: a rule needs to: unless its status is 410"},
		{"capture that leaves the site", `{"from": "/x/*", "to": "https://:splat"}`, 422, "to", ""},
		{"not JSON", `{"from": `, 400, "", ""},
		{"empty", ``, 400, "", ""},
		{"too large", `{"from": "/a", "to": "/` + strings.Repeat("b", 5000) + `"}`, 413, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.call(t, "POST", "/api/v1/rules", tt.body)
			wantStatus(t, r, tt.status)
			p := checkProblem(t, r, tt.status)
			if tt.field == "" {
				return
			}
			if len(p.Errors) == 0 || p.Errors[0].Field != tt.field {
				t.Fatalf("errors %+v, want field %q first", p.Errors, tt.field)
			}
			if tt.message != "" && p.Errors[0].Message != tt.message {
				t.Errorf("message %q, want %q", p.Errors[0].Message, tt.message)
			}
		})
	}
	// Nothing refused reached the store.
	var list admin.RuleList
	f.call(t, "GET", "/api/v1/rules", "").json(t, &list)
	if len(list.Rules) != 0 {
		t.Errorf("refused rules stored: %+v", list.Rules)
	}
}

// TestBodyLimitWithoutLength: a body sent without Content-Length is cut
// at MaxBody too, on every route that reads one, and nothing is stored.
func TestBodyLimitWithoutLength(t *testing.T) {
	f := newFixture(t)
	wantStatus(t, f.call(t, "POST", "/api/v1/rules", `{"id": "big", "from": "/big", "to": "/b"}`), 201)
	big := `{"id": "big", "from": "/big", "to": "/` + strings.Repeat("b", 5000) + `"}`
	for _, method := range []string{"POST", "PUT", "PATCH"} {
		t.Run(method, func(t *testing.T) {
			path := "/api/v1/rules"
			if method != "POST" {
				path += "/big"
			}
			// A reader of unknown length: the client sends it chunked.
			req, err := http.NewRequest(method, f.admin.URL+path, io.MultiReader(strings.NewReader(big)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("If-Match", "*")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			r := response{resp.StatusCode, resp.Header, string(b)}
			if req.ContentLength != 0 {
				t.Fatalf("the request has Content-Length %d", req.ContentLength)
			}
			wantStatus(t, r, 413)
			checkProblem(t, r, 413)
			if st, loc := f.redirectTo(t, "/big"); st != 307 || loc != "/b" {
				t.Errorf("after the refused %s: %d %q, want 307 /b", method, st, loc)
			}
		})
	}
}

// TestConflictWithFileRule: a runtime rule that ties with a file rule, or
// takes its id, is refused with 409 naming the file rule's file:line.
func TestConflictWithFileRule(t *testing.T) {
	f := newFixture(t)
	where := f.rulesPath + ":2"
	tests := []struct {
		name   string
		body   string
		status int
	}{
		{"tie", `{"id": "mine", "from": "/file-rule", "to": "/elsewhere"}`, 409},
		{"taken id", `{"id": "file-rule", "from": "/other", "to": "/elsewhere"}`, 409},
		{"higher priority is fine", `{"id": "maint", "from": "/file-rule", "to": "/maintenance", "priority": 10}`, 201},
		{"ties with a runtime rule", `{"id": "posts", "from": "/file-rule", "to": "/p", "methods": ["POST"], "priority": 10}`, 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.call(t, "POST", "/api/v1/rules", tt.body)
			wantStatus(t, r, tt.status)
			if tt.status != 409 {
				return
			}
			p := checkProblem(t, r, 409)
			if !strings.Contains(p.Detail, where) && !strings.Contains(p.Detail, "runtime") {
				t.Errorf("detail %q does not name %s", p.Detail, where)
			}
		})
	}
	if st, loc := f.redirectTo(t, "/file-rule"); st != 307 || loc != "/maintenance" {
		t.Errorf("the priority rule does not answer: %d %q", st, loc)
	}
}

// TestFileReloadShadows: a file reload that brings a rule tying with a
// runtime rule wins; the runtime rule is shadowed (API and log).
func TestFileReloadShadows(t *testing.T) {
	f := newFixture(t)
	wantStatus(t, f.call(t, "POST", "/api/v1/rules", `{"id": "rt", "from": "/later", "to": "/runtime"}`), 201)
	f.writeRules(t, fileRules+"  - id: later\n    from: /later\n    to: /file-wins\n")
	if err := f.reloader.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if st, loc := f.redirectTo(t, "/later"); st != 307 || loc != "/file-wins" {
		t.Errorf("after the reload: %d %q, want the file rule", st, loc)
	}
	var rr admin.Rule
	f.call(t, "GET", "/api/v1/rules/rt", "").json(t, &rr)
	if rr.State != "shadowed" || !strings.Contains(rr.ShadowedBy, f.rulesPath+":5") {
		t.Errorf("state %q shadowed_by %q", rr.State, rr.ShadowedBy)
	}
	if !strings.Contains(f.log.String(), "runtime rule shadowed") {
		t.Errorf("log does not report the shadowed rule:\n%s", f.log.String())
	}
	// The file rule goes away: the runtime rule is back.
	f.writeRules(t, fileRules)
	if err := f.reloader.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if st, loc := f.redirectTo(t, "/later"); st != 307 || loc != "/runtime" {
		t.Errorf("after the file rule left: %d %q", st, loc)
	}
}

func TestListPagingAndFilters(t *testing.T) {
	f := newFixture(t)
	for _, b := range []string{
		`{"id": "a", "from": "/docs/a", "to": "/x", "host": "example.com"}`,
		`{"id": "b", "from": "/docs/b", "to": "/x", "enabled": false}`,
		`{"id": "c", "from": "/blog/c", "to": "/x", "window": {"end": "2000-01-01T00:00:00Z"}}`,
		`{"id": "d", "from": "/docs/d", "to": "/x", "window": {"start": "2999-01-01T00:00:00Z"}}`,
		`{"id": "e", "from": "/e", "to": "/x"}`,
	} {
		wantStatus(t, f.call(t, "POST", "/api/v1/rules", b), 201)
	}
	tests := []struct {
		name  string
		query string
		want  string // ids, with | between pages
		state string
	}{
		{"all", "", "a b c d e", ""},
		{"paged by 2", "?limit=2", "a b|c d|e", ""},
		{"host", "?host=example.com", "a", ""},
		{"path prefix", "?path_prefix=/docs/", "a b d", ""},
		{"disabled", "?enabled=false", "b", "disabled"},
		{"active now", "?active=true", "a e", "active"},
		{"prefix paged", "?path_prefix=/docs&limit=1", "a|b|d", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pages []string
			path := "/api/v1/rules" + tt.query
			for range 10 {
				r := f.call(t, "GET", path, "")
				wantStatus(t, r, 200)
				var l admin.RuleList
				r.json(t, &l)
				var ids []string
				for _, x := range l.Rules {
					ids = append(ids, x.ID)
					if tt.state != "" && x.State != tt.state {
						t.Errorf("%s: state %q, want %q", x.ID, x.State, tt.state)
					}
				}
				pages = append(pages, strings.Join(ids, " "))
				if l.NextCursor == "" {
					if r.header.Get("Link") != "" {
						t.Errorf("Link on the last page: %s", r.header.Get("Link"))
					}
					break
				}
				link := r.header.Get("Link")
				if !strings.Contains(link, `rel="next"`) {
					t.Errorf("no next Link: %q", link)
				}
				path = link[1:strings.Index(link, ">")]
			}
			if got := strings.Join(pages, "|"); got != tt.want {
				t.Errorf("pages %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("states", func(t *testing.T) {
		want := map[string]string{"a": "active", "b": "disabled", "c": "expired", "d": "scheduled"}
		for id, st := range want {
			var rr admin.Rule
			f.call(t, "GET", "/api/v1/rules/"+id, "").json(t, &rr)
			if rr.State != st {
				t.Errorf("%s: state %q, want %q", id, rr.State, st)
			}
		}
	})
	for _, q := range []string{"?limit=0", "?limit=x", "?enabled=maybe", "?cursor=zzz"} {
		t.Run("bad query "+q, func(t *testing.T) {
			r := f.call(t, "GET", "/api/v1/rules"+q, "")
			wantStatus(t, r, 400)
			if p := checkProblem(t, r, 400); len(p.Errors) == 0 {
				t.Errorf("no errors in %+v", p)
			}
		})
	}
}

// scrape reads /metrics into metric families.
func scrape(t *testing.T, f *fixture) map[string]*familyView {
	t.Helper()
	r := f.call(t, "GET", "/metrics", "")
	wantStatus(t, r, 200)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, r.body)
	}
	out := map[string]*familyView{}
	for name, mf := range fams {
		fv := &familyView{values: map[string]float64{}}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			key := strings.Join(labels, ",")
			switch {
			case m.Counter != nil:
				fv.values[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				fv.values[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				fv.values[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
		out[name] = fv
	}
	return out
}

type familyView struct{ values map[string]float64 }

func TestMetrics(t *testing.T) {
	f := newFixture(t)
	f.writeRules(t, fileRules+"tables:\n  - file: t.csv\n")
	if err := os.WriteFile(filepath.Join(filepath.Dir(f.rulesPath), "t.csv"), []byte("/r1,/n1\n/r2,/n2,308\n/r3,/n3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.reloader.Reload("test"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, f.call(t, "POST", "/api/v1/rules", `{"id": "rt", "from": "/rt/*", "to": "/x"}`), 201)
	for _, p := range []string{"/file-rule", "/file-rule", "/rt/a", "/r1", "/r2", "/r2", "/missing"} {
		f.redirectTo(t, p)
	}
	m := scrape(t, f)
	tests := []struct {
		family, labels string
		want           float64
	}{
		{"detour_redirects_total", "rule=file-rule,status=307", 2},
		{"detour_redirects_total", "rule=rt,status=307", 1},
		{"detour_redirects_total", "rule=table:t.csv,status=307", 1},
		{"detour_redirects_total", "rule=table:t.csv,status=308", 2},
		{"detour_not_found_total", "", 1},
		{"detour_lookup_duration_seconds", "", 7},
		{"detour_rules", "kind=exact,source=file", 1},
		{"detour_rules", "kind=pattern,source=runtime", 1},
		{"detour_rules", "kind=row,source=file", 3},
		{"detour_rules", "kind=regex,source=file", 0},
		{"detour_reloads_total", "result=success", 2},
		{"detour_reloads_total", "result=failure", 0},
		{"detour_store_up", "", 1},
		{"detour_runtime_rules_shadowed", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.family+"{"+tt.labels+"}", func(t *testing.T) {
			fam := m[tt.family]
			if fam == nil {
				t.Fatalf("no %s", tt.family)
			}
			got, ok := fam.values[tt.labels]
			if !ok || got != tt.want {
				t.Errorf("got %v (present %v), want %v; family %v", got, ok, tt.want, fam.values)
			}
		})
	}
	if ts := m["detour_last_reload_success_timestamp_seconds"]; ts == nil || ts.values[""] < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last reload timestamp: %+v", ts)
	}
	// Rows are counted by table: no series per row.
	for key := range m["detour_redirects_total"].values {
		if strings.Contains(key, "r1") || strings.Contains(key, "/r2") {
			t.Errorf("a series per row: %s", key)
		}
	}
}

// TestHits: hits and last_hit in the API count in memory, are persisted
// by FlushHits, and are there after a restart on the same store.
func TestHits(t *testing.T) {
	f := newFixture(t)
	wantStatus(t, f.call(t, "POST", "/api/v1/rules", `{"id": "h", "from": "/h", "to": "/x"}`), 201)
	for range 3 {
		f.redirectTo(t, "/h")
	}
	var rr admin.Rule
	f.call(t, "GET", "/api/v1/rules/h", "").json(t, &rr)
	if rr.Hits != 3 || rr.LastHit == nil {
		t.Fatalf("hits %d last %v, want 3 and a time", rr.Hits, rr.LastHit)
	}
	if err := f.reloader.FlushHits(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.call(t, "GET", "/api/v1/rules/h", "").json(t, &rr)
	if rr.Hits != 3 {
		t.Errorf("after the flush: %d hits, want 3 (not counted twice)", rr.Hits)
	}
	f.redirectTo(t, "/h")
	if err := f.reloader.FlushHits(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A new server on the same store.
	f.store.Close()
	f.start(t)
	f.call(t, "GET", "/api/v1/rules/h", "").json(t, &rr)
	if rr.Hits != 4 || rr.LastHit == nil {
		t.Errorf("after a restart: hits %d last %v, want 4", rr.Hits, rr.LastHit)
	}
	f.redirectTo(t, "/h")
	f.call(t, "GET", "/api/v1/rules/h", "").json(t, &rr)
	if rr.Hits != 5 {
		t.Errorf("counting on after a restart: %d, want 5", rr.Hits)
	}
}

// TestReadyzStore: /readyz reports the store's health.
func TestReadyzStore(t *testing.T) {
	f := newFixture(t)
	var rd admin.Readiness
	r := f.call(t, "GET", "/readyz", "")
	r.json(t, &rd)
	if rd.Store == nil || !rd.Store.OK {
		t.Fatalf("store %+v", rd.Store)
	}
	f.store.Close()
	f.call(t, "GET", "/readyz", "").json(t, &rd)
	if rd.Store == nil || rd.Store.OK || rd.Store.Error == "" || !rd.Ready {
		t.Errorf("closed store: %+v (ready %v)", rd.Store, rd.Ready)
	}
	m := scrape(t, f)
	if got := m["detour_store_up"].values[""]; got != 0 {
		t.Errorf("detour_store_up %v, want 0", got)
	}
	// Writes are refused with 503; the live rules keep serving.
	r = f.call(t, "POST", "/api/v1/rules", `{"id": "z", "from": "/z", "to": "/x"}`)
	wantStatus(t, r, 503)
	checkProblem(t, r, 503)
	if st, _ := f.redirectTo(t, "/file-rule"); st != 307 {
		t.Errorf("file rule: %d", st)
	}
}
