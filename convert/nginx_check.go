package convert

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
)

// selfCheck compares, on sample paths of every location and rewrite of
// server s, the directive nginx's own processing picks with the rule
// detour's precedence picks among the rules converted from s for host,
// and reports each disagreement: a precedence the priorities could not
// reproduce, or a location that serves content where detour redirects.
func (im *nginxImporter) selfCheck(s *nginxServer, rules []Rule, host string) {
	if len(rules) == 0 {
		return
	}
	drs := make([]detour.Rule, len(rules))
	for i, r := range rules {
		drs[i] = detour.Rule{ID: "r" + strconv.Itoa(i), Host: r.Host, Scheme: r.Scheme, From: r.From, To: r.To,
			Status: r.Status, Query: r.Query, Priority: r.Priority, CaseInsensitive: r.CaseInsensitive,
			Source: detour.Source{Line: i + 1, Seq: i}}
		if drs[i].Status == 0 {
			drs[i].Status = detour.DefaultStatus
		}
	}
	t, ds := match.Compile(drs, nil, match.Options{})
	if t == nil {
		im.findings = append(im.findings, Finding{File: s.d.File, Line: s.d.Line, Lost: true,
			Message: fmt.Sprintf("the converted rules of this server do not compile: %v", ds.Errors())})
		return
	}
	reqHost := strings.Replace(host, "*.", "sub.", 1)
	scheme := "http"
	if !s.schemes["http"] {
		scheme = "https"
	}
	seen := make(map[string]bool)
	for _, p := range im.samplePaths(s, drs) {
		want, wline, loc := im.nginxPick(s, p, reqHost, scheme)
		var m match.Match
		req := detour.Request{Method: "GET", Scheme: scheme, Host: reqHost, Path: p}
		got := ""
		gline := 0
		if t.Lookup(&req, time.Time{}, &m) {
			k := m.Rule.Source.Line - 1
			got = rules[k].Origin
			_, after, _ := strings.Cut(got, ":")
			gline, _ = strconv.Atoi(after)
		}
		if want == got {
			continue
		}
		key := want + "|" + got
		if seen[key] {
			continue
		}
		seen[key] = true
		d := s.d
		switch {
		case wline > 0:
			d = &Directive{File: strings.SplitN(want, ":", 2)[0], Line: wline}
		case loc != nil:
			d = loc.d
		}
		switch {
		case want == "":
			im.lost(d, "nginx does not redirect requests such as %s (a location serves them, or none matches); detour would redirect them by the rule from line %d — detour has no pass-through rule", p, gline)
		case got == "":
			im.lost(d, "nginx redirects requests such as %s by line %d; the converted rules do not", p, wline)
		default:
			im.lost(d, "nginx answers requests such as %s by line %d, detour's precedence by line %d", p, wline, gline)
		}
	}
}

// samplePaths returns decoded paths that exercise s's locations and
// rules.
func (im *nginxImporter) samplePaths(s *nginxServer, drs []detour.Rule) []string {
	var out []string
	seen := make(map[string]bool)
	add := func(p string) {
		if p == "" || p[0] != '/' || seen[p] {
			return
		}
		seen[p] = true
		out = append(out, p)
	}
	addSamples := func(from string, ci bool) {
		ts, err := match.Samples(&detour.Rule{ID: "s", From: from, Status: 410, CaseInsensitive: ci}, 3)
		if err != nil {
			return
		}
		for _, x := range ts {
			x, _, _ = strings.Cut(x, "?")
			if p, err := detour.NormalizePath(x, false); err == nil {
				add(p)
			}
		}
	}
	add("/")
	for _, l := range s.locs {
		switch l.mod {
		case "=":
			add(l.path)
		case "", "^~":
			add(l.path)
			add(l.path + "x")
			add(l.path + "/x")
			add(strings.TrimSuffix(l.path, "/"))
		default:
			addSamples("~"+l.path, l.mod == "~*")
		}
	}
	for i := range drs {
		addSamples(drs[i].From, drs[i].CaseInsensitive)
	}
	for _, m := range im.maps {
		for i, e := range m.entries {
			if i >= 20 {
				break
			}
			add(e.Name)
		}
	}
	return out
}

// nginxPick runs nginx's processing of s for a GET of path and returns
// "file:line" of the directive that redirects (or answers 410) and its
// line, or "" when nginx serves content or answers 404; and the location
// nginx chose, if any.
func (im *nginxImporter) nginxPick(s *nginxServer, path, host, scheme string) (string, int, *nginxLocation) {
	for _, a := range s.actions {
		if o, ok := im.nginxRuns(a, path, host, scheme); ok {
			if o == "" {
				return "", 0, nil
			}
			return o, lineOf(o), nil
		}
	}
	l := nginxSelect(s, path)
	if l == nil {
		return "", 0, nil
	}
	for _, a := range l.actions {
		if o, ok := im.nginxRuns(a, path, host, scheme); ok {
			if o == "" {
				return "", 0, l
			}
			return o, lineOf(o), l
		}
	}
	return "", 0, l
}

