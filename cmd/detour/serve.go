package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/internal/admin"
	"github.com/detourhttp/detour/internal/reload"
	"github.com/detourhttp/detour/internal/server"
	"github.com/detourhttp/detour/internal/sqlite"
)

const serveUsage = "detour serve [--rules PATH] [--listen ADDR] [--admin ADDR] [--store URL] " +
	"[--tls-cert FILE --tls-key FILE] [--trusted-proxy CIDR]... [--log-format json|text] " +
	"[--admin-token-file FILE] [--metrics-auth] [--access-log=false] [--lean=false] [--hit-counts=false]"

// Limits of both listeners.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10 // over it: 431
	shutdownTimeout   = 30 * time.Second
)

// defaultRules is the rules file serve uses when it exists and no other is
// named; without it serve uses the built-in demo set.
const defaultRules = "detour.yaml"

// serveConfig is serve's settings after flags, environment and defaults.
type serveConfig struct {
	rules          string // "" means the built-in demo set
	listen         string
	admin          string
	tlsCert        string
	tlsKey         string
	trustedProxies []netip.Prefix
	logFormat      string
	accessLog      bool   // one log record per request on the redirect listener
	store          string // the runtime rule store: a SQLite file
	adminToken     string // "" means generate one
	metricsAuth    bool
	lean           bool // plain HTTP/1.1 GET and HEAD through server.Lean
	hitCounts      bool // count answers per rule (hits, last_hit, per-rule metrics)
}

// listFlag is a flag that may be repeated.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// serveFlags parses serve's arguments. Settings come from flags, then the
// environment (DETOUR_RULES, DETOUR_LISTEN, DETOUR_ADMIN, DETOUR_TLS_CERT,
// DETOUR_TLS_KEY, DETOUR_TRUSTED_PROXY as a comma-separated list,
// DETOUR_LOG_FORMAT), then the defaults.
func (m *Main) serveFlags(args []string) (serveConfig, int, bool) {
	var cfg serveConfig
	var proxies listFlag
	fs := newFlagSet("serve")
	fs.StringVar(&cfg.rules, "rules", "", "rules `PATH`: a YAML file or a folder of them (default ./detour.yaml if present, else the built-in demo set)")
	fs.StringVar(&cfg.listen, "listen", ":8080", "redirect listener `ADDR`")
	fs.StringVar(&cfg.admin, "admin", "127.0.0.1:9090", "admin listener `ADDR` (/healthz, /readyz)")
	fs.StringVar(&cfg.tlsCert, "tls-cert", "", "TLS certificate `FILE` (PEM); serves HTTPS and HTTP/2")
	fs.StringVar(&cfg.tlsKey, "tls-key", "", "TLS private key `FILE` (PEM)")
	fs.Var(&proxies, "trusted-proxy", "`CIDR` of a proxy whose Forwarded / X-Forwarded-Proto is believed (repeatable)")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "log format: json or text")
	fs.BoolVar(&cfg.accessLog, "access-log", true, "write one access-log record per redirect-listener request (as nginx's access_log; =false for none)")
	fs.StringVar(&cfg.store, "store", sqlite.DefaultPath, "runtime rule store `URL`: a SQLite file (path, or sqlite:PATH)")
	tokenFile := fs.String("admin-token-file", "", "`FILE` holding the admin token (default $DETOUR_ADMIN_TOKEN, else a random one, logged at start)")
	fs.BoolVar(&cfg.metricsAuth, "metrics-auth", false, "make /metrics require the admin token too")
	fs.BoolVar(&cfg.hitCounts, "hit-counts", true, "count answers per rule: the API's hits and last_hit, per-rule metrics (=false: none)")
	fs.BoolVar(&cfg.lean, "lean", true, "answer plain-HTTP GET and HEAD redirects on detour's own lean HTTP/1.1 path, handing everything else to net/http (=false: net/http for all)")
	pos, code, ok := m.parseFlags(fs, args, serveUsage)
	if !ok {
		return cfg, code, false
	}
	if len(pos) > 0 {
		return cfg, m.usageError(serveUsage, "unexpected argument %q", pos[0]), false
	}

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	fromEnv := func(name, env string, dst *string) {
		if v := m.Getenv(env); !set[name] && v != "" {
			*dst = v
		}
	}
	fromEnv("rules", "DETOUR_RULES", &cfg.rules)
	fromEnv("listen", "DETOUR_LISTEN", &cfg.listen)
	fromEnv("admin", "DETOUR_ADMIN", &cfg.admin)
	fromEnv("tls-cert", "DETOUR_TLS_CERT", &cfg.tlsCert)
	fromEnv("tls-key", "DETOUR_TLS_KEY", &cfg.tlsKey)
	fromEnv("log-format", "DETOUR_LOG_FORMAT", &cfg.logFormat)
	fromEnv("store", "DETOUR_STORE", &cfg.store)
	for _, b := range []struct {
		flag, env string
		dst       *bool
	}{
		{"access-log", "DETOUR_ACCESS_LOG", &cfg.accessLog},
		{"lean", "DETOUR_LEAN", &cfg.lean},
		{"hit-counts", "DETOUR_HIT_COUNTS", &cfg.hitCounts},
	} {
		if v := m.Getenv(b.env); !set[b.flag] && v != "" {
			on, err := strconv.ParseBool(v)
			if err != nil {
				return cfg, m.usageError(serveUsage, "%s must be true or false, not %q", b.env, v), false
			}
			*b.dst = on
		}
	}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return cfg, m.usageError(serveUsage, "--admin-token-file: %v", err), false
		}
		cfg.adminToken = strings.TrimSpace(string(b))
		if cfg.adminToken == "" {
			return cfg, m.usageError(serveUsage, "--admin-token-file %s is empty", *tokenFile), false
		}
	} else {
		cfg.adminToken = strings.TrimSpace(m.Getenv("DETOUR_ADMIN_TOKEN"))
	}
	path, err := storePath(cfg.store)
	if err != nil {
		return cfg, m.usageError(serveUsage, "--store: %v", err), false
	}
	cfg.store = path
	if v := m.Getenv("DETOUR_TRUSTED_PROXY"); !set["trusted-proxy"] && v != "" {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				proxies = append(proxies, p)
			}
		}
	}
	if cfg.rules == "" {
		if _, err := os.Stat(defaultRules); err == nil {
			cfg.rules = defaultRules
		}
	}

	if cfg.logFormat != "json" && cfg.logFormat != "text" {
		return cfg, m.usageError(serveUsage, "--log-format must be json or text, not %q", cfg.logFormat), false
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return cfg, m.usageError(serveUsage, "--tls-cert and --tls-key go together"), false
	}
	for _, p := range proxies {
		prefix, err := parsePrefix(p)
		if err != nil {
			return cfg, m.usageError(serveUsage, "--trusted-proxy %q: want a CIDR such as 10.0.0.0/8 or an address", p), false
		}
		cfg.trustedProxies = append(cfg.trustedProxies, prefix)
	}
	return cfg, exitOK, true
}

