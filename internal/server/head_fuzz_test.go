package server

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"net/textproto"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// FuzzParseHead holds the lean path's parser to net/http's: whatever
// parseHead takes as a whole request, net/http reads from the same bytes
// as the same request — method, target, Host, no body, not closing, and
// no byte more or less — and accepts as its server does (a valid Host,
// valid header fields); whatever parseHead waits on, net/http cannot read
// a request from yet.
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"HEAD /x?y=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\n\r\n",
		"GET /a%20b HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nForwarded: proto=https\r\nX-Forwarded-Proto: https\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n",
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var hd leanHead
		switch parseHead(b, &hd) {
		case headDone:
			br := bufio.NewReader(bytes.NewReader(b[:hd.n]))
			req, err := http.ReadRequest(br)
			if err != nil {
				t.Fatalf("parseHead took %q; net/http: %v", b[:hd.n], err)
			}
			if br.Buffered() != 0 {
				t.Errorf("parseHead took %d bytes; net/http left %d of them", hd.n, br.Buffered())
			}
			wantMethod := http.MethodGet
			if hd.head {
				wantMethod = http.MethodHead
			}
			switch {
			case req.Method != wantMethod:
				t.Errorf("method %q, net/http %q", wantMethod, req.Method)
			case req.RequestURI != hd.target:
				t.Errorf("target %q, net/http %q", hd.target, req.RequestURI)
			case req.Host != hd.host:
				t.Errorf("host %q, net/http %q", hd.host, req.Host)
			case req.ContentLength != 0 || len(req.TransferEncoding) > 0 || req.Close:
				t.Errorf("net/http sees a body or a close: length %d, %v, close %v", req.ContentLength, req.TransferEncoding, req.Close)
			case req.ProtoMajor != 1 || req.ProtoMinor != 1:
				t.Errorf("net/http reads HTTP/%d.%d", req.ProtoMajor, req.ProtoMinor)
			}
			// What net/http's server checks beyond ReadRequest (which
			// takes Host out of the header).
			tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(b[:hd.n])))
			tp.ReadLine()
			mime, _ := tp.ReadMIMEHeader()
			if len(mime["Host"]) != 1 || !httpguts.ValidHostHeader(req.Host) {
				t.Errorf("net/http's server refuses the Host of %q", b[:hd.n])
			}
			for k, vs := range req.Header {
				for _, v := range vs {
					if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
						t.Errorf("net/http's server refuses the field %q: %q", k, v)
					}
				}
			}
			if last := func(k string) string {
				if vs := req.Header[k]; len(vs) > 0 {
					return vs[len(vs)-1]
				}
				return ""
			}; last("Forwarded") != hd.forwarded || last("X-Forwarded-Proto") != hd.xfp {
				t.Errorf("Forwarded %q, X-Forwarded-Proto %q; net/http %q, %q",
					hd.forwarded, hd.xfp, last("Forwarded"), last("X-Forwarded-Proto"))
			}
		case headMore:
			// On a connection net/http would wait too: given these
			// bytes, it asks for more before it decides anything.
			if err := readStalled(b); !errors.Is(err, errStalled) {
				t.Errorf("parseHead waits on %q; net/http: %v (want it to ask for more)", b, err)
			}
		}
	})
}

// readStalled runs http.ReadRequest on b as a connection whose peer has
// sent b and nothing more yet would present it: errStalled when net/http
// asks for more, else what ReadRequest returned. (A reader cannot block
// here, and an error would not do: bufio hands back a last line without
// its newline before the error. So the reader panics, and readStalled
// recovers.)
func readStalled(b []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if p != errStalled {
				panic(p)
			}
			err = errStalled
		}
	}()
	_, err = http.ReadRequest(bufio.NewReader(&stalling{b: b}))
	if err == nil {
		err = errors.New("a whole request")
	}
	return err
}

// stalling reads b, then panics with errStalled.
type stalling struct{ b []byte }

var errStalled = errors.New("no more bytes yet")

func (s *stalling) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		panic(errStalled)
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}