func lineOf(o string) int {
	i := strings.LastIndexByte(o, ':')
	n, _ := strconv.Atoi(o[i+1:])
	return n
}

// nginxRuns reports whether directive a answers the request with a
// redirect or 410 (origin set), or with content ("", true).
func (im *nginxImporter) nginxRuns(a *Directive, path, host, scheme string) (string, bool) {
	switch a.Name {
	case "return":
		if len(a.Args) == 0 {
			return "", false
		}
		code, err := strconv.Atoi(a.Args[0])
		if err != nil || len(a.Args) == 2 && (code >= 301 && code <= 308 || code == 410) || len(a.Args) == 1 && code == 410 {
			return origin(a.File, a.Line), true
		}
		return "", true
	case "rewrite":
		if len(a.Args) < 2 {
			return "", false
		}
		rx, err := regexp.Compile(a.Args[0])
		if err != nil || !rx.MatchString(path) {
			return "", false
		}
		flag := ""
		if len(a.Args) == 3 {
			flag = a.Args[2]
		}
		repl := a.Args[1]
		if flag == "permanent" || flag == "redirect" || strings.HasPrefix(repl, "http://") || strings.HasPrefix(repl, "https://") || strings.HasPrefix(repl, "$scheme") {
			return origin(a.File, a.Line), true
		}
		return "", true // an internal rewrite: nginx goes on elsewhere
	case "if":
		cond := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.Join(a.Args, " "), "("), ")"))
		f := strings.Fields(cond)
		if len(a.Block) != 1 {
			return "", false
		}
		ok := false
		switch {
		case len(f) == 3 && (f[0] == "$host" || f[0] == "$http_host" || f[0] == "$server_name"):
			ok = compareHolds(f[1], strings.Trim(f[2], `"'`), host)
		case len(f) == 3 && f[0] == "$scheme":
			ok = compareHolds(f[1], strings.Trim(f[2], `"'`), scheme)
		case len(f) == 1 && strings.HasPrefix(f[0], "$"):
			m := im.maps[f[0][1:]]
			if m == nil {
				return "", false
			}
			e := mapEntry(m, path)
			if e == nil {
				return "", false
			}
			if o, ok := im.nginxRuns(a.Block[0], path, host, scheme); ok && o != "" {
				return origin(e.File, e.Line), true
			}
			return "", true
		}
		if ok {
			return im.nginxRuns(a.Block[0], path, host, scheme)
		}
	}
	return "", false
}

// compareHolds evaluates an nginx if comparison of s: =, !=, ~, ~*, !~,
// !~* (a regex RE2 cannot read never holds).
func compareHolds(op, val, s string) bool {
	switch op {
	case "=":
		return strings.EqualFold(val, s)
	case "!=":
		return !strings.EqualFold(val, s)
	}
	re := val
	if strings.HasSuffix(op, "*") {
		re = "(?i)" + re
	}
	rx, err := regexp.Compile(re)
	if err != nil {
		return false
	}
	return rx.MatchString(s) != strings.HasPrefix(op, "!")
}

// mapEntry looks path up in map m as nginx does — exact keys ignoring
// case, then regexes in order, then the default (m's own directive) —
// and returns the entry whose value is true, nil when the value is empty
// or "0".
func mapEntry(m *nginxMap, path string) *Directive {
	truthy := func(v string) bool { return v != "" && v != "0" }
	for _, e := range m.entries {
		if !strings.HasPrefix(e.Name, "~") && strings.EqualFold(e.Name, path) {
			if truthy(e.Args[0]) {
				return e
			}
			return nil
		}
	}
	for _, e := range m.entries {
		if re, ok := strings.CutPrefix(e.Name, "~"); ok {
			if r, ci := strings.CutPrefix(re, "*"); ci {
				re = "(?i)" + r
			}
			if rx, err := regexp.Compile(re); err == nil && rx.MatchString(path) {
				if truthy(e.Args[0]) {
					return e
				}
				return nil
			}
		}
	}
	if truthy(m.def) {
		return m.d
	}
	return nil
}

// nginxSelect picks the location nginx gives path: an exact match; the
// longest prefix if it is ^~; the first regex that matches; the longest
// prefix.
func nginxSelect(s *nginxServer, path string) *nginxLocation {
	var longest *nginxLocation
	for _, l := range s.locs {
		switch l.mod {
		case "=":
			if l.path == path {
				return l
			}
		case "", "^~":
			if strings.HasPrefix(path, l.path) && (longest == nil || len(l.path) > len(longest.path)) {
				longest = l
			}
		}
	}
	if longest != nil && longest.mod == "^~" {
		return longest
	}
	for _, l := range s.locs {
		if l.mod != "~" && l.mod != "~*" {
			continue
		}
		re := l.path
		if l.mod == "~*" {
			re = "(?i)" + re
		}
		if rx, err := regexp.Compile(re); err == nil && rx.MatchString(path) {
			return l
		}
	}
	return longest
}
