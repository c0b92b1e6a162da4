package follow_test

import (
	"context"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour/internal/testutil"
)

// TestAgreesWithCurl runs real curl -L and follow on the same chain and
// compares what the servers received, hop by hop (method, target, body),
// and where each ended. The chain plays every followed status:
// /a 301 → /b 302 → /c 303 → /d 307 → /e 308 → /f.
func TestAgreesWithCurl(t *testing.T) {
	curl := testutil.Bin(t, "curl")
	srv := newHopServer(t, "", nil)
	for _, h := range []struct {
		from   string
		status int
		to     string
	}{{"/a", 301, "/b"}, {"/b", 302, "/c"}, {"/c", 303, "/d"}, {"/d", 307, "/e"}, {"/e", 308, "/f"}} {
		srv.route(h.from, redirect(h.status, h.to))
	}

	tests := []struct {
		name      string
		start     string
		curlFlags []string
		post301   bool
		post302   bool
		post303   bool
		want      []string // what the servers got: "METHOD target body"
	}{
		{name: "POST through every status", start: "/a",
			want: []string{"POST /a data=example", "GET /b ", "GET /c ", "GET /d ", "GET /e ", "GET /f "}},
		{name: "POST with --post301 --post302", start: "/a", curlFlags: []string{"--post301", "--post302"}, post301: true, post302: true,
			want: []string{"POST /a data=example", "POST /b data=example", "POST /c data=example", "GET /d ", "GET /e ", "GET /f "}},
		{name: "POST with --post303", start: "/c", curlFlags: []string{"--post303"}, post303: true,
			want: []string{"POST /c data=example", "POST /d data=example", "POST /e data=example", "POST /f data=example"}},
		{name: "POST through 307 and 308", start: "/d",
			want: []string{"POST /d data=example", "POST /e data=example", "POST /f data=example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := append([]string{"-sS", "-L", "-o", "/dev/null", "-w", "%{url_effective}", "-d", "data=example"}, tt.curlFlags...)
			out, err := exec.CommandContext(ctx, curl, append(args, srv.URL+tt.start)...).Output()
			if err != nil {
				t.Fatalf("curl: %v", err)
			}
			curlGot := bodies(srv.requests())
			curlEnd := string(out)

			c := newClient(t)
			c.Post301, c.Post302, c.Post303 = tt.post301, tt.post302, tt.post303
			req := mustRequest(t, "POST", srv.URL+tt.start, strings.NewReader("data=example"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, _ := mustFollow(t, c, req)
			followGot := bodies(srv.requests())
			followEnd := res.Hops[len(res.Hops)-1].URL

			if !slices.Equal(curlGot, tt.want) {
				t.Errorf("curl sent:\n  %q\nwant\n  %q", curlGot, tt.want)
			}
			if !slices.Equal(followGot, curlGot) {
				t.Errorf("follow sent:\n  %q\ncurl sent\n  %q", followGot, curlGot)
			}
			if followEnd != curlEnd {
				t.Errorf("follow ended at %s, curl at %s", followEnd, curlEnd)
			}
		})
	}
}

func bodies(rs []received) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Method + " " + r.URI + " " + r.Body
	}
	return out
}

// TestAgreesWithCurlOnCredentials: curl -L and follow both drop the
// caller's Authorization and Cookie on a redirect to another port. (They
// part on A→B→A: curl compares each hop with the first host and sends them
// again back there; follow never does, CVE-2024-45336.)
func TestAgreesWithCurlOnCredentials(t *testing.T) {
	curl := testutil.Bin(t, "curl")
	b := newHopServer(t, "", nil)
	a := newHopServer(t, "", map[string]http.HandlerFunc{"/x": redirect(307, b.URL+"/y")})
	headers := map[string]string{"Authorization": "Bearer secret", "Cookie": "session=secret"}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := []string{"-sS", "-L", "-o", "/dev/null"}
	for k, v := range headers {
		args = append(args, "-H", k+": "+v)
	}
	if out, err := exec.CommandContext(ctx, curl, append(args, a.URL+"/x")...).CombinedOutput(); err != nil {
		t.Fatalf("curl: %v: %s", err, out)
	}
	curlA, curlB := a.requests(), b.requests()

	req := mustRequest(t, "GET", a.URL+"/x", nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	mustFollow(t, newClient(t), req)
	followA, followB := a.requests(), b.requests()

	for k := range headers {
		got := [4]string{curlA[0].Header.Get(k), curlB[0].Header.Get(k), followA[0].Header.Get(k), followB[0].Header.Get(k)}
		want := [4]string{headers[k], "", headers[k], ""}
		if got != want {
			t.Errorf("%s at A, B: curl %q %q, follow %q %q; want sent to A only", k, got[0], got[1], got[2], got[3])
		}
	}
}
