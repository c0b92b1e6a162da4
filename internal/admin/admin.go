// Package admin is detour's admin listener: the health probes /healthz
// (the process is alive) and /readyz (a rule set is loaded), /metrics in
// the Prometheus format, and the JSON API of runtime rules under
// /api/v1/rules (SPEC §3).
//
// Everything under /api needs the admin token (Authorization: Bearer,
// compared in constant time); every route but the health probes checks
// the Host header against the listener's own names, so that a DNS name
// rebound to 127.0.0.1 cannot reach it from a browser. Errors are RFC 9457
// problem documents; detour.Error codes map to HTTP statuses in one table
// (statusOf).
package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/detourhttp/detour/internal/reload"
	"github.com/detourhttp/detour/internal/server"
)

// Config says what the admin listener reports on.
type Config struct {
	// Rules is the redirect listener's handler, whose live rule set makes
	// the process ready. Required.
	Rules *server.Handler
	// Reloader, when set, supplies the reload status in /readyz (for rules
	// from files) and makes the rule writes of the API live; nil serves
	// no API.
	Reloader *reload.Reloader
	// Token is the admin token that everything under /api requires; when
	// empty, /api answers 401 to every request.
	Token string
	// Addr is the listener's bound address ("127.0.0.1:9090"); with Hosts
	// it says which Host headers are the listener's own names.
	Addr string
	// Hosts are more names (host or host:port) the listener answers to,
	// besides IP literals and localhost on its port.
	Hosts []string
	// Metrics, when set, serves /metrics from its registry.
	Metrics *Metrics
	// MetricsAuth makes /metrics require the admin token too.
	MetricsAuth bool
	// MaxBody caps request bodies; 0 means DefaultMaxBody.
	MaxBody int64
	// Log receives API errors that are not the client's fault; nil
	// discards.
	Log *slog.Logger
	// Now is the clock of "active now" and rule states; nil means
	// time.Now.
	Now func() time.Time
}

// DefaultMaxBody caps request bodies: 1 MiB (413 past it).
const DefaultMaxBody = 1 << 20

// Server is the admin listener's http.Handler. It is safe for concurrent
// use.
type Server struct {
	cfg  Config
	mux  *http.ServeMux
	port string // the listener's port, for the Host check
}

var _ http.Handler = (*Server)(nil)

// New returns the admin handler with its routes.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	if _, port, err := net.SplitHostPort(cfg.Addr); err == nil {
		s.port = port
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if cfg.Metrics != nil {
		cfg.Metrics.register(s)
		h := cfg.Metrics.handler()
		if cfg.MetricsAuth {
			h = s.authorized(h)
		}
		s.mux.Handle("GET /metrics", s.ownHost(h))
	}
	s.routes()
	return s
}

// ServeHTTP routes r.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// healthz answers 200 "ok" as long as the process serves at all.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok\n"))
}

// Readiness is the JSON detail of /readyz.
type Readiness struct {
	// Ready is true when a rule set is live.
	Ready bool `json:"ready"`
	// Rules counts the live set's rules and table rows.
	Rules int `json:"rules"`
	// Reload is the reload status; absent for the built-in demo set.
	Reload *ReloadStatus `json:"reload,omitempty"`
	// Store is the rule store's health; absent without a store. A store
	// that cannot be reached does not make the process unready: the live
	// rules keep serving.
	Store *StoreStatus `json:"store,omitempty"`
}

// StoreStatus is the store part of Readiness.
type StoreStatus struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// ReloadStatus is the reload part of Readiness.
type ReloadStatus struct {
	// OK is true when the last load succeeded.
	OK          bool       `json:"ok"`
	Successes   uint64     `json:"successes"`
	Failures    uint64     `json:"failures"`
	LastAttempt *time.Time `json:"last_attempt,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	// Error is the last attempt's error, when it failed.
	Error string `json:"error,omitempty"`
}

// Readiness returns the readiness detail.
func (s *Server) Readiness() Readiness {
	var rd Readiness
	if rs := s.cfg.Rules.Rules(); rs != nil {
		rd.Ready = true
		rd.Rules = rs.Table.Len()
	}
	if s.cfg.Reloader != nil && s.cfg.Reloader.Store() != nil {
		rd.Store = &StoreStatus{OK: true}
		if err := s.storeHealth(); err != nil {
			rd.Store = &StoreStatus{Error: err.Error()}
		}
	}
	if s.cfg.Reloader != nil && s.cfg.Reloader.Path() != "" {
		st := s.cfg.Reloader.Stats()
		rs := &ReloadStatus{
			OK:        st.LastError == "",
			Successes: st.Successes,
			Failures:  st.Failures,
			Error:     st.LastError,
		}
		if !st.LastAttempt.IsZero() {
			rs.LastAttempt = &st.LastAttempt
		}
		if !st.LastSuccess.IsZero() {
			rs.LastSuccess = &st.LastSuccess
		}
		rd.Reload = rs
	}
	return rd
}

// storeHealth pings the store, briefly.
func (s *Server) storeHealth() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.cfg.Reloader.Store().Ping(ctx)
}

// readyz answers 200 when a rule set is live and 503 otherwise, with the
// Readiness detail as JSON either way.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	rd := s.Readiness()
	body, err := json.Marshal(rd)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !rd.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	w.Write(append(body, '\n'))
}
