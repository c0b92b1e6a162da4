package convert

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// nginx writes server blocks: one per host the rules name, holding that
// host's rules, then the wildcard and host-less rules that detour would
// fall back on (detour's host tiers), and a default server for the
// host-less rules. Within a server the rules keep detour's precedence as
// nginx regex locations, which nginx tries in file order, after a leading
// run of exact paths as "=" locations.
func (x *exporter) nginx(rules []*xrule) []byte {
	var b strings.Builder
	b.WriteString("# Written by detour export --to nginx. Captures reach the Location as nginx\n")
	b.WriteString("# decodes them ($uri, $1): detour percent-encodes them.\n")
	rules = x.plainScheme(rules)
	var kept []*xrule
	for _, xr := range rules {
		if strings.Contains(strings.NewReplacer("$1", "", "$2", "", "$3", "", "$4", "", "$5", "", "$6", "", "$7", "", "$8", "", "$9", "").Replace(xr.r.To), "$") {
			x.lost(xr.r, "rule %s: a literal $ in the target cannot be written for nginx", xr.r.ID)
			continue
		}
		kept = append(kept, xr)
	}
	hosts := hostsOf(kept)
	if !slices.Contains(hosts, "") {
		// A default server, so that hosts no rule names get 404 as
		// from detour, not the first server's rules.
		hosts = append(hosts, "")
	}
	for _, h := range hosts {
		fmt.Fprintf(&b, "\nserver {\n")
		if h == "" {
			b.WriteString("    listen 80 default_server;\n    server_name _;\n")
		} else {
			fmt.Fprintf(&b, "    listen 80;\n    server_name %s;\n", h)
		}
		if x.keepSlashes {
			b.WriteString("    merge_slashes off;\n")
		}
		// A rule without methods does not answer OPTIONS (a redirected
		// CORS preflight fails); nginx rules here cannot list methods.
		b.WriteString("    if ($request_method = OPTIONS) {\n        return 404;\n    }\n")
		leading := true
		seen := make(map[string]bool)
		for _, xr := range tierRules(kept, h) {
			if xr.exact != "" && !xr.ci && leading {
				if seen[xr.exact] {
					continue // an earlier rule answers this path
				}
				seen[xr.exact] = true
				fmt.Fprintf(&b, "    location = %s {\n", nginxQuote(xr.exact))
			} else {
				leading = false
				mod := "~"
				if xr.ci {
					mod = "~*"
				}
				fmt.Fprintf(&b, "    location %s %s {\n", mod, nginxQuote(xr.re))
			}
			x.nginxReturn(&b, xr)
			b.WriteString("    }\n")
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

// plainScheme keeps the rules a plain-HTTP listener can answer: those
// for any scheme or for http. Rules for https are reported: the exported
// configuration has no TLS listener.
func (x *exporter) plainScheme(rules []*xrule) []*xrule {
	var out []*xrule
	for _, xr := range rules {
		if xr.r.Scheme == "https" {
			x.lost(xr.r, "rule %s: scheme https needs a TLS listener with certificates, which export does not write", xr.r.ID)
			continue
		}
		out = append(out, xr)
	}
	return out
}

func (x *exporter) nginxReturn(b *strings.Builder, xr *xrule) {
	r := xr.r
	if r.Status == 410 {
		b.WriteString("        return 410;\n")
		return
	}
	tp, ok := x.render(xr, func(n int) string { return "$" + strconv.Itoa(n) }, func(name string) string {
		switch name {
		case "scheme":
			return "$scheme"
		case "host":
			return "$host"
		case "path":
			return "$uri"
		case "query":
			return "$args"
		}
		return ""
	})
	if !ok {
		fmt.Fprintf(b, "        return 404; # left out: see the export findings\n")
		return
	}
	code := strconv.Itoa(r.Status)
	switch r.Query {
	case "", "preserve":
		if tp.hasQuery {
			fmt.Fprintf(b, "        if ($args) {\n            return %s %s;\n        }\n", code, nginxQuote(tp.base+"?"+tp.query+"&$args"+tp.frag))
			fmt.Fprintf(b, "        return %s %s;\n", code, nginxQuote(tp.base+"?"+tp.query+tp.frag))
			return
		}
		fmt.Fprintf(b, "        return %s %s;\n", code, nginxQuote(tp.base+"$is_args$args"+tp.frag))
	case "drop":
		t := tp.base
		if tp.hasQuery {
			t += "?" + tp.query
		}
		fmt.Fprintf(b, "        return %s %s;\n", code, nginxQuote(t+tp.frag))
	case "replace":
		fmt.Fprintf(b, "        return %s %s;\n", code, nginxQuote(tp.base+"$is_args$args"+tp.frag))
	}
}

// nginxQuote writes s as a double-quoted nginx string: a backslash
// before a quote or a backslash is doubled, a quote escaped.
func nginxQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\'' || s[i+1] == '\\' || s[i+1] == 't' || s[i+1] == 'r' || s[i+1] == 'n'):
			b.WriteString(`\\`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// hostsOf lists the hosts that need a server: every host a rule names,
// and "" when a rule names none.
func hostsOf(rules []*xrule) []string {
	set := make(map[string]bool)
	for _, xr := range rules {
		set[xr.r.Host] = true
	}
	var hs []string
	for h := range set {
		hs = append(hs, h)
	}
	slices.SortFunc(hs, func(a, b string) int {
		if ta, tb := tierOf(a), tierOf(b); ta != tb {
			return tb - ta
		}
		return strings.Compare(a, b)
	})
	return hs
}

// tierRules lists, in detour's order, the rules a request for host h
// meets: h's own, then the wildcards that cover h (longest suffix first),
// then the host-less ones.
func tierRules(rules []*xrule, h string) []*xrule {
	var out []*xrule
	tiers := []string{}
	if h != "" {
		tiers = append(tiers, h)
		for _, w := range hostsOf(rules) {
			if w != h && strings.HasPrefix(w, "*.") && strings.HasSuffix(strings.TrimPrefix(h, "*"), w[1:]) {
				tiers = append(tiers, w)
			}
		}
	}
	tiers = append(tiers, "")
	for _, t := range tiers {
		for _, xr := range rules {
			if xr.r.Host == t {
				out = append(out, xr)
			}
		}
	}
	return out
}