// storePath returns the SQLite file a --store URL names: a path, or
// sqlite:PATH (sqlite://PATH). PostgreSQL is not built yet.
func storePath(u string) (string, error) {
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return "", errors.New("PostgreSQL stores are not supported yet; use a SQLite file such as ./detour.db")
	case strings.HasPrefix(u, "sqlite://"):
		u = strings.TrimPrefix(u, "sqlite://")
	case strings.HasPrefix(u, "sqlite:"):
		u = strings.TrimPrefix(u, "sqlite:")
	}
	if u == "" {
		return "", errors.New("names no file")
	}
	if i := strings.Index(u, "://"); i > 0 && !strings.ContainsAny(u[:i], "/.") {
		return "", fmt.Errorf("unknown store %q: want a SQLite file path", u[:i]+"://")
	}
	return u, nil
}

// parsePrefix parses a CIDR, or a single address as its one-address prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// serve runs the redirect and admin listeners until ctx is done, then shuts
// down gracefully: requests in flight finish, up to shutdownTimeout.
func (m *Main) serve(ctx context.Context, args []string) int {
	cfg, code, ok := m.serveFlags(args)
	if !ok {
		return code
	}
	log := newLogger(m.Stderr, cfg.logFormat)

	store, err := sqlite.Open(ctx, cfg.store)
	if err != nil {
		fmt.Fprintf(m.Stderr, "detour: runtime rule store: %v\n", err)
		return exitCantRun
	}
	defer store.Close()
	metrics := admin.NewMetrics()
	var stats *server.Stats
	if cfg.hitCounts {
		stats = server.NewStats()
	}
	var accessLog *slog.Logger
	if cfg.accessLog {
		accessLog = log
	}
	handler := server.New(server.Options{TrustedProxies: cfg.trustedProxies, Log: accessLog, LookupLatency: metrics.LookupLatency})
	// With no rules file the reloader serves the built-in demo set (and
	// the runtime rules).
	reloader, err := reload.New(reload.Config{Path: cfg.rules, Server: handler, Store: store, Stats: stats, Log: log})
	if err != nil {
		fmt.Fprintf(m.Stderr, "detour: %v\n", err)
		return exitCantRun
	}
	if err := reloader.Reload("start"); err != nil {
		if cfg.rules == "" {
			fmt.Fprintf(m.Stderr, "detour: %v\n", err)
			return exitCantRun
		}
		return m.rulesRefused(cfg.rules, err)
	}
	if cfg.adminToken == "" {
		tok, err := admin.NewToken()
		if err != nil {
			fmt.Fprintf(m.Stderr, "detour: %v\n", err)
			return exitCantRun
		}
		cfg.adminToken = tok
		// Logged once, so that the defaults are safe and still usable.
		log.Info("admin token: "+tok, "hint", "set DETOUR_ADMIN_TOKEN or --admin-token-file to choose one")
	}

	var tlsConfig *tls.Config
	if cfg.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			fmt.Fprintf(m.Stderr, "detour: load TLS certificate: %v\n", err)
			return exitCantRun
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		fmt.Fprintf(m.Stderr, "detour: listen: %v\n", err)
		return exitCantRun
	}
	aln, err := net.Listen("tcp", cfg.admin)
	if err != nil {
		ln.Close()
		fmt.Fprintf(m.Stderr, "detour: admin listen: %v\n", err)
		return exitCantRun
	}

	errorLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errorLog,
	}
	adm := &http.Server{
		Handler: admin.New(admin.Config{Rules: handler, Reloader: reloader, Token: cfg.adminToken, Addr: aln.Addr().String(),
			Metrics: metrics, MetricsAuth: cfg.metricsAuth, Log: log}),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errorLog,
	}

	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	log.Info("listening", "addr", ln.Addr().String(), "scheme", scheme, "admin", aln.Addr().String(), "store", store.Path())
	if cfg.rules == "" {
		log.Info("no rules file: serving the built-in demo set",
			"try", "curl -i -L -X POST -d data=example "+scheme+"://localhost"+portOf(ln.Addr().String())+"/original-resource")
	}
	if m.Listening != nil {
		m.Listening(Addrs{HTTP: ln.Addr(), Admin: aln.Addr()})
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	failed := make(chan error, 2)
	// redirect is the redirect listener: net/http alone over TLS (and
	// with --lean=false), else the lean path in front of it.
	type stoppable interface {
		Shutdown(context.Context) error
		Close() error
	}
	var redirect stoppable = srv
	var lean *server.Lean
	if tlsConfig == nil && cfg.lean {
		lean = server.NewLean(handler, srv)
		metrics.WatchLean(lean.Counts)
		redirect = lean
	}
	wg.Go(func() {
		var err error
		switch {
		case tlsConfig != nil:
			err = srv.ServeTLS(ln, "", "")
		case lean != nil:
			err = lean.Serve(ln)
		default:
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("redirect listener: %w", err)
		}
	})
	wg.Go(func() {
		if err := adm.Serve(aln); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("admin listener: %w", err)
		}
	})
	if cfg.rules != "" {
		wg.Go(func() {
			if err := reloader.Run(ctx); err != nil {
				log.Warn("not watching the rules; SIGHUP still reloads", "error", err)
			}
		})
	}
	wg.Go(func() { reloader.RunStore(ctx, 0) })
	wg.Go(func() { reloader.RunHits(ctx, 0) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-m.Hangup:
				if cfg.rules == "" {
					log.Info("SIGHUP: the built-in demo set has nothing to reload")
					continue
				}
				reloader.Reload("SIGHUP") // logged and counted by Reload
			}
		}
	})

	code = exitOK
	select {
	case <-ctx.Done():
		log.Info("shutting down: waiting for requests in flight", "timeout", shutdownTimeout)
	case err := <-failed:
		log.Error("serving failed", "error", err)
		code = exitCantRun
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer scancel()
	var sg sync.WaitGroup
	for _, s := range []stoppable{redirect, adm} {
		sg.Go(func() {
			if err := s.Shutdown(sctx); err != nil {
				log.Warn("shutdown cut requests short", "error", err)
				s.Close()
			}
		})
	}
	sg.Wait()
	wg.Wait()
	// The answers of the last requests, after RunHits' own last flush.
	fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := reloader.FlushHits(fctx); err != nil {
		log.Warn("hit counts not persisted", "error", err)
	}
	fcancel()
	log.Info("stopped")
	return code
}

// rulesRefused reports why the first load failed: exit 1 with each
// diagnostic when the rules are invalid, exit 2 when they cannot be read.
func (m *Main) rulesRefused(path string, err error) int {
	var diags detour.Diagnostics
	if errors.As(err, &diags) {
		fmt.Fprintf(m.Stderr, "detour: rules %s refused:\n", path)
		for _, d := range diags {
			fmt.Fprintf(m.Stderr, "  %s\n", d)
		}
		return exitFailed
	}
	fmt.Fprintf(m.Stderr, "detour: %v\n", err)
	return exitCantRun
}

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// portOf returns ":PORT" of a listen address, "" when it has none.
func portOf(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "" {
		return ":" + port
	}
	return ""
}
