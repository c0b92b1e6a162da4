package detour_test

import (
	"errors"
	"testing"

	"github.com/detourhttp/detour"
)

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		merge bool
		want  string
		err   error
	}{
		{name: "plain", in: "/a/b", want: "/a/b"},
		{name: "root", in: "/", want: "/"},
		{name: "escapes decoded", in: "/a%20b/%C3%A9", want: "/a b/\xc3\xa9"},
		{name: "encoded slash decoded", in: "/a%2Fb", want: "/a/b"},
		{name: "plus kept", in: "/a+b", want: "/a+b"},
		{name: "dot segment", in: "/a/./b", want: "/a/b"},
		{name: "dot dot", in: "/a/b/../c", want: "/a/c"},
		{name: "dot dot above root", in: "/../../a", want: "/a"},
		{name: "trailing dot dot", in: "/a/b/..", want: "/a/"},
		{name: "trailing dot", in: "/a/.", want: "/a/"},
		{name: "encoded dots", in: "/a/%2e%2E/b", want: "/b"},
		{name: "dots in names kept", in: "/a/.well-known/..x/x..", want: "/a/.well-known/..x/x.."},
		{name: "double slash kept", in: "/a//b/", want: "/a//b/"},
		{name: "double slash merged", in: "/a//b///c", merge: true, want: "/a/b/c"},
		{name: "leading double slash merged", in: "//a", merge: true, want: "/a"},
		{name: "trailing double slash merged", in: "/a//", merge: true, want: "/a/"},
		{name: "NUL refused", in: "/a%00b", err: detour.ErrBadPath},
		{name: "bad escape refused", in: "/a%zz", err: detour.ErrBadPath},
		{name: "short escape refused", in: "/a%2", err: detour.ErrBadPath},
		{name: "no leading slash", in: "a/b", err: detour.ErrBadPath},
		{name: "empty", in: "", err: detour.ErrBadPath},
		{name: "asterisk form", in: "*", err: detour.ErrBadPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := detour.NormalizePath(tt.in, tt.merge)
			if !errors.Is(err, tt.err) {
				t.Fatalf("NormalizePath(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("NormalizePath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizePathAllocatesNothingWhenClean(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := detour.NormalizePath("/docs/getting-started/index.html", false); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("allocs = %v, want 0", allocs)
	}
}

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            error
	}{
		{name: "plain", in: "example.com", want: "example.com"},
		{name: "upper", in: "Example.COM", want: "example.com"},
		{name: "port", in: "example.com:8080", want: "example.com"},
		{name: "trailing dot", in: "example.com.", want: "example.com"},
		{name: "trailing dot and port", in: "example.com.:80", want: "example.com"},
		{name: "idn", in: "bücher.example", want: "xn--bcher-kva.example"},
		{name: "ipv6 with port", in: "[::1]:8080", want: "[::1]"},
		{name: "ipv4", in: "127.0.0.1:80", want: "127.0.0.1"},
		{name: "empty", in: "", want: ""},
		{name: "bad ipv6", in: "[::1", err: detour.ErrBadHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := detour.NormalizeHost(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("NormalizeHost(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("NormalizeHost(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/%2e%2e/x", "//a//b", "/a%00", "/a/./b/.."} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, p string, merge bool) {
		got, err := detour.NormalizePath(p, merge)
		if err != nil {
			return
		}
		if got == "" || got[0] != '/' {
			t.Fatalf("NormalizePath(%q) = %q: not absolute", p, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] == 0 {
				t.Fatalf("NormalizePath(%q) = %q: holds NUL", p, got)
			}
		}
		// Normalising again changes nothing once escapes are gone.
		again, err := detour.NormalizePath(escapePercent(got), merge)
		if err != nil || again != got {
			t.Fatalf("NormalizePath not idempotent: %q -> %q -> %q (%v)", p, got, again, err)
		}
	})
}

// escapePercent escapes "%" so that a decoded path decodes to itself.
func escapePercent(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			out = append(out, "%25"...)
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}
