package server

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

// BenchmarkLeanAnswer measures what the lean path does per request besides
// the socket: parse the head, decide (normalise, look up, count), render
// the answer into the connection's output buffer — for exact rules out of
// 10,000, with and without hit counting and the lookup histogram.
func BenchmarkLeanAnswer(b *testing.B) {
	const n = 10_000
	rules := make([]detour.Rule, n)
	for i := range rules {
		from := "/old/page-" + strconv.Itoa(i)
		rules[i] = detour.Rule{ID: detour.DeriveID("", from, nil), From: from, To: "/new/page-" + strconv.Itoa(i),
			Status: detour.DefaultStatus, Query: detour.QueryPreserve}
	}
	table, diags := match.Compile(rules, nil, match.Options{})
	if table == nil {
		b.Fatal(diags)
	}
	heads := make([][]byte, 256)
	for i := range heads {
		heads[i] = []byte("GET /old/page-" + strconv.Itoa(i*37%n) + " HTTP/1.1\r\nHost: example.com\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	}
	for _, bc := range []struct {
		name  string
		count bool
	}{{"nocount", false}, {"counting", true}} {
		b.Run(bc.name, func(b *testing.B) {
			opts := Options{}
			rs := &Rules{Table: table}
			if bc.count {
				opts.LookupLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
					Name: "lookup_seconds", Buckets: prometheus.ExponentialBuckets(1e-7, 4, 10)}) // as detour serve's
				rs.Stats = NewStats().Index(table)
			}
			h := New(opts)
			h.Store(rs)
			l := NewLean(h, &http.Server{})
			x := h.pool.Get().(*exchange)
			out := make([]byte, 0, 4096)
			now := time.Now()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				var hd leanHead
				if parseHead(heads[i%len(heads)], &hd) != headDone {
					b.Fatal("head not parsed")
				}
				var ok bool
				if out, ok = l.answer(out[:0], x, &hd, "127.0.0.1:40000", now, false); !ok {
					b.Fatal("not answered")
				}
			}
		})
	}
}
