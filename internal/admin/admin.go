// Package admin is detour's admin listener. Today it answers the health
// probes: /healthz (the process is alive) and /readyz (a rule set is
// loaded). Later routes — the JSON API, the web UI, metrics — join the
// same Server through its mux.
package admin

import (
	"encoding/json"
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
	// Reloader, when set, supplies the reload status in /readyz; nil when
	// the rules do not come from files (the built-in demo set).
	Reloader *reload.Reloader
}

// Server is the admin listener's http.Handler. It is safe for concurrent
// use.
type Server struct {
	cfg Config
	mux *http.ServeMux
}

var _ http.Handler = (*Server)(nil)

// New returns the admin handler with its routes.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
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
	if s.cfg.Reloader != nil {
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
