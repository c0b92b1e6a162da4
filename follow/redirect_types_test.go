package follow_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestRedirectMethods re-expresses Go's TestClientRedirectTypes
// (net/http/client_test.go) and the web-platform-tests
// fetch/api/redirect/redirect-method cases as expectations of follow:
// which method the next request has, and whether the body and the body
// headers go with it.
//
// As in WPT, every request carries Content-Encoding, Content-Language and
// Content-Location, and every method but GET and HEAD a body with a
// Content-Type. Where follow deliberately differs from Go's client, the
// case's name says so:
//   - Go keeps the body headers when it switches to GET (golang/go#57273);
//     follow drops them with the body, as WHATWG Fetch does.
//   - Go turns every method but GET and HEAD into GET on 301 and 302;
//     follow, as Fetch, only turns POST into GET.
func TestRedirectMethods(t *testing.T) {
	tests := []struct {
		name                      string
		method                    string
		status                    int
		post301, post302, post303 bool
		wantMethod                string
		wantBody                  bool // body and body headers arrive
	}{
		// Go #0-4, WPT "Redirect 30x with POST".
		{name: "POST 301 becomes GET, body headers dropped (Go keeps them, golang/go#57273)", method: "POST", status: 301, wantMethod: "GET"},
		{name: "POST 302 becomes GET, body headers dropped (Go keeps them, golang/go#57273)", method: "POST", status: 302, wantMethod: "GET"},
		{name: "POST 303 becomes GET, body headers dropped (Go keeps them, golang/go#57273)", method: "POST", status: 303, wantMethod: "GET"},
		{name: "POST 307 keeps POST and body (WPT string body)", method: "POST", status: 307, wantMethod: "POST", wantBody: true},
		{name: "POST 308 keeps POST and body", method: "POST", status: 308, wantMethod: "POST", wantBody: true},

		// Go #5-9, WPT "Redirect 30x with HEAD".
		{name: "HEAD 301 stays HEAD", method: "HEAD", status: 301, wantMethod: "HEAD", wantBody: true},
		{name: "HEAD 302 stays HEAD", method: "HEAD", status: 302, wantMethod: "HEAD", wantBody: true},
		{name: "HEAD 303 stays HEAD", method: "HEAD", status: 303, wantMethod: "HEAD", wantBody: true},
		{name: "HEAD 307 stays HEAD", method: "HEAD", status: 307, wantMethod: "HEAD", wantBody: true},
		{name: "HEAD 308 stays HEAD", method: "HEAD", status: 308, wantMethod: "HEAD", wantBody: true},

		// Go #10-14, WPT "Redirect 30x with GET": the body headers stay.
		{name: "GET 301 stays GET with its headers", method: "GET", status: 301, wantMethod: "GET", wantBody: true},
		{name: "GET 302 stays GET with its headers", method: "GET", status: 302, wantMethod: "GET", wantBody: true},
		{name: "GET 303 stays GET with its headers", method: "GET", status: 303, wantMethod: "GET", wantBody: true},
		{name: "GET 307 stays GET with its headers", method: "GET", status: 307, wantMethod: "GET", wantBody: true},
		{name: "GET 308 stays GET with its headers", method: "GET", status: 308, wantMethod: "GET", wantBody: true},

		// Go #15-19.
		{name: "DELETE 301 keeps DELETE and body (Go turns it into GET; Fetch keeps it)", method: "DELETE", status: 301, wantMethod: "DELETE", wantBody: true},
		{name: "DELETE 302 keeps DELETE and body (Go turns it into GET; Fetch keeps it)", method: "DELETE", status: 302, wantMethod: "DELETE", wantBody: true},
		{name: "DELETE 303 becomes GET", method: "DELETE", status: 303, wantMethod: "GET"},
		{name: "DELETE 307 keeps DELETE", method: "DELETE", status: 307, wantMethod: "DELETE", wantBody: true},
		{name: "DELETE 308 keeps DELETE", method: "DELETE", status: 308, wantMethod: "DELETE", wantBody: true},

		// Go #20-24.
		{name: "PUT 301 keeps PUT and body (Go turns it into GET; Fetch keeps it)", method: "PUT", status: 301, wantMethod: "PUT", wantBody: true},
		{name: "PUT 302 keeps PUT and body (Go turns it into GET; Fetch keeps it)", method: "PUT", status: 302, wantMethod: "PUT", wantBody: true},
		{name: "PUT 303 becomes GET", method: "PUT", status: 303, wantMethod: "GET"},
		{name: "PUT 307 keeps PUT", method: "PUT", status: 307, wantMethod: "PUT", wantBody: true},
		{name: "PUT 308 keeps PUT", method: "PUT", status: 308, wantMethod: "PUT", wantBody: true},

		// Go #25-29.
		{name: "MADEUPMETHOD 301 kept (Go turns it into GET; Fetch keeps it)", method: "MADEUPMETHOD", status: 301, wantMethod: "MADEUPMETHOD", wantBody: true},
		{name: "MADEUPMETHOD 302 kept (Go turns it into GET; Fetch keeps it)", method: "MADEUPMETHOD", status: 302, wantMethod: "MADEUPMETHOD", wantBody: true},
		{name: "MADEUPMETHOD 303 becomes GET", method: "MADEUPMETHOD", status: 303, wantMethod: "GET"},
		{name: "MADEUPMETHOD 307 kept", method: "MADEUPMETHOD", status: 307, wantMethod: "MADEUPMETHOD", wantBody: true},
		{name: "MADEUPMETHOD 308 kept", method: "MADEUPMETHOD", status: 308, wantMethod: "MADEUPMETHOD", wantBody: true},

		// Neither Go's table nor WPT's, same rule.
		{name: "PATCH 301 keeps PATCH and body", method: "PATCH", status: 301, wantMethod: "PATCH", wantBody: true},
		{name: "PATCH 302 keeps PATCH and body", method: "PATCH", status: 302, wantMethod: "PATCH", wantBody: true},
		{name: "PATCH 303 becomes GET", method: "PATCH", status: 303, wantMethod: "GET"},

		// WPT "Redirect 303 with TESTING".
		{name: "TESTING 303 becomes GET, body headers dropped (WPT)", method: "TESTING", status: 303, wantMethod: "GET"},

		// curl's --post301, --post302, --post303.
		{name: "POST 301 with Post301 keeps POST", method: "POST", status: 301, post301: true, wantMethod: "POST", wantBody: true},
		{name: "POST 302 with Post302 keeps POST", method: "POST", status: 302, post302: true, wantMethod: "POST", wantBody: true},
		{name: "POST 303 with Post303 keeps POST", method: "POST", status: 303, post303: true, wantMethod: "POST", wantBody: true},
		{name: "POST 302 with Post301 only becomes GET", method: "POST", status: 302, post301: true, wantMethod: "GET"},
		{name: "PUT 303 with Post303 becomes GET (it keeps POST only)", method: "PUT", status: 303, post303: true, wantMethod: "GET"},
	}

	const body = "this is my body"
	bodyHeaders := map[string]string{
		"Content-Encoding": "Identity",
		"Content-Language": "en-US",
		"Content-Location": "foo",
	}
	srv := newHopServer(t, "", map[string]http.HandlerFunc{})
	c := newClient(t)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.mu.Lock()
			srv.routes["/redirect"] = redirect(tt.status, "method")
			srv.mu.Unlock()
			c := *c
			c.Post301, c.Post302, c.Post303 = tt.post301, tt.post302, tt.post303

			hasBody := tt.method != "GET" && tt.method != "HEAD"
			var req *http.Request
			if hasBody {
				req = mustRequest(t, tt.method, srv.URL+"/redirect", strings.NewReader(body))
				req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
			} else {
				req = mustRequest(t, tt.method, srv.URL+"/redirect", nil)
			}
			for k, v := range bodyHeaders {
				req.Header.Set(k, v)
			}
			res, _ := mustFollow(t, &c, req)

			got := srv.requests()
			if len(got) != 2 {
				t.Fatalf("server got %d requests, want 2: %v", len(got), paths(got))
			}
			next := got[1]
			if next.Method != tt.wantMethod {
				t.Errorf("next method = %s, want %s", next.Method, tt.wantMethod)
			}
			if next.URI != "/method" {
				t.Errorf("next target = %s, want /method", next.URI)
			}

			wantBody, wantLen, wantType := "", int64(0), ""
			if tt.wantBody && hasBody {
				wantBody, wantLen, wantType = body, int64(len(body)), "text/plain;charset=UTF-8"
			}
			if next.Body != wantBody {
				t.Errorf("next body = %q, want %q", next.Body, wantBody)
			}
			if next.Len != wantLen {
				t.Errorf("next Content-Length = %d, want %d", next.Len, wantLen)
			}
			if got := next.Header.Get("Content-Type"); got != wantType {
				t.Errorf("next Content-Type = %q, want %q", got, wantType)
			}
			for k, v := range bodyHeaders {
				want := ""
				if tt.wantBody {
					want = v
				}
				if got := next.Header.Get(k); got != want {
					t.Errorf("next %s = %q, want %q", k, got, want)
				}
			}

			// The record says what happened.
			if len(res.Hops) != 2 {
				t.Fatalf("hops = %d, want 2", len(res.Hops))
			}
			if got, want := res.Hops[1].BodyReplayed, tt.wantBody && hasBody; got != want {
				t.Errorf("hop 2 BodyReplayed = %v, want %v", got, want)
			}
			var wantChanges []string
			if tt.wantMethod != tt.method {
				wantChanges = append(wantChanges, "method "+tt.method+"→"+tt.wantMethod)
				if hasBody {
					wantChanges = append(wantChanges, "body dropped", "Content-Type dropped")
				}
				wantChanges = append(wantChanges, "Content-Encoding dropped", "Content-Language dropped", "Content-Location dropped")
			}
			if !slices.Equal(res.Hops[0].Changes, wantChanges) {
				t.Errorf("hop 1 changes = %q, want %q", res.Hops[0].Changes, wantChanges)
			}
		})
	}
}

