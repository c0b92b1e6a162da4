package server_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/internal/server"
)

// discardWriter is the cheapest http.ResponseWriter: it keeps one header
// map and throws the body away, so the benchmark counts the handler's own
// allocations, not a recorder's.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// BenchmarkHandlerExact measures the redirect path for an exact rule out
// of 10,000, through ServeHTTP: normalise, look up, write the response.
func BenchmarkHandlerExact(b *testing.B) {
	for _, bc := range []struct {
		name  string
		log   *slog.Logger
		count bool // hit counts and the lookup latency histogram, as detour serve runs
	}{
		{"nolog", nil, false},
		{"jsonlog", slog.New(slog.NewJSONHandler(discard{}, nil)), false},
		{"nolog+counting", nil, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const n = 10_000
			rules := make([]detour.Rule, n)
			for i := range rules {
				rules[i] = rule("/old/page-"+strconv.Itoa(i), "/new/page-"+strconv.Itoa(i))
			}
			opts := server.Options{Now: func() time.Time { return clock }, Log: bc.log}
			rs := &server.Rules{Table: mustTable(b, rules...)}
			if bc.count {
				opts.Now = nil // the real clock, as detour serve runs: one reading times the lookup too
				opts.LookupLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
					Name: "lookup_seconds", Buckets: prometheus.ExponentialBuckets(1e-7, 4, 10)}) // as detour serve's
				rs.Stats = server.NewStats().Index(rs.Table)
			}
			h := server.New(opts)
			h.Store(rs)
			reqs := make([]*http.Request, 256)
			for i := range reqs {
				reqs[i] = httptest.NewRequest("GET", "http://example.com/old/page-"+strconv.Itoa(i*37%n)+"?utm=x", nil)
			}
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				clear(w.h)
				h.ServeHTTP(w, reqs[i%len(reqs)])
				if w.status != 307 {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
