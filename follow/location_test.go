package follow_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/detourhttp/detour/follow"
)

// TestResolve: RFC 3986 resolution, fragment inheritance (RFC 9110
// §10.2.2), and browser-style clean-up and percent-encoding.
func TestResolve(t *testing.T) {
	const base = "http://a.example/b/c/d;p?q#frag"
	tests := []struct {
		name     string
		location string
		want     string
	}{
		// RFC 3986 §5.4.1 normal examples, with the base's fragment.
		{name: "relative path", location: "next", want: "http://a.example/b/c/next#frag"},
		{name: "dot-dot", location: "../x", want: "http://a.example/b/x#frag"},
		{name: "dot-dot past the root", location: "../../../../x", want: "http://a.example/x#frag"},
		{name: "network-path reference", location: "//host.example/x", want: "http://host.example/x#frag"},
		{name: "query only", location: "?y=1", want: "http://a.example/b/c/d;p?y=1#frag"},
		{name: "absolute path", location: "/x/y", want: "http://a.example/x/y#frag"},
		{name: "absolute URL", location: "https://other.example:8443/z", want: "https://other.example:8443/z#frag"},
		{name: "own fragment wins", location: "/x#top", want: "http://a.example/x#top"},
		{name: "empty own fragment wins", location: "/x#", want: "http://a.example/x"},
		{name: "fragment only", location: "#top", want: "http://a.example/b/c/d;p?q#top"},

		// What browsers do to what servers send.
		{name: "raw UTF-8 path percent-encoded", location: "/café", want: "http://a.example/caf%C3%A9#frag"},
		{name: "space in path percent-encoded", location: "/a b", want: "http://a.example/a%20b#frag"},
		{name: "raw UTF-8 and space in query percent-encoded", location: "/s?q=é t", want: "http://a.example/s?q=%C3%A9%20t#frag"},
		{name: "quote and angle brackets in query", location: `/s?q="<x>'`, want: "http://a.example/s?q=%22%3Cx%3E%27#frag"},
		{name: "raw UTF-8 in fragment", location: "/x#café", want: "http://a.example/x#caf%C3%A9"},
		{name: "existing escapes kept", location: "/a%2Fb?x=%26", want: "http://a.example/a%2Fb?x=%26#frag"},
		{name: "IDN host to A-labels", location: "http://bücher.example/x", want: "http://xn--bcher-kva.example/x#frag"},
		{name: "IDN host with port", location: "//bücher.example:8080/x", want: "http://xn--bcher-kva.example:8080/x#frag"},
		{name: "host lower-cased", location: "HTTP://Upper.Example/X", want: "http://upper.example/X#frag"},
		{name: "surrounding spaces trimmed", location: "  /x  ", want: "http://a.example/x#frag"},
		{name: "tabs and newlines removed", location: "/a\tb\nc", want: "http://a.example/abc#frag"},
		{name: "IPv6 literal", location: "http://[::1]:8080/x", want: "http://[::1]:8080/x#frag"},
		{name: "other schemes resolve (Follow refuses them)", location: "ftp://files.example/x", want: "ftp://files.example/x#frag"},
	}
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := follow.Resolve(b, tt.location)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.location, err)
			}
			if got := u.String(); got != tt.want {
				t.Errorf("Resolve(%q) = %s, want %s", tt.location, got, tt.want)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	b, _ := url.Parse("http://a.example/b")
	tests := []struct {
		name     string
		location string
	}{
		{name: "unclosed IPv6 literal", location: "http://[::1/x"},
		{name: "bad escape", location: "/a%zz"},
		{name: "port out of range", location: "http://a.example:99999/"},
		{name: "port not a number", location: "http://a.example:8x/"},
		{name: "http URL without host", location: "http:/x"},
		{name: "empty", location: "   "},
		{name: "invalid IDN", location: "http://xn--a-ecp.ruhr\u00ad.example/"},
		{name: "authority of colons", location: "//::"}, // url.Parse takes it here, not in the absolute URL
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := follow.Resolve(b, tt.location)
			if !errors.Is(err, follow.ErrBadLocation) {
				t.Fatalf("Resolve(%q) = %v, %v; want ErrBadLocation", tt.location, u, err)
			}
		})
	}
}

