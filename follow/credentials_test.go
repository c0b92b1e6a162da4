package follow_test

import (
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/detourhttp/detour/follow"
)

// origins are three loopback origins and a fourth name for the first:
// A (127.0.0.1:p), B ([::1]:q), C (127.0.0.1:r), and L (localhost:p, the
// same server as A under another host name).
type origins struct {
	srv  map[string]*hopServer
	base map[string]string
}

func newOrigins(t *testing.T) *origins {
	t.Helper()
	a := newHopServer(t, "", nil)
	b := newHopServer(t, "[::1]:0", nil)
	c := newHopServer(t, "", nil)
	port := a.Listener.Addr().String()
	port = port[strings.LastIndexByte(port, ':'):]
	return &origins{
		srv:  map[string]*hopServer{"A": a, "B": b, "C": c, "L": a},
		base: map[string]string{"A": a.URL, "B": b.URL, "C": c.URL, "L": "http://localhost" + port},
	}
}

// hopAt is one hop of a chain: an origin's name and a path.
type hopAt struct{ origin, path string }

// chain makes each hop redirect (307) to the next, by absolute URL, and
// returns the first hop's URL.
func (o *origins) chain(hops []hopAt) string {
	for i := 0; i < len(hops)-1; i++ {
		next := o.base[hops[i+1].origin] + hops[i+1].path
		o.srv[hops[i].origin].route(hops[i].path, redirect(307, next))
	}
	return o.base[hops[0].origin] + hops[0].path
}

// received returns, in chain order, what each hop's server got.
func (o *origins) received(t *testing.T, hops []hopAt) []received {
	t.Helper()
	byPath := map[string]received{}
	for _, name := range []string{"A", "B", "C"} {
		for _, r := range o.srv[name].requests() {
			byPath[name+r.URI] = r
		}
	}
	out := make([]received, len(hops))
	for i, h := range hops {
		name := h.origin
		if name == "L" {
			name = "A"
		}
		r, ok := byPath[name+h.path]
		if !ok {
			t.Fatalf("hop %d (%s%s) never arrived", i+1, h.origin, h.path)
		}
		out[i] = r
	}
	return out
}

// TestCredentialsAcrossOrigins: the caller's Authorization,
// Proxy-Authorization and Cookie are not sent to another origin, and never
// again later in the chain, even back at the first (CVE-2024-45336), unless
// KeepAuth names the host.
func TestCredentialsAcrossOrigins(t *testing.T) {
	o := newOrigins(t)
	bPort := o.srv["B"].Listener.Addr().String()
	bPort = bPort[strings.LastIndexByte(bPort, ':')+1:]

	tests := []struct {
		name     string
		hops     []hopAt
		keep     []string
		wantSent []bool // credentials arrived at each hop
	}{
		{name: "same origin keeps them",
			hops: []hopAt{{"A", "/s1"}, {"A", "/s2"}}, wantSent: []bool{true, true}},
		{name: "A to B drops them",
			hops: []hopAt{{"A", "/ab1"}, {"B", "/ab2"}}, wantSent: []bool{true, false}},
		{name: "A to B to A never adds them back (CVE-2024-45336)",
			hops: []hopAt{{"A", "/aba1"}, {"B", "/aba2"}, {"A", "/aba3"}}, wantSent: []bool{true, false, false}},
		{name: "a change of port alone drops them",
			hops: []hopAt{{"A", "/p1"}, {"C", "/p2"}}, wantSent: []bool{true, false}},
		{name: "a change of host alone drops them (127.0.0.1 to localhost)",
			hops: []hopAt{{"A", "/h1"}, {"L", "/h2"}}, wantSent: []bool{true, false}},
		{name: "same-origin hops after leaving stay without them",
			hops: []hopAt{{"A", "/so1"}, {"B", "/so2"}, {"B", "/so3"}}, wantSent: []bool{true, false, false}},
		{name: "KeepAuth naming B's host keeps them there and back",
			hops: []hopAt{{"A", "/k1"}, {"B", "/k2"}, {"A", "/k3"}}, keep: []string{"::1"}, wantSent: []bool{true, true, true}},
		{name: "KeepAuth naming B's host in brackets with its port",
			hops: []hopAt{{"A", "/kp1"}, {"B", "/kp2"}}, keep: []string{"[::1]:" + bPort}, wantSent: []bool{true, true}},
		{name: "KeepAuth naming another port of B's host drops them",
			hops: []hopAt{{"A", "/ko1"}, {"B", "/ko2"}}, keep: []string{"[::1]:1"}, wantSent: []bool{true, false}},
		{name: "KeepAuth for B does not bring them back after C",
			hops: []hopAt{{"A", "/kc1"}, {"C", "/kc2"}, {"B", "/kc3"}}, keep: []string{"::1"}, wantSent: []bool{true, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t)
			c.KeepAuth = tt.keep
			req := mustRequest(t, "GET", o.chain(tt.hops), nil)
			req.Header.Set("Authorization", "Bearer secret")
			req.Header.Set("Proxy-Authorization", "Basic cHJveHk6c2VjcmV0")
			req.Header.Set("Cookie", "session=secret")
			res, _ := mustFollow(t, c, req)

			got := o.received(t, tt.hops)
			for i, r := range got {
				for _, h := range []string{"Authorization", "Proxy-Authorization", "Cookie"} {
					if sent := r.Header.Get(h) != ""; sent != tt.wantSent[i] {
						t.Errorf("hop %d (%s%s): %s sent = %v, want %v", i+1, tt.hops[i].origin, tt.hops[i].path, h, sent, tt.wantSent[i])
					}
				}
			}
			// The hop before the first that lost them says so.
			for i := 1; i < len(tt.wantSent); i++ {
				if tt.wantSent[i-1] && !tt.wantSent[i] {
					want := []string{
						"Authorization dropped (cross-origin)",
						"Proxy-Authorization dropped (cross-origin)",
						"Cookie dropped (cross-origin)",
					}
					if !slices.Equal(res.Hops[i-1].Changes, want) {
						t.Errorf("hop %d changes = %q, want %q", i, res.Hops[i-1].Changes, want)
					}
				}
			}
		})
	}
}

