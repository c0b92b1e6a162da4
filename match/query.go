package match

import (
	"strings"

	"github.com/detourhttp/detour/internal/pct"
)

// Query conditions are matched against the raw query string without
// building a map: parameters are split on "&", names and values compared
// form-decoded ("+" is a space, "%XX" a byte). A parameter may appear more
// than once: "?id" and "?id=:id" ask that it be present (the first value is
// captured), "?id=5" that some occurrence equal 5.

// queryMatches reports whether the raw query q satisfies every condition.
func queryMatches(conds []qcond, q string) bool {
	for i := range conds {
		if !condMatches(&conds[i], q) {
			return false
		}
	}
	return true
}

func condMatches(c *qcond, q string) bool {
	for q != "" {
		var p string
		p, q, _ = strings.Cut(q, "&")
		name, value, _ := strings.Cut(p, "=")
		if !formEqual(name, c.name) {
			continue
		}
		if c.mode != qEqual || formEqual(value, c.value) {
			return true
		}
	}
	return false
}

// queryValue returns the start and end in q of the raw value of the
// first parameter called name, and whether there is one.
func queryValue(q, name string) (start, end int, ok bool) {
	pos := 0
	for pos <= len(q) {
		end := strings.IndexByte(q[pos:], '&')
		if end < 0 {
			end = len(q)
		} else {
			end += pos
		}
		p := q[pos:end]
		n, _, hasValue := strings.Cut(p, "=")
		if formEqual(n, name) {
			if !hasValue {
				return end, end, true
			}
			return pos + len(n) + 1, end, true
		}
		pos = end + 1
	}
	return 0, 0, false
}

// formEqual reports whether the raw query text s, form-decoded, equals d.
func formEqual(s, d string) bool {
	j := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch v, esc := pct.Decode(s, i); {
		case c == '+':
			c = ' '
		case esc:
			c = v
			i += 2
		}
		if j >= len(d) || d[j] != c {
			return false
		}
		j++
	}
	return j == len(d)
}
