package server_test

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/detourhttp/detour/internal/server"
)

// Timing of a strict exchange. A case ends when the server closes or has
// been quiet this long after the last byte either side sent; an exchange
// whose two results differ is run again with the longer wait, so that a
// busy machine cannot pass for a difference.
const (
	strictQuiet      = 400 * time.Millisecond
	strictQuietRetry = 1500 * time.Millisecond
	strictPause      = 2 * time.Millisecond // between the writes of a split request
	strictWorkers    = 16
)

// strictCase is one raw exchange of the corpus: the bytes a client sends,
// in the writes it sends them in.
type strictCase struct {
	name   string
	writes []string
}

// strictResult is what a client saw of one exchange.
type strictResult struct {
	out    string // every byte read, Date lines normalised
	closed bool   // the server closed the connection (FIN or RST)
	reset  bool   // it closed with RST
}

// strictHost is the Host field of the corpus's well-formed requests.
const strictHost = "Host: detour.test"

// strictReq returns a request head: line, the fields, CRLF line endings,
// and the empty line.
func strictReq(line string, fields ...string) string {
	var b strings.Builder
	b.WriteString(line)
	b.WriteString("\r\n")
	for _, f := range fields {
		b.WriteString(f)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// strictGet returns a GET of target with strictHost and fields.
func strictGet(target string, fields ...string) string {
	return strictReq("GET "+target+" HTTP/1.1", append([]string{strictHost}, fields...)...)
}

// strictPadded returns a GET of /original-resource whose head is n bytes
// long, padded with X-Pad fields of up to 4000 bytes each.
func strictPadded(n int) string {
	head := strictGet("/original-resource")
	fields := []string{strictHost}
	for pad := n - len(head); pad > 0; {
		size := min(pad, 4000)
		if size < len("X-Pad-00: x\r\n") {
			size = len("X-Pad-00: x\r\n")
		}
		name := "X-Pad-" + strconv.Itoa(10+len(fields)%90) + ": "
		fields = append(fields, name+strings.Repeat("p", size-len(name)-2))
		pad -= size
	}
	return strictReq("GET /original-resource HTTP/1.1", fields...)
}

// strictBytes splits s into writes of one byte each.
func strictBytes(s string) []string {
	w := make([]string, len(s))
	for i := range s {
		w[i] = s[i : i+1]
	}
	return w
}

// strictCorpus returns the malformed, hostile and plainly valid requests
// the lean path must treat as net/http does.
func strictCorpus() []strictCase {
	one := func(name string, writes ...string) strictCase { return strictCase{name, writes} }
	manyFields := make([]string, 0, 101)
	manyFields = append(manyFields, strictHost)
	for i := range 100 {
		manyFields = append(manyFields, "X-Field-"+strconv.Itoa(i)+": value "+strconv.Itoa(i))
	}
	body := "name=value&x=1"
	post := func(target string, fields ...string) string {
		return strictReq("POST "+target+" HTTP/1.1", append([]string{strictHost,
			"Content-Length: " + strconv.Itoa(len(body))}, fields...)...) + body
	}
	byteByByte := strictGet("/original-resource?x=1")
	whole := strictGet("/original-resource")
	return []strictCase{
		// Plainly valid requests to each rule, the echo and a 404.
		one("valid original-resource", strictGet("/original-resource")),
		one("valid moved 308", strictGet("/moved")),
		one("valid old 301 max-age", strictGet("/old")),
		one("valid gone 410", strictGet("/gone")),
		one("valid search query dropped", strictGet("/search?q=1&r=2")),
		one("valid splat", strictGet("/s/a/b/c")),
		one("valid absolute rule on its host", strictReq("GET /abs HTTP/1.1", "Host: example.com")),
		one("valid absolute rule on another host", strictGet("/abs")),
		one("valid plain-only", strictGet("/plain-only")),
		one("valid not found", strictGet("/nowhere")),
		one("valid query preserved", strictGet("/original-resource?a=1&b=two")),
		one("valid percent escapes", strictGet("/s/%41%2fb%20c")),
		one("valid escaped rule path", strictGet("/original%2Dresource")),
		one("valid dot segments", strictGet("/a/../original-resource")),
		one("valid double slash", strictGet("//original-resource")),
		one("valid mixed-case host with port", strictReq("GET /original-resource HTTP/1.1", "Host: DeTour.TEST:8080")),
		one("valid trailing-dot host", strictReq("GET /original-resource HTTP/1.1", "Host: detour.test.")),
		one("valid IPv6 host", strictReq("GET /original-resource HTTP/1.1", "Host: [::1]:80")),
		one("valid host with tabs", strictReq("GET /original-resource HTTP/1.1", "Host:\tdetour.test\t")),
		one("valid host without space", strictReq("GET /original-resource HTTP/1.1", "Host:detour.test")),
		one("valid lowercase host name", strictReq("GET /original-resource HTTP/1.1", "host: detour.test")),
		one("valid echo GET", strictGet("/temporary-resource?x=1", "Accept: */*")),
		one("valid forwarded untrusted", strictGet("/plain-only", "Forwarded: proto=https", "X-Forwarded-Proto: https")),
		one("valid connection keep-alive", strictGet("/original-resource", "Connection: keep-alive")),
		one("valid high bytes in value", strictGet("/original-resource", "X-Name: caf\xc3\xa9")),
		one("valid many fields", strictReq("GET /original-resource HTTP/1.1", manyFields...)),
		one("valid long target", strictGet("/"+strings.Repeat("a", 10000))),
		one("valid colon in value", strictGet("/original-resource", "X-A:: b")),
		one("valid empty value", strictGet("/original-resource", "X-A:")),
		one("valid underscore name", strictGet("/original-resource", "Content_Length: 5")),
		one("HEAD original-resource", strictReq("HEAD /original-resource HTTP/1.1", strictHost)),
		one("HEAD gone", strictReq("HEAD /gone HTTP/1.1", strictHost)),
		one("HEAD not found", strictReq("HEAD /nowhere HTTP/1.1", strictHost)),
		one("HEAD echo", strictReq("HEAD /temporary-resource HTTP/1.1", strictHost)),
		one("HEAD with content-length", strictReq("HEAD /original-resource HTTP/1.1", strictHost, "Content-Length: 0")),

		// Request lines.
		one("lowercase method", strictReq("get /original-resource HTTP/1.1", strictHost)),
		one("unknown method", strictReq("FOO /original-resource HTTP/1.1", strictHost)),
		one("non-token method", strictReq("G(T /original-resource HTTP/1.1", strictHost)),
		one("two spaces after method", strictReq("GET  /original-resource HTTP/1.1", strictHost)),
		one("two spaces before version", strictReq("GET /original-resource  HTTP/1.1", strictHost)),
		one("trailing space after version", strictReq("GET /original-resource HTTP/1.1 ", strictHost)),
		one("missing version", strictReq("GET /original-resource", strictHost)),
		one("missing target", strictReq("GET HTTP/1.1", strictHost)),
		one("empty request line", "\r\n"+strictGet("/original-resource")),
		one("HTTP/1.0", strictReq("GET /original-resource HTTP/1.0", strictHost)),
		one("HTTP/1.0 no host", strictReq("GET /original-resource HTTP/1.0")),
		one("HTTP/1.0 keep-alive", strictReq("GET /original-resource HTTP/1.0", strictHost, "Connection: keep-alive")),
		one("HTTP/0.9", strictReq("GET /original-resource HTTP/0.9", strictHost)),
		one("HTTP/0.9 simple request", "GET /original-resource\r\n"),
		one("HTTP/2.0", strictReq("GET /original-resource HTTP/2.0", strictHost)),
		one("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
		one("HTTP/1.1x", strictReq("GET /original-resource HTTP/1.1x", strictHost)),
		one("HTTP/1.2", strictReq("GET /original-resource HTTP/1.2", strictHost)),
		one("lowercase version", strictReq("GET /original-resource http/1.1", strictHost)),
		one("tabs for spaces", strictReq("GET\t/original-resource\tHTTP/1.1", strictHost)),
		one("absolute-form", strictReq("GET http://detour.test/original-resource HTTP/1.1", strictHost)),
		one("absolute-form host disagrees", strictReq("GET http://other.test/original-resource HTTP/1.1", strictHost)),
		one("absolute-form no path", strictReq("GET http://detour.test HTTP/1.1", strictHost)),
		one("authority-form GET", strictReq("GET detour.test:80 HTTP/1.1", strictHost)),
		one("authority-form CONNECT", strictReq("CONNECT detour.test:80 HTTP/1.1", strictHost)),
		one("asterisk GET", strictReq("GET * HTTP/1.1", strictHost)),
		one("asterisk OPTIONS", strictReq("OPTIONS * HTTP/1.1", strictHost)),
		one("space in target", strictReq("GET /original resource HTTP/1.1", strictHost)),
		one("control in target", strictGet("/original\x01resource")),
		one("DEL in target", strictGet("/original\x7fresource")),
		one("NUL in target", strictGet("/original\x00resource")),
		one("non-ASCII in path", strictGet("/caf\xc3\xa9")),
		one("non-ASCII in query", strictGet("/original-resource?q=caf\xc3\xa9")),
		one("hash in path", strictGet("/original-resource#frag")),
		one("hash in query", strictGet("/original-resource?a=1#frag")),
		one("bad escape in path", strictGet("/original%zzresource")),
		one("bad escape in query", strictGet("/original-resource?a=%zz")),
		one("truncated escape in path", strictGet("/original-resource%4")),
		one("escape at end of path", strictGet("/original-resource%")),
		one("encoded NUL in path", strictGet("/original%00resource")),
		one("target over 64 KiB", strictGet("/"+strings.Repeat("a", 70<<10))),

		// Header fields.
		one("space before colon in Host", strictReq("GET /original-resource HTTP/1.1", "Host : detour.test")),
		one("space before colon", strictGet("/original-resource", "X-A : b")),
		one("empty name", strictGet("/original-resource", ": b")),
		one("non-token name", strictGet("/original-resource", "X(A): b")),
		one("NUL in name", strictGet("/original-resource", "X\x00A: b")),
		one("non-ASCII name", strictGet("/original-resource", "X-\xc3\xa9: b")),
		one("no colon", strictGet("/original-resource", "X-A b")),
		one("leading white space first line", strictReq("GET /original-resource HTTP/1.1", " X-A: b", strictHost)),
		one("leading white space Host", strictReq("GET /original-resource HTTP/1.1", " Host: detour.test")),
		one("obs-fold", strictGet("/original-resource", "X-A: b", " c")),
		one("obs-fold tab", strictGet("/original-resource", "X-A: b", "\tc")),
		one("obs-fold Host", strictReq("GET /original-resource HTTP/1.1", "Host: detour", " .test")),
		one("bare CR in value", strictGet("/original-resource", "X-A: b\rc")),
		one("bare CR line ending", "GET /original-resource HTTP/1.1\rHost: detour.test\r\n\r\n"),
		one("bare CR header ending", "GET /original-resource HTTP/1.1\r\nHost: detour.test\rX-A: b\r\n\r\n"),
		one("bare LF line endings", "GET /original-resource HTTP/1.1\nHost: detour.test\n\n"),
		one("bare LF one field", "GET /original-resource HTTP/1.1\r\nHost: detour.test\nX-A: b\r\n\r\n"),
		one("bare LF final line", "GET /original-resource HTTP/1.1\r\nHost: detour.test\r\n\n"),
		one("NUL in value", strictGet("/original-resource", "X-A: b\x00c")),
		one("DEL in value", strictGet("/original-resource", "X-A: b\x7fc")),
		one("vertical tab in value", strictGet("/original-resource", "X-A: b\vc")),
		one("missing Host", strictReq("GET /original-resource HTTP/1.1", "X-A: b")),
		one("duplicate Host same", strictReq("GET /original-resource HTTP/1.1", strictHost, strictHost)),
		one("duplicate Host different", strictReq("GET /original-resource HTTP/1.1", strictHost, "host: other.test")),
		one("Host with space", strictReq("GET /original-resource HTTP/1.1", "Host: a b")),
		one("Host unclosed bracket", strictReq("GET /original-resource HTTP/1.1", "Host: [::1")),
		one("Host userinfo", strictReq("GET /original-resource HTTP/1.1", "Host: user@detour.test")),
		one("Host empty", strictReq("GET /original-resource HTTP/1.1", "Host:")),
		one("Host port only", strictReq("GET /original-resource HTTP/1.1", "Host: :80")),
		one("Host non-ASCII", strictReq("GET /original-resource HTTP/1.1", "Host: d\xc3\xa9tour.test")),
		one("Host with path", strictReq("GET /original-resource HTTP/1.1", "Host: detour.test/x")),
		one("Host bad port", strictReq("GET /original-resource HTTP/1.1", "Host: detour.test:port")),

		// Bodies, lengths and transfer codings.
		one("GET content-length zero", strictGet("/original-resource", "Content-Length: 0")),
		one("GET content-length with body", strictGet("/original-resource", "Content-Length: 5")+"hello"),
		one("GET content-length conflicting", strictGet("/original-resource", "Content-Length: 3", "Content-Length: 4")+"abcd"),
		one("GET content-length duplicate", strictGet("/original-resource", "Content-Length: 0", "Content-Length: 0")),
		one("GET content-length list", strictGet("/original-resource", "Content-Length: 0, 0")),
		one("GET content-length negative", strictGet("/original-resource", "Content-Length: -1")),
		one("GET content-length plus", strictGet("/original-resource", "Content-Length: +0")),
		one("GET content-length hex", strictGet("/original-resource", "Content-Length: 0x0")),
		one("GET chunked", strictGet("/original-resource", "Transfer-Encoding: chunked")+"0\r\n\r\n"),
		one("POST echo", post("/temporary-resource", "Content-Type: application/x-www-form-urlencoded")),
		one("POST redirect", post("/original-resource")),
		one("POST chunked and content-length", strictReq("POST /temporary-resource HTTP/1.1", strictHost,
			"Transfer-Encoding: chunked", "Content-Length: 5")+"0\r\n\r\n"),
		one("POST chunked, identity", strictReq("POST /temporary-resource HTTP/1.1", strictHost,
			"Transfer-Encoding: chunked, identity")+"0\r\n\r\n"),
		one("POST transfer-encoding space before colon", strictReq("POST /temporary-resource HTTP/1.1", strictHost,
			"Transfer-Encoding : chunked")+"0\r\n\r\n"),
		one("POST xchunked", strictReq("POST /temporary-resource HTTP/1.1", strictHost,
			"Transfer-Encoding: xchunked")+"0\r\n\r\n"),
		one("POST identity", strictReq("POST /temporary-resource HTTP/1.1", strictHost,
			"Transfer-Encoding: identity")),
		one("POST chunked twice", strictReq("POST /temporary-resource HTTP/1.1", strictHost,
			"Transfer-Encoding: chunked", "Transfer-Encoding: chunked")+"0\r\n\r\n"),
		one("POST chunked uppercase", strictReq("POST /temporary-resource HTTP/1.1", strictHost,
			"Transfer-Encoding: CHUNKED")+"3\r\nabc\r\n0\r\n\r\n"),

		// Expect, Upgrade, Connection.
		one("GET expect 100-continue", strictGet("/original-resource", "Expect: 100-continue")),
		one("GET expect unknown", strictGet("/original-resource", "Expect: 200-ok")),
		one("POST expect 100-continue", post("/temporary-resource", "Expect: 100-continue")),
		one("upgrade h2c", strictGet("/original-resource", "Connection: Upgrade, HTTP2-Settings",
			"Upgrade: h2c", "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA")),
		one("upgrade websocket", strictGet("/temporary-resource", "Connection: Upgrade", "Upgrade: websocket",
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13")),
		one("upgrade without connection", strictGet("/original-resource", "Upgrade: websocket")),
		one("connection close", strictGet("/original-resource", "Connection: close")),
		one("connection Close mixed case", strictGet("/original-resource", "Connection: ClOsE")),
		one("connection Keep-Alive mixed case", strictGet("/original-resource", "Connection: Keep-Alive")),
		one("connection upgrade alone", strictGet("/original-resource", "Connection: upgrade")),
		one("connection keep-alive, close", strictGet("/original-resource", "Connection: keep-alive, close")),
		one("connection twice", strictGet("/original-resource", "Connection: keep-alive", "Connection: close")),

		// Head sizes: the lean buffer holds 16 KiB; net/http allows
		// MaxHeaderBytes (64 KiB) and 4 KiB of slack.
		one("head just under 16 KiB", strictPadded(16<<10-64)),
		one("head just over 16 KiB", strictPadded(16<<10+64)),
		one("head of 40 KiB", strictPadded(40<<10)),
		one("head just over 64 KiB", strictPadded(64<<10+64)),
		one("head over 64 KiB and slack", strictPadded(72<<10)),

		// Pipelined batches, in one write.
		one("pipelined three GETs", strictGet("/original-resource")+strictGet("/gone")+strictGet("/nowhere")),
		one("pipelined GET POST GET", strictGet("/original-resource")+post("/temporary-resource")+strictGet("/moved")),
		one("pipelined GET then malformed", strictGet("/original-resource")+strictGet("/a", "X-A : b")),
		one("pipelined GET then HEAD", strictGet("/original-resource")+strictReq("HEAD /old HTTP/1.1", strictHost)),
		one("pipelined GET then HTTP/1.0", strictGet("/original-resource")+strictReq("GET /old HTTP/1.0", strictHost)),
		one("pipelined GET close then GET", strictGet("/original-resource", "Connection: close")+strictGet("/old")),
		one("pipelined GET then close then GET", strictGet("/original-resource")+
			strictGet("/old", "Connection: close")+strictGet("/gone")),
		one("pipelined GET then partial", strictGet("/original-resource")+"GET /old HTTP/1.1\r\nHo"),
		one("pipelined GET then echo then GET", strictGet("/original-resource")+strictGet("/temporary-resource")+strictGet("/old")),
		one("pipelined GET then four CRLFs", strictGet("/original-resource")+"\r\n\r\n"),
		// net/http waits for 4 bytes before it reads a second request
		// (server.go: c.bufr.Peek(4)), but reads a first one at once.
		one("CRLF alone", "\r\n"),
		one("short line alone", "x\r\n"),
		one("pipelined GET then CRLF", strictGet("/original-resource")+"\r\n"),
		one("pipelined GET then LF", strictGet("/original-resource")+"\n"),
		one("pipelined GET then short line", strictGet("/original-resource")+"x\r\n"),

		// Requests split across writes.
		one("split request line", "GET /original-", "resource HTTP/1.1\r\n", strictHost+"\r\n\r\n"),
		one("split inside escape", "GET /s/a%", "41 HTTP/1.1\r\n"+strictHost+"\r\n\r\n"),
		one("split before final LF", whole[:len(whole)-1], "\n"),
		one("split method", "GE", "T /original-resource HTTP/1.1\r\n"+strictHost+"\r\n\r\n"),
		one("split then malformed", "GET /original-resource HTTP/1.1\r\n", "Host : detour.test\r\n\r\n"),
		one("split second request", strictGet("/original-resource")+"GET /o", "ld HTTP/1.1\r\n"+strictHost+"\r\n\r\n"),
		one("incomplete head", "GET /original-resource HTTP/1.1\r\n"+strictHost+"\r\n"),
		strictCase{"byte by byte", strictBytes(byteByByte)},
	}
}

// strictCounted are corpus cases the lean path must answer (or hand off)
// itself, with the requests it answers and the connections it hands to
// net/http when the case runs alone on a fresh connection.
var strictCounted = []struct {
	name              string
	answered, handoff uint64
}{
	{"valid original-resource", 1, 0},
	{"valid not found", 1, 0},
	{"valid mixed-case host with port", 1, 0},
	{"HEAD original-resource", 1, 0},
	{"pipelined three GETs", 3, 0},
	{"byte by byte", 1, 0},
	{"head just under 16 KiB", 1, 0},
	{"pipelined GET then malformed", 1, 1},
	{"valid echo GET", 0, 1},
	{"HTTP/1.0", 0, 1},
}

// TestStrictAsNetHTTP proves that the lean HTTP/1.1 path is exactly as
// strict as net/http: every request of a corpus of malformed, hostile and
// valid raw requests gets byte for byte the same response (Date aside)
// and the same connection fate from a Lean as from a plain http.Server
// serving the same Handler. What net/http refuses, by a 4xx/5xx of its own
// or by closing, the Lean refuses the same way; what it answers, the Lean
// answers alike. It also proves that the lean path really answered part
// of the corpus itself rather than handing everything to net/http.
func TestStrictAsNetHTTP(t *testing.T) {
	h := server.New(server.Options{Now: func() time.Time { return clock }})
	h.Store(testRules(t))
	quiet := log.New(io.Discard, "", 0)
	newHTTP := func() *http.Server {
		return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
			MaxHeaderBytes: 64 << 10, ErrorLog: quiet}
	}

	refLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ref := newHTTP()
	refDone := make(chan error, 1)
	go func() { refDone <- ref.Serve(refLn) }()

	leanLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lean := server.NewLean(h, newHTTP())
	leanDone := make(chan error, 1)
	go func() { leanDone <- lean.Serve(leanLn) }()

	t.Cleanup(func() {
		lean.Close()
		ref.Close()
		for name, done := range map[string]chan error{"lean": leanDone, "net/http": refDone} {
			if err := <-done; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("%s Serve: got %v, want %v", name, err, http.ErrServerClosed)
			}
		}
	})
	refAddr, leanAddr := refLn.Addr().String(), leanLn.Addr().String()

	corpus := strictCorpus()
	byName := make(map[string]strictCase, len(corpus))
	for _, c := range corpus {
		if _, dup := byName[c.name]; dup {
			t.Fatalf("corpus: case %q twice", c.name)
		}
		byName[c.name] = c
	}

	// Run the whole corpus against both servers at once, a worker pool
	// wide: most cases end only when the servers have been quiet a while.
	results := make([]strictOutcome, len(corpus))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range strictWorkers {
		wg.Go(func() {
			for i := range jobs {
				results[i] = strictPair(t, refAddr, leanAddr, corpus[i].writes)
			}
		})
	}
	for i := range corpus {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	for i, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			want, got := results[i].ref, results[i].lean
			if got.out != want.out {
				t.Errorf("lean response differs from net/http's:\n got (lean):     %s\nwant (net/http): %s",
					strictShow(got.out, want.out), strictShow(want.out, got.out))
			}
			if got.closed != want.closed {
				t.Errorf("lean closed the connection: got %v (reset %v), want %v (reset %v) as net/http",
					got.closed, got.reset, want.closed, want.reset)
			}
		})
	}

	answered, handedOff := lean.Counts()
	if answered == 0 || handedOff == 0 {
		t.Errorf("after the corpus, Counts() = %d answered, %d handed off; want both > 0", answered, handedOff)
	}

	// One by one on fresh connections: the lean path answered these
	// itself, and handed off exactly the ones it should.
	for _, want := range strictCounted {
		t.Run("counted "+want.name, func(t *testing.T) {
			c, ok := byName[want.name]
			if !ok {
				t.Fatalf("no corpus case %q", want.name)
			}
			a0, h0 := lean.Counts()
			res, err := strictExchange(leanAddr, c.writes, strictQuiet)
			if err != nil {
				t.Fatal(err)
			}
			if res.out == "" {
				t.Fatalf("no response")
			}
			a1, h1 := lean.Counts()
			if got := a1 - a0; got != want.answered {
				t.Errorf("answered by the lean path: got %d, want %d", got, want.answered)
			}
			if got := h1 - h0; got != want.handoff {
				t.Errorf("handed to net/http: got %d, want %d", got, want.handoff)
			}
		})
	}
}

// strictOutcome is what net/http alone and the Lean made of one case.
type strictOutcome struct{ ref, lean strictResult }

// strictPair runs writes against both servers at once, and once more with
// a longer quiet time when the results differ.
func strictPair(t *testing.T, refAddr, leanAddr string, writes []string) (p strictOutcome) {
	for _, quiet := range []time.Duration{strictQuiet, strictQuietRetry} {
		var refErr, leanErr error
		var wg sync.WaitGroup
		wg.Go(func() { p.ref, refErr = strictExchange(refAddr, writes, quiet) })
		wg.Go(func() { p.lean, leanErr = strictExchange(leanAddr, writes, quiet) })
		wg.Wait()
		if err := errors.Join(refErr, leanErr); err != nil {
			t.Error(err)
			return p
		}
		if p.ref.out == p.lean.out && p.ref.closed == p.lean.closed {
			return p
		}
	}
	return p
}

// strictDate matches a Date field of a response head.
var strictDate = regexp.MustCompile("(?m)^Date: [^\r\n]*\r$")

// strictExchange dials addr, sends writes (a short pause between them)
// and reads until the server closes or has sent nothing for quiet since
// the last byte either side sent.
func strictExchange(addr string, writes []string, quiet time.Duration) (strictResult, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return strictResult{}, err
	}
	defer conn.Close()
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))

	var mu sync.Mutex
	last := time.Now() // of the last byte sent or read
	touch := func() {
		mu.Lock()
		last = time.Now()
		mu.Unlock()
	}
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for i, w := range writes {
			if i > 0 {
				time.Sleep(strictPause)
			}
			if _, err := io.WriteString(conn, w); err != nil {
				return // the server closed; the reader sees how
			}
			touch()
		}
	}()

	var res strictResult
	var out []byte
	buf := make([]byte, 32<<10)
	for {
		mu.Lock()
		deadline := last.Add(quiet)
		mu.Unlock()
		conn.SetReadDeadline(deadline)
		n, err := conn.Read(buf)
		if n > 0 {
			out = append(out, buf[:n]...)
			touch()
		}
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			select {
			case <-wrote:
				mu.Lock()
				idle := time.Since(last) >= quiet
				mu.Unlock()
				if !idle {
					continue
				}
			default:
				continue // still writing
			}
		} else {
			res.closed = true
			res.reset = !errors.Is(err, io.EOF)
		}
		<-wrote
		res.out = strictDate.ReplaceAllString(string(out), "Date: (normalised)\r")
		return res, nil
	}
}

// strictShow quotes s for a failure message, from a little before where it
// first differs from other, at most a few hundred bytes.
func strictShow(s, other string) string {
	i := 0
	for i < len(s) && i < len(other) && s[i] == other[i] {
		i++
	}
	from := max(0, i-120)
	to := min(len(s), i+360)
	q := strconv.Quote(s[from:to])
	if from > 0 {
		q = "…" + q
	}
	if to < len(s) {
		q += "…"
	}
	return q + " (" + strconv.Itoa(len(s)) + " bytes, differs at " + strconv.Itoa(i) + ")"
}