// TestUserinfoNotCarried: basic auth from the URL's userinfo goes to the
// same origin (relative Locations keep the userinfo) but not to another;
// the hop record hides the password.
func TestUserinfoNotCarried(t *testing.T) {
	o := newOrigins(t)
	hops := []hopAt{{"A", "/u1"}, {"A", "/u2"}, {"B", "/u3"}}
	o.srv["A"].route("/u1", redirect(302, "u2"))
	o.srv["A"].route("/u2", redirect(302, o.base["B"]+"/u3"))
	u, _ := url.Parse(o.base["A"] + "/u1")
	u.User = url.UserPassword("alice", "secret")
	res, _ := mustFollow(t, newClient(t), mustRequest(t, "GET", u.String(), nil))
	got := o.received(t, hops)
	want := []bool{true, true, false}
	for i, r := range got {
		if sent := r.Header.Get("Authorization") != ""; sent != want[i] {
			t.Errorf("hop %d: Authorization sent = %v, want %v", i+1, sent, want[i])
		}
	}
	if strings.Contains(res.Hops[0].URL, "secret") || !strings.Contains(res.Hops[0].URL, "alice:xxxxx@") {
		t.Errorf("hop URL %q shows the password", res.Hops[0].URL)
	}
}

// TestJarHopByHop: the http.Client's cookie jar is consulted and updated at
// every hop, each cookie going only where it belongs, while the caller's own
// Cookie header is dropped for good at the first cross-origin hop.
func TestJarHopByHop(t *testing.T) {
	o := newOrigins(t)
	setCookie := func(cookie, next string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Set-Cookie", cookie)
			redirect(302, next)(w, r)
		}
	}
	o.srv["A"].route("/j1", setCookie("a=1; Path=/", o.base["B"]+"/j2"))
	o.srv["B"].route("/j2", setCookie("b=2; Path=/", o.base["A"]+"/j3"))
	hops := []hopAt{{"A", "/j1"}, {"B", "/j2"}, {"A", "/j3"}}

	tests := []struct {
		name       string
		jar        bool
		wantCookie []string // the Cookie header at each hop
	}{
		{name: "with a jar, each origin gets its own cookie", jar: true,
			wantCookie: []string{"caller=x", "", "a=1"}},
		{name: "without a jar, no cookie comes back", jar: false,
			wantCookie: []string{"caller=x", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t)
			if tt.jar {
				jar, err := cookiejar.New(nil)
				if err != nil {
					t.Fatal(err)
				}
				c.HTTP.Jar = jar
			}
			req := mustRequest(t, "GET", o.base["A"]+"/j1", nil)
			req.Header.Set("Cookie", "caller=x")
			mustFollow(t, c, req)
			for i, r := range o.received(t, hops) {
				if got := r.Header.Get("Cookie"); got != tt.wantCookie[i] {
					t.Errorf("hop %d: Cookie %q, want %q", i+1, got, tt.wantCookie[i])
				}
			}
		})
	}
}