// TestLocationsOnTheWire: each form of Location, sent by a real server,
// takes the client where Resolve says, with the request target encoded as a
// browser's would be.
func TestLocationsOnTheWire(t *testing.T) {
	tests := []struct {
		name     string
		start    string
		location string
		wantURI  string // the target the server gets
		wantURL  string // the last hop's URL, after the server's base
	}{
		{name: "relative", start: "/dir/sub/start", location: "next", wantURI: "/dir/sub/next", wantURL: "/dir/sub/next"},
		{name: "dot-dot", start: "/dir/sub/start", location: "../x", wantURI: "/dir/x", wantURL: "/dir/x"},
		{name: "query only", start: "/dir/start?a=1", location: "?b=2", wantURI: "/dir/start?b=2", wantURL: "/dir/start?b=2"},
		{name: "fragment inherited", start: "/start#section", location: "/next", wantURI: "/next", wantURL: "/next#section"},
		{name: "own fragment", start: "/start#section", location: "/next#other", wantURI: "/next", wantURL: "/next#other"},
		{name: "raw UTF-8", start: "/start", location: "/café?q=thé", wantURI: "/caf%C3%A9?q=th%C3%A9", wantURL: "/caf%C3%A9?q=th%C3%A9"},
		{name: "spaces", start: "/start", location: "/a b?c d", wantURI: "/a%20b?c%20d", wantURL: "/a%20b?c%20d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newHopServer(t, "", nil)
			start, _, _ := strings.Cut(tt.start, "?")
			start, _, _ = strings.Cut(start, "#")
			srv.route(start, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.RawQuery == "" || strings.Contains(tt.start, r.URL.RawQuery) {
					w.Header()["Location"] = []string{tt.location}
					w.WriteHeader(302)
					return
				}
				w.Write([]byte("ok"))
			})
			res, _ := mustFollow(t, newClient(t), mustRequest(t, "GET", srv.URL+tt.start, nil))
			got := srv.requests()
			if len(got) != 2 || got[1].URI != tt.wantURI {
				t.Fatalf("server got %v, want the second at %s", paths(got), tt.wantURI)
			}
			if last := res.Hops[len(res.Hops)-1].URL; last != srv.URL+tt.wantURL {
				t.Errorf("last hop URL = %s, want %s", last, srv.URL+tt.wantURL)
			}
			if res.Hops[0].Location != tt.location {
				t.Errorf("hop Location = %q, want %q as received", res.Hops[0].Location, tt.location)
			}
		})
	}

	t.Run("network-path reference to another origin", func(t *testing.T) {
		other := newHopServer(t, "", nil)
		srv := newHopServer(t, "", nil)
		srv.route("/start", redirect(307, "//"+other.Listener.Addr().String()+"/there"))
		mustFollow(t, newClient(t), mustRequest(t, "GET", srv.URL+"/start", nil))
		if got := other.requests(); len(got) != 1 || got[0].URI != "/there" {
			t.Errorf("other origin got %v", paths(got))
		}
	})
}

// TestBadLocations: what cannot be followed is a clear error naming the hop,
// and nothing more is sent.
func TestBadLocations(t *testing.T) {
	tests := []struct {
		name    string
		header  []string
		wantErr error
		wantMsg string
	}{
		{name: "differing Location headers", header: []string{"/a", "/b"}, wantErr: follow.ErrBadLocation, wantMsg: `differing Location headers ["/a" "/b"]`},
		{name: "unparsable Location", header: []string{"http://[::1/x"}, wantErr: follow.ErrBadLocation, wantMsg: `"http://[::1/x"`},
		{name: "bad percent escape", header: []string{"/a%zz"}, wantErr: follow.ErrBadLocation, wantMsg: `invalid URL escape`},
		{name: "ftp scheme", header: []string{"ftp://files.example/x"}, wantErr: follow.ErrUnsupportedScheme, wantMsg: `"ftp"`},
		{name: "javascript scheme", header: []string{"javascript:alert(1)"}, wantErr: follow.ErrUnsupportedScheme, wantMsg: `"javascript"`},
		{name: "data scheme", header: []string{"data:text/plain,hi"}, wantErr: follow.ErrUnsupportedScheme, wantMsg: `"data"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newHopServer(t, "", nil)
			srv.route("/start", func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Location"] = tt.header
				w.WriteHeader(302)
			})
			res, err := newClient(t).Follow(mustRequest(t, "GET", srv.URL+"/start", nil))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Follow = %v, %v; want %v", res, err, tt.wantErr)
			}
			msg := err.Error()
			wantHop := "hop 1 (302 GET " + srv.URL + "/start)"
			if !strings.Contains(msg, wantHop) || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("error %q does not say %q and %q", msg, wantHop, tt.wantMsg)
			}
			var fe *follow.Error
			if !errors.As(err, &fe) || len(fe.Hops) != 1 || fe.Hops[0].Status != 302 {
				t.Errorf("error's hops = %+v", fe)
			}
			if got := srv.requests(); len(got) != 1 {
				t.Errorf("server got %v, want only the first request", paths(got))
			}
		})
	}
}

// FuzzResolve: Resolve never panics, and what it returns is ASCII with no
// space or control character, and parses back to itself.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		"next", "../x", "//host/x", "?q", "#f", "/café?q=é t#à", "http://bücher.example/",
		"http://[::1]:80/", "/a%2Fb", "  /x\t", "http://a:99999/", "/a%zz", "\\\\evil.example",
		"https://user:pa ss@host/x", "mailto:x@y",
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://a.example/b/c?q#frag")
	f.Fuzz(func(t *testing.T, loc string) {
		u, err := follow.Resolve(base, loc)
		if err != nil {
			if !errors.Is(err, follow.ErrBadLocation) {
				t.Fatalf("Resolve(%q) error %v is not ErrBadLocation", loc, err)
			}
			return
		}
		s := u.String()
		for i := 0; i < len(s); i++ {
			if s[i] <= ' ' || s[i] >= 0x7f {
				t.Fatalf("Resolve(%q) = %q: byte %#x", loc, s, s[i])
			}
		}
		if _, err := url.Parse(s); err != nil {
			t.Fatalf("Resolve(%q) = %q does not parse: %v", loc, s, err)
		}
	})
}
