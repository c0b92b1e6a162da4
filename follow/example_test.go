package follow_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/detourhttp/detour/follow"
)

// The seed's exchange: a POST whose body is a stream (no GetBody, so Go's
// own client would stop at the 307) is sent again, same method, same bytes.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/original-resource" {
			http.Redirect(w, r, "/temporary-resource", http.StatusTemporaryRedirect)
			return
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, body)
	}))
	defer srv.Close()

	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, "data=example")
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/original-resource", pr)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")

	c := &follow.Client{HTTP: srv.Client()}
	res, err := c.Follow(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Response.Body.Close()
	for _, h := range res.Hops {
		fmt.Println(h.Status, h.Method, strings.TrimPrefix(h.URL, srv.URL), "replayed:", h.BodyReplayed)
	}
	body, _ := io.ReadAll(res.Response.Body)
	fmt.Println(string(body))
	// Output:
	// 307 POST /original-resource replayed: false
	// 200 POST /temporary-resource replayed: true
	// POST /temporary-resource data=example
}

// A Client wraps the http.Client a program already has; Do is a drop-in
// for http.Client.Do.
func ExampleClient_Do() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/form":
			http.Redirect(w, r, "/thanks", http.StatusSeeOther)
		default:
			fmt.Fprintf(w, "%s %s Content-Type=%q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
	}))
	defer srv.Close()

	c := &follow.Client{HTTP: srv.Client(), MaxRedirects: 5}
	req, _ := http.NewRequest("POST", srv.URL+"/form", strings.NewReader("name=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output:
	// GET /thanks Content-Type=""
}