// TestJarOverridesCallerCookie: on a same-origin chain, a cookie the caller
// set that a response sets anew is sent with the jar's value only
// (golang/go#17494).
func TestJarOverridesCallerCookie(t *testing.T) {
	srv := newHopServer(t, "", nil)
	srv.route("/o1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "theme=dark; Path=/")
		redirect(302, "/o2")(w, r)
	})
	jar, _ := cookiejar.New(nil)
	c := newClient(t)
	c.HTTP.Jar = jar
	req := mustRequest(t, "GET", srv.URL+"/o1", nil)
	req.Header.Set("Cookie", "theme=light; lang=en")
	res, _ := mustFollow(t, c, req)
	got := srv.requests()
	if h := got[1].Header.Get("Cookie"); h != "lang=en; theme=dark" {
		t.Errorf("second hop Cookie = %q, want %q", h, "lang=en; theme=dark")
	}
	if want := []string{"Cookie theme dropped (set by the response)"}; !slices.Equal(res.Hops[0].Changes, want) {
		t.Errorf("changes = %q, want %q", res.Hops[0].Changes, want)
	}
}

// TestDowngrade: https to http is refused by default; allowed, it goes
// without Referer (even the caller's) and without credentials.
func TestDowngrade(t *testing.T) {
	plain := newHopServer(t, "", map[string]http.HandlerFunc{"/d2": redirect(302, "/d3")})
	secure := newTLSHopServer(t, map[string]http.HandlerFunc{
		"/d1": redirect(307, plain.URL+"/d2"),
	})

	t.Run("refused by default", func(t *testing.T) {
		c := &follow.Client{HTTP: &http.Client{Transport: newTransport(t, secure.Server)}}
		_, err := c.Follow(mustRequest(t, "GET", secure.URL+"/d1", nil))
		if !errors.Is(err, follow.ErrDowngrade) {
			t.Fatalf("err = %v, want ErrDowngrade", err)
		}
		if !strings.Contains(err.Error(), "hop 1") || !strings.Contains(err.Error(), plain.URL+"/d2") {
			t.Errorf("error %q does not name the hop and the target", err)
		}
		if got := plain.requests(); len(got) != 0 {
			t.Errorf("plain server got %v", paths(got))
		}
	})
	t.Run("allowed, without Referer or credentials", func(t *testing.T) {
		c := &follow.Client{HTTP: &http.Client{Transport: newTransport(t, secure.Server)}, AllowDowngrade: true}
		req := mustRequest(t, "GET", secure.URL+"/d1", nil)
		req.Header.Set("Referer", "https://example.com/secret-page")
		req.Header.Set("Authorization", "Bearer secret")
		res, _ := mustFollow(t, c, req)
		got := plain.requests()
		if len(got) != 2 {
			t.Fatalf("plain server got %v", paths(got))
		}
		for _, h := range []string{"Referer", "Authorization"} {
			if v := got[0].Header.Get(h); v != "" {
				t.Errorf("%s = %q sent on a downgrade", h, v)
			}
		}
		// After the downgrade, the caller's https Referer stays away;
		// the http hop names the http page it came from.
		if v, want := got[1].Header.Get("Referer"), plain.URL+"/d2"; v != want {
			t.Errorf("Referer after the downgrade = %q, want %q", v, want)
		}
		want := []string{"Authorization dropped (cross-origin)", "Referer dropped (downgrade)"}
		if !slices.Equal(res.Hops[0].Changes, want) {
			t.Errorf("changes = %q, want %q", res.Hops[0].Changes, want)
		}
	})
}

// TestReferer: each hop but a downgrade names the previous URL, without
// its userinfo or fragment; the caller's own Referer is kept.
func TestReferer(t *testing.T) {
	srv := newHopServer(t, "", map[string]http.HandlerFunc{
		"/r1": redirect(302, "/r2"),
		"/r2": redirect(302, "/r3"),
	})
	mustFollow(t, newClient(t), mustRequest(t, "GET", srv.URL+"/r1?x=1#frag", nil))
	got := srv.requests()
	want := []string{"", srv.URL + "/r1?x=1", srv.URL + "/r2"}
	for i, r := range got {
		if v := r.Header.Get("Referer"); v != want[i] {
			t.Errorf("hop %d Referer = %q, want %q", i+1, v, want[i])
		}
	}

	req := mustRequest(t, "GET", srv.URL+"/r1", nil)
	req.Header.Set("Referer", "http://example.com/from")
	mustFollow(t, newClient(t), req)
	for i, r := range srv.requests() {
		if v := r.Header.Get("Referer"); v != "http://example.com/from" {
			t.Errorf("explicit: hop %d Referer = %q", i+1, v)
		}
	}
}