// TestFinalStatuses: only 301, 302, 303, 307 and 308 are followed; the
// other 3xx, and a followed status without Location, are final responses.
func TestFinalStatuses(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantHops int
		wantCode int
	}{
		{name: "300 Multiple Choices is final", handler: redirect(300, "/elsewhere"), wantHops: 1, wantCode: 300},
		{name: "304 Not Modified is final", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(304)
		}, wantHops: 1, wantCode: 304},
		{name: "305 Use Proxy is final", handler: redirect(305, "/elsewhere"), wantHops: 1, wantCode: 305},
		{name: "306 (unused) is final", handler: redirect(306, "/elsewhere"), wantHops: 1, wantCode: 306},
		{name: "307 without Location is final", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(307)
		}, wantHops: 1, wantCode: 307},
		{name: "302 with an empty Location is final", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Location"] = []string{""}
			w.WriteHeader(302)
		}, wantHops: 1, wantCode: 302},
		{name: "307 with two identical Locations is followed", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Location"] = []string{"/elsewhere", "/elsewhere"}
			w.WriteHeader(307)
		}, wantHops: 2, wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newHopServer(t, "", map[string]http.HandlerFunc{"/start": tt.handler})
			res, _ := mustFollow(t, newClient(t), mustRequest(t, "GET", srv.URL+"/start", nil))
			if got := res.Response.StatusCode; got != tt.wantCode {
				t.Errorf("final status = %d, want %d", got, tt.wantCode)
			}
			if got := len(res.Hops); got != tt.wantHops {
				t.Errorf("hops = %d, want %d", got, tt.wantHops)
			}
			if got := len(srv.requests()); got != tt.wantHops {
				t.Errorf("server got %d requests, want %d", got, tt.wantHops)
			}
		})
	}
}

// TestMethodChangeWithoutBody: when the method changes, the body headers go
// even when the request had no body (a `-X POST -H 'Content-Type: …'`
// with nothing to send): WHATWG Fetch drops them whatever the body.
func TestMethodChangeWithoutBody(t *testing.T) {
	srv := newHopServer(t, "", map[string]http.HandlerFunc{"/redirect": redirect(302, "method")})
	req := mustRequest(t, "POST", srv.URL+"/redirect", nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Content-Language", "en")
	res, _ := mustFollow(t, newClient(t), req)
	got := srv.requests()
	if len(got) != 2 {
		t.Fatalf("server got %d requests, want 2", len(got))
	}
	if got[1].Method != "GET" {
		t.Errorf("next method = %s, want GET", got[1].Method)
	}
	for _, h := range []string{"Content-Type", "Content-Language"} {
		if v := got[1].Header.Get(h); v != "" {
			t.Errorf("next %s = %q, want it dropped", h, v)
		}
	}
	want := []string{"method POST→GET", "Content-Type dropped", "Content-Language dropped"}
	if !slices.Equal(res.Hops[0].Changes, want) {
		t.Errorf("hop 1 changes = %q, want %q", res.Hops[0].Changes, want)
	}
}
