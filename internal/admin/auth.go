package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// NewToken returns a random admin token: 32 bytes, URL-safe base64.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// authorized wraps h so that it answers only requests that carry the
// admin token as "Authorization: Bearer TOKEN": 401 otherwise. The token
// is compared in constant time (over SHA-256 digests, so that its length
// does not show either).
func (s *Server) authorized(h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.cfg.Token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if s.cfg.Token == "" || !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="detour admin"`)
			detail := "this needs the admin token: Authorization: Bearer TOKEN"
			if ok && strings.EqualFold(scheme, "Bearer") {
				detail = "the admin token is wrong"
			}
			problem(w, http.StatusUnauthorized, "unauthorized", detail)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ownHost wraps h so that it answers only requests whose Host header is
// one of the listener's own names, 421 Misdirected Request otherwise: an
// IP literal or "localhost" with the listener's port, or one of
// Config.Hosts. A DNS name that an attacker rebinds to 127.0.0.1 is none
// of them, so a page in a browser cannot reach the API through it.
func (s *Server) ownHost(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.isOwnHost(r.Host) {
			problem(w, http.StatusMisdirectedRequest, "misdirected",
				fmt.Sprintf("the admin listener does not answer to host %q; use its address, such as 127.0.0.1:%s", r.Host, s.port))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) isOwnHost(host string) bool {
	for _, h := range s.cfg.Hosts {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		name, port = host, ""
	}
	if s.port != "" && port != s.port {
		return false
	}
	for _, h := range s.cfg.Hosts {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	if strings.EqualFold(name, "localhost") {
		return true
	}
	_, err = netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]"))
	return err == nil
}
