package server

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
)

// echoLimit caps the request body the echo reads and shows.
const echoLimit = 1 << 20

// echo answers 200 (400 when the body cannot be read) with the request as it arrived — request line, headers
// in name order, a blank line, the body — so that a client following a
// redirect can see which method and body reached the target.
func echo(w http.ResponseWriter, r *http.Request) (status int) {
	body, err := io.ReadAll(io.LimitReader(r.Body, echoLimit+1))
	if err != nil {
		writeText(w, r, http.StatusBadRequest, "400 Bad Request: cannot read the request body\n")
		return http.StatusBadRequest
	}
	truncated := len(body) > echoLimit
	if truncated {
		body = body[:echoLimit]
	}

	var b bytes.Buffer
	b.WriteString(r.Method)
	b.WriteByte(' ')
	b.WriteString(r.RequestURI)
	b.WriteByte(' ')
	b.WriteString(r.Proto)
	b.WriteString("\nHost: ")
	b.WriteString(r.Host)
	b.WriteByte('\n')
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range r.Header[name] {
			b.WriteString(name)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	b.WriteByte('\n')
	b.Write(body)
	if truncated {
		b.WriteString("\n[body cut at 1 MiB]\n")
	}

	hdr := w.Header()
	hdr["Content-Type"] = []string{"text/plain; charset=utf-8"}
	hdr["Content-Length"] = []string{strconv.Itoa(b.Len())}
	hdr["Cache-Control"] = []string{"no-store"}
	hdr["X-Content-Type-Options"] = []string{"nosniff"}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b.Bytes())
	}
	return http.StatusOK
}
