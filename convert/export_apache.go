package convert

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// apache writes one virtual host whose mod_rewrite rules run in detour's
// order — host tiers first (RewriteCond %{HTTP_HOST}), then precedence —
// so Apache's first match is detour's answer.
func (x *exporter) apache(rules []*xrule) []byte {
	var b strings.Builder
	b.WriteString("# Written by detour export --to apache. Needs mod_rewrite.\n")
	if x.keepSlashes {
		// Apache merges runs of slashes unless told otherwise, and the
		// setting takes effect in the server config only.
		b.WriteString("MergeSlashes Off\n")
		x.findings = append(x.findings, Finding{Message: "Apache merges a run of slashes at the start of the path whatever MergeSlashes says (//a is matched as /a); detour, without merge_slashes, does not"})
	}
	b.WriteString("<VirtualHost *:80>\n    RewriteEngine On\n")
	for _, xr := range byTier(x.plainScheme(rules)) {
		r := xr.r
		var flags []string
		target := "-"
		if r.Status == 410 {
			flags = append(flags, "G")
		} else {
			tp, ok := x.render(xr, func(n int) string { return "$" + strconv.Itoa(n) }, func(name string) string {
				switch name {
				case "scheme":
					return "%{REQUEST_SCHEME}"
				case "host":
					return "%{SERVER_NAME}"
				case "path":
					return "%{REQUEST_URI}"
				case "query":
					return "%{QUERY_STRING}"
				}
				return ""
			})
			if !ok {
				continue
			}
			flags = append(flags, "R="+strconv.Itoa(r.Status))
			target = tp.base
			switch r.Query {
			case "", "preserve":
				if tp.frag != "" {
					x.lost(r, "rule %s: Apache appends the request's query after the target's #fragment; left out", r.ID)
					continue
				}
				if tp.hasQuery {
					// Without NE, Apache escapes the appended query
					// again (%20 → %2520).
					target += "?" + tp.query
					flags = append(flags, "QSA", "NE")
				}
			case "drop":
				if tp.hasQuery {
					target += "?" + tp.query
				} else {
					flags = append(flags, "QSD")
				}
			}
			target += tp.frag
			if strings.ContainsAny(tp.base+tp.query+tp.frag, "%#") && !slices.Contains(flags, "NE") {
				flags = append(flags, "NE")
				x.findings = append(x.findings, Finding{File: r.Source.File, Line: r.Source.Line,
					Message: fmt.Sprintf("rule %s: the target holds %% or #, so the rule is written with NE: captured text reaches the Location unescaped", r.ID)})
			}
		}
		if xr.ci {
			flags = append(flags, "NC")
		}
		flags = append(flags, "L")
		fmt.Fprintf(&b, "    # %s\n", r.Source)
		if r.Host != "" {
			fmt.Fprintf(&b, "    RewriteCond %%{HTTP_HOST} %s [NC]\n", apacheQuote(hostRegex(r.Host)))
		}
		if r.Scheme == "http" {
			b.WriteString("    RewriteCond %{HTTPS} !=on\n")
		}
		if len(r.Methods) > 0 {
			fmt.Fprintf(&b, "    RewriteCond %%{REQUEST_METHOD} ^(%s)$\n", strings.Join(answeredMethods(r), "|"))
		} else {
			b.WriteString("    RewriteCond %{REQUEST_METHOD} !=OPTIONS\n")
		}
		fmt.Fprintf(&b, "    RewriteRule %s %s [%s]\n", apacheQuote(xr.re), apacheQuote(target), strings.Join(flags, ","))
	}
	b.WriteString("</VirtualHost>\n")
	return []byte(b.String())
}

// apacheQuote quotes an argument that holds spaces or quotes.
func apacheQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
