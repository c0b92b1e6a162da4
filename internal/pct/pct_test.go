package pct_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/detourhttp/detour/internal/pct"
)

// TestDecodeEveryEscape checks Decode on "%" followed by every pair of
// bytes against encoding/hex, at the start, in the middle and cut short
// at the end of a string.
func TestDecodeEveryEscape(t *testing.T) {
	for a := range 256 {
		for b := range 256 {
			pair := string([]byte{byte(a), byte(b)})
			want, err := hex.DecodeString(pair)
			ok := err == nil
			for _, s := range []string{"%" + pair, "x%" + pair + "y"} {
				i := strings.IndexByte(s, '%')
				got, gotOK := pct.Decode(s, i)
				if gotOK != ok || ok && got != want[0] {
					t.Fatalf("Decode(%q, %d) = %#x, %v; want %v, %v", s, i, got, gotOK, want, ok)
				}
			}
			if pct.IsHex(byte(a)) != strings.ContainsRune("0123456789abcdefABCDEF", rune(a)) {
				t.Fatalf("IsHex(%#x) = %v", a, pct.IsHex(byte(a)))
			}
		}
	}
	for _, s := range []string{"%", "%4", "x%4", "41", "a%41"} {
		if got, ok := pct.Decode(s, 0); ok {
			t.Errorf("Decode(%q, 0) = %#x, true; want false", s, got)
		}
	}
}
