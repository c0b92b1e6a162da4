package check

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Override sends connections for one host and port to another address,
// as curl's --resolve HOST:PORT:ADDR does: the URL, the Host header and
// TLS's server name still say Host.
type Override struct {
	// Host is the host name as URLs write it, lower-case; Port its port.
	Host string
	Port string
	// Addr is the IP address to connect to instead, on the same port.
	Addr netip.Addr
}

// ParseOverride parses "HOST:PORT:ADDR", where ADDR is an IP address (an
// IPv6 one with or without brackets) and HOST may be an IPv6 literal in
// brackets.
func ParseOverride(s string) (Override, error) {
	var o Override
	rest := s
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]:")
		if end < 0 {
			return o, fmt.Errorf("--resolve %q: want HOST:PORT:ADDR", s)
		}
		o.Host, rest = strings.ToLower(rest[:end+1]), rest[end+2:]
	} else {
		host, r, ok := strings.Cut(rest, ":")
		if !ok || host == "" {
			return o, fmt.Errorf("--resolve %q: want HOST:PORT:ADDR", s)
		}
		o.Host, rest = strings.ToLower(host), r
	}
	port, addr, ok := strings.Cut(rest, ":")
	if !ok {
		return o, fmt.Errorf("--resolve %q: want HOST:PORT:ADDR", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return o, fmt.Errorf("--resolve %q: bad port %q", s, port)
	}
	o.Port = port
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"))
	if err != nil {
		return o, fmt.Errorf("--resolve %q: ADDR must be an IP address: %w", s, err)
	}
	o.Addr = a.Unmap()
	return o, nil
}

// String returns o as HOST:PORT:ADDR.
func (o Override) String() string { return o.Host + ":" + o.Port + ":" + o.Addr.String() }

// dialer dials through the overrides.
type dialer struct {
	net.Dialer
	to map[string]string // "host:port" → "addr:port"
}

func newDialer(overrides []Override) *dialer {
	d := &dialer{to: make(map[string]string, len(overrides))}
	for _, o := range overrides {
		host := strings.TrimSuffix(strings.TrimPrefix(o.Host, "["), "]")
		d.to[net.JoinHostPort(host, o.Port)] = net.JoinHostPort(o.Addr.String(), o.Port)
	}
	return d
}

// DialContext connects to addr, or to its override.
func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if to, ok := d.to[strings.ToLower(addr)]; ok {
		addr = to
	}
	return d.Dialer.DialContext(ctx, network, addr)
}
