package convert

import (
	"fmt"
	"strconv"
	"strings"
)

// caddy writes one site for plain HTTP whose route tries the rules in
// detour's order (host tiers, then precedence): each rule a named
// matcher (host, path regex, method) and a redir or a 410.
func (x *exporter) caddy(rules []*xrule) []byte {
	var b strings.Builder
	b.WriteString("# Written by detour export --to caddy.\n:80 {\n\troute {\n")
	if x.keepSlashes {
		x.findings = append(x.findings, Finding{Message: "Caddy matches the cleaned path, runs of slashes merged (/a//b is matched as /a/b); detour, without merge_slashes, does not"})
	}
	for i, xr := range byTier(x.plainScheme(rules)) {
		r := xr.r
		name := "r" + strconv.Itoa(i)
		var tp targetParts
		if r.Status != 410 {
			var ok bool
			tp, ok = x.render(xr, func(n int) string { return "{re." + name + "." + strconv.Itoa(n) + "}" }, func(p string) string {
				switch p {
				case "scheme", "host", "path", "query":
					return "{" + p + "}"
				}
				return ""
			})
			if !ok {
				continue
			}
		}
		matcher := func(suffix string, extra string) {
			fmt.Fprintf(&b, "\t\t# %s\n\t\t@%s%s {\n", r.Source, name, suffix)
			if r.Host != "" {
				fmt.Fprintf(&b, "\t\t\theader_regexp h%s Host %s\n", name, caddyQuote(hostRegex(r.Host)))
			}
			re := xr.re
			if xr.ci {
				re = "(?i)" + re
			}
			fmt.Fprintf(&b, "\t\t\tpath_regexp %s %s\n", name, caddyQuote(re))
			if len(r.Methods) > 0 {
				fmt.Fprintf(&b, "\t\t\tmethod %s\n", strings.Join(answeredMethods(r), " "))
			} else {
				b.WriteString("\t\t\tnot method OPTIONS\n")
			}
			if extra != "" {
				fmt.Fprintf(&b, "\t\t\t%s\n", extra)
			}
			b.WriteString("\t\t}\n")
		}
		if r.Status == 410 {
			matcher("", "")
			fmt.Fprintf(&b, "\t\trespond @%s 410\n", name)
			continue
		}
		code := strconv.Itoa(r.Status)
		own := tp.base
		if tp.hasQuery {
			own += "?" + tp.query
		}
		switch {
		case r.Query == "drop":
			matcher("", "")
			fmt.Fprintf(&b, "\t\tredir @%s %s %s\n", name, caddyQuote(own+tp.frag), code)
		default:
			with := own + "?{query}"
			if tp.hasQuery && r.Query != "replace" {
				with = own + "&{query}"
			}
			if r.Query == "replace" {
				with, own = tp.base+"?{query}", tp.base
			}
			matcher("q", `expression {query} != ""`)
			fmt.Fprintf(&b, "\t\tredir @%sq %s %s\n", name, caddyQuote(with+tp.frag), code)
			matcher("", "")
			fmt.Fprintf(&b, "\t\tredir @%s %s %s\n", name, caddyQuote(own+tp.frag), code)
		}
	}
	b.WriteString("\t}\n}\n")
	return []byte(b.String())
}

// caddyQuote writes s as a Caddyfile token: backquoted, which keeps
// backslashes and quotes as they are.
func caddyQuote(s string) string {
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
