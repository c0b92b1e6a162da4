package admin

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are detour's Prometheus metrics, on a registry of their own
// (nothing is registered globally).
//
// The redirect path pays for them with atomic adds only: answers are
// counted on per-rule counters resolved when a rule set is compiled
// (server.Stats), which the collector reads at scrape time; the lookup
// histogram is observed directly.
type Metrics struct {
	// Registry holds every metric; /metrics serves it.
	Registry *prometheus.Registry
	// LookupLatency is the lookup duration histogram; give it to
	// server.Options.LookupLatency.
	LookupLatency prometheus.Histogram
}

// NewMetrics returns the metrics on a new registry, with the lookup
// histogram and the Go and process collectors registered.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		LookupLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "detour_lookup_duration_seconds",
			Help: "Time to look a request up in the live rules.",
			// 100 ns to about 26 ms.
			Buckets: prometheus.ExponentialBuckets(1e-7, 4, 10),
		}),
	}
	reg.MustRegister(m.LookupLatency)
	return m
}

// WatchLean registers the counters of the redirect listener's lean
// HTTP/1.1 path (server.Lean.Counts), read at scrape time.
func (m *Metrics) WatchLean(counts func() (answered, handedOff uint64)) {
	m.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "detour_lean_answered_total",
			Help: "Requests the lean HTTP/1.1 path answered itself.",
		}, func() float64 { a, _ := counts(); return float64(a) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "detour_lean_handoffs_total",
			Help: "Connections the lean HTTP/1.1 path handed to net/http (request bodies, the demo echo, HTTP/1.0, malformed requests).",
		}, func() float64 { _, h := counts(); return float64(h) }),
	)
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// register adds the collector that reads s's sources at scrape time.
func (m *Metrics) register(s *Server) {
	m.Registry.MustRegister(&collector{s: s})
}

var (
	descRedirects = prometheus.NewDesc("detour_redirects_total",
		"Answers given by rules, by rule id (bulk-table rows by table id) and status.", []string{"rule", "status"}, nil)
	descNotFound = prometheus.NewDesc("detour_not_found_total",
		"Requests that no rule matched.", nil, nil)
	descRules = prometheus.NewDesc("detour_rules",
		"Rules in the live set, by kind (exact, pattern, regex, row) and source (file, runtime).", []string{"kind", "source"}, nil)
	descShadowed = prometheus.NewDesc("detour_runtime_rules_shadowed",
		"Runtime rules left out of the live set because a file rule wins over them.", nil, nil)
	descReloads = prometheus.NewDesc("detour_reloads_total",
		"Rule set loads from files, by result (success, failure).", []string{"result"}, nil)
	descLastReload = prometheus.NewDesc("detour_last_reload_timestamp_seconds",
		"When the last load of the rules files finished.", nil, nil)
	descLastReloadOK = prometheus.NewDesc("detour_last_reload_success_timestamp_seconds",
		"When a rule set from files last went live.", nil, nil)
	descStoreUp = prometheus.NewDesc("detour_store_up",
		"1 when the runtime rule store answers, 0 when it does not.", nil, nil)
)

// collector reads the live rule set, the counters and the reloader.
type collector struct{ s *Server }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRedirects, descNotFound, descRules, descShadowed, descReloads, descLastReload, descLastReloadOK, descStoreUp} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	if s.cfg.Reloader != nil {
		if st := s.cfg.Reloader.RuleStats(); st != nil {
			for _, rs := range st.All() {
				rs.StatusCounts(func(status int, n uint64) {
					ch <- prometheus.MustNewConstMetric(descRedirects, prometheus.CounterValue, float64(n), rs.ID, strconv.Itoa(status))
				})
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(descNotFound, prometheus.CounterValue, float64(s.cfg.Rules.NotFound()))

	counts := map[[2]string]int{}
	for _, k := range []string{"exact", "pattern", "regex", "row"} {
		for _, src := range []string{"file", "runtime"} {
			counts[[2]string{k, src}] = 0
		}
	}
	if rs := s.cfg.Rules.Rules(); rs != nil {
		for _, r := range rs.Table.Rules() {
			src := "file"
			if r.Source.Runtime {
				src = "runtime"
			}
			counts[[2]string{Kind(r.From), src}]++
		}
		for _, tb := range rs.Table.Tables() {
			counts[[2]string{"row", "file"}] += len(tb.Rows)
		}
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(descRules, prometheus.GaugeValue, float64(n), k[0], k[1])
	}

	if r := s.cfg.Reloader; r != nil {
		st := r.Stats()
		ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(st.Successes), "success")
		ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(st.Failures), "failure")
		ch <- prometheus.MustNewConstMetric(descLastReload, prometheus.GaugeValue, unix(st.LastAttempt))
		ch <- prometheus.MustNewConstMetric(descLastReloadOK, prometheus.GaugeValue, unix(st.LastSuccess))
		if store := r.Store(); store != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			up := 1.0
			if store.Ping(ctx) != nil {
				up = 0
			}
			cancel()
			ch <- prometheus.MustNewConstMetric(descStoreUp, prometheus.GaugeValue, up)
			ch <- prometheus.MustNewConstMetric(descShadowed, prometheus.GaugeValue, float64(r.ShadowedCount()))
		}
	}
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// Kind returns the kind of a rule's from for metrics: "regex" (~, ~*),
// "pattern" (splats, string prefixes, named segments) or "exact".
func Kind(from string) string {
	path, _, _ := strings.Cut(from, "?")
	switch {
	case strings.HasPrefix(from, "~"):
		return "regex"
	case strings.Contains(path, "*") || strings.Contains(path, "/:"):
		return "pattern"
	}
	return "exact"
}
