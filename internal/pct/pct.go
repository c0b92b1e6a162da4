// Package pct reads percent-encoded octets, "%" and two hexadecimal
// digits (RFC 3986 §2.1): the piece of URL syntax that request
// normalisation, the matcher, the Location builder and the lean HTTP
// parser all read byte by byte.
package pct

// IsHex reports whether c is a hexadecimal digit, of either case.
func IsHex(c byte) bool { return value[c] < 16 }

// Decode returns the octet that the escape at s[i] stands for, and true;
// or false when s[i:] does not start with "%" and two hexadecimal digits.
// It is small enough to be inlined where it is called.
func Decode(s string, i int) (byte, bool) {
	if i+2 >= len(s) || s[i] != '%' {
		return 0, false
	}
	hi, lo := value[s[i+1]], value[s[i+2]]
	return hi<<4 | lo, hi|lo < 16
}

// value holds each byte's value as a hexadecimal digit; 0xff when it is
// none.
var value = func() (v [256]byte) {
	for c := range v {
		switch {
		case '0' <= c && c <= '9':
			v[c] = byte(c - '0')
		case 'a' <= c && c <= 'f':
			v[c] = byte(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			v[c] = byte(c - 'A' + 10)
		default:
			v[c] = 0xff
		}
	}
	return v
}()
