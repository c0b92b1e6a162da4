package convert

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/detourhttp/detour"
)

// ApacheDirective is one line of Apache configuration, or a section
// (<VirtualHost …> … </VirtualHost>) with the directives inside.
type ApacheDirective struct {
	Name string
	Args []string
	// Block is non-nil for a section.
	Block []*ApacheDirective
	File  string
	Line  int
}

// ParseApache parses Apache configuration text: directives a line
// (a trailing backslash continues it), "#" comment lines, quoted
// arguments, <Section> blocks, and Include / IncludeOptional through fr
// (relative to the folder of name). The error wraps ErrSyntax.
func ParseApache(data []byte, name string, fr FileReader) ([]*ApacheDirective, error) {
	return parseApache(data, name, fr, filepath.Dir(name), 0)
}

func parseApache(data []byte, name string, fr FileReader, root string, depth int) ([]*ApacheDirective, error) {
	if err := checkText(data, name); err != nil {
		return nil, err
	}
	type frame struct {
		d   *ApacheDirective
		out []*ApacheDirective
	}
	stack := []frame{{}}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		text := strings.TrimRight(lines[i], "\r")
		for strings.HasSuffix(text, "\\") && i+1 < len(lines) {
			i++
			text = strings.TrimSuffix(text, "\\") + strings.TrimRight(lines[i], "\r")
		}
		text = strings.TrimSpace(text)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if strings.HasPrefix(text, "</") {
			tag := strings.TrimSuffix(strings.TrimPrefix(text, "</"), ">")
			top := stack[len(stack)-1]
			if top.d == nil || !strings.EqualFold(strings.TrimSpace(tag), top.d.Name) {
				return nil, &syntaxError{file: name, line: lineNo, msg: fmt.Sprintf("</%s> closes no open section", tag)}
			}
			top.d.Block = top.out
			if top.d.Block == nil {
				top.d.Block = []*ApacheDirective{}
			}
			stack = stack[:len(stack)-1]
			stack[len(stack)-1].out = append(stack[len(stack)-1].out, top.d)
			continue
		}
		section := false
		if strings.HasPrefix(text, "<") {
			if !strings.HasSuffix(text, ">") {
				return nil, &syntaxError{file: name, line: lineNo, msg: "a section line must end with \">\""}
			}
			text = strings.TrimSuffix(strings.TrimPrefix(text, "<"), ">")
			section = true
		}
		words, err := apacheWords(text)
		if err != nil {
			return nil, &syntaxError{file: name, line: lineNo, msg: err.Error()}
		}
		if len(words) == 0 {
			return nil, &syntaxError{file: name, line: lineNo, msg: "empty section"}
		}
		d := &ApacheDirective{Name: words[0], Args: words[1:], File: name, Line: lineNo}
		if section {
			stack = append(stack, frame{d: d})
			continue
		}
		if strings.EqualFold(d.Name, "Include") || strings.EqualFold(d.Name, "IncludeOptional") {
			inc, err := apacheInclude(d, fr, root, depth)
			if err != nil {
				return nil, err
			}
			stack[len(stack)-1].out = append(stack[len(stack)-1].out, inc...)
			continue
		}
		stack[len(stack)-1].out = append(stack[len(stack)-1].out, d)
	}
	if len(stack) > 1 {
		top := stack[len(stack)-1]
		return nil, &syntaxError{file: name, line: top.d.Line, msg: fmt.Sprintf("<%s> is not closed", top.d.Name)}
	}
	return stack[0].out, nil
}

func apacheInclude(d *ApacheDirective, fr FileReader, root string, depth int) ([]*ApacheDirective, error) {
	optional := strings.EqualFold(d.Name, "IncludeOptional")
	if len(d.Args) != 1 {
		return nil, &syntaxError{file: d.File, line: d.Line, msg: d.Name + " takes one path"}
	}
	if depth >= maxIncludeDepth {
		return nil, &syntaxError{file: d.File, line: d.Line, msg: fmt.Sprintf("includes nest deeper than %d (an include loop?)", maxIncludeDepth)}
	}
	pat := d.Args[0]
	if !filepath.IsAbs(pat) {
		pat = filepath.Join(root, pat)
	}
	var names []string
	if strings.ContainsAny(pat, "*?[") {
		names, _ = fr.glob(pat)
		slices.Sort(names)
	} else {
		names = []string{pat}
	}
	var out []*ApacheDirective
	for _, n := range names {
		data, err := fr.readFile(n)
		if err != nil {
			if optional {
				continue
			}
			return nil, &syntaxError{file: d.File, line: d.Line, msg: fmt.Sprintf("include: %v", err)}
		}
		ds, err := parseApache(data, n, fr, root, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	return out, nil
}

// apacheWords splits a directive line into words: double or single
// quotes group, a backslash escapes a quote inside them.
func apacheWords(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '"' || s[i] == '\'' {
			q := s[i]
			i++
			var b strings.Builder
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated quoted argument")
				}
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == q || s[i+1] == '\\') {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == q {
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			out = append(out, b.String())
			continue
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		out = append(out, s[i:j])
		i = j
	}
	return out, nil
}

// ImportApache reads the Apache configuration file name (server config,
// a virtual host, or an .htaccess file when its name ends in .htaccess)
// and converts its redirects: mod_rewrite rules first, as Apache runs
// them before mod_alias, then Redirect directives, each in file order
// (order: first-match).
func ImportApache(name string, fr FileReader) (*Result, error) {
	data, err := fr.readFile(name)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	ds, err := ParseApache(data, name, fr)
	if err != nil {
		return nil, err
	}
	im := &apacheImporter{htaccess: strings.HasSuffix(name, ".htaccess")}
	doc := &Doc{Header: "Imported from Apache configuration " + filepath.Base(name) + " by detour import.\n" +
		"Apache runs mod_rewrite before mod_alias: RewriteRules come first, then Redirects, in file order.",
		FirstMatch: true, MergeSlashes: !mergeSlashesOff(ds)}
	im.top(ds, doc)
	im.findings = append(im.findings, doc.check()...)
	relOrigins(doc, filepath.Dir(name))
	return &Result{YAML: Emit(doc), Findings: im.findings}, nil
}

// mergeSlashesOff reports whether the configuration says MergeSlashes
// Off (Apache merges runs of slashes by default).
func mergeSlashesOff(ds []*ApacheDirective) bool {
	for _, d := range ds {
		if strings.EqualFold(d.Name, "MergeSlashes") && len(d.Args) == 1 && strings.EqualFold(d.Args[0], "off") {
			return true
		}
		if d.Block != nil && mergeSlashesOff(d.Block) {
			return true
		}
	}
	return false
}

type apacheImporter struct {
	htaccess bool
	findings Findings
}

// apacheScope is the server config, one virtual host, or one
// per-directory context (a <Directory> section or an .htaccess file).
type apacheScope struct {
	d         *ApacheDirective
	hosts     []string
	engine    bool
	rewrites  []*ApacheDirective // RewriteCond and RewriteRule, in order
	redirects []*ApacheDirective
	base      string // RewriteBase
	docroot   string // DocumentRoot
	// dir is the URL path of a per-directory context ("/", "/blog/"):
	// its RewriteRule patterns see the path below it. Empty for server
	// contexts.
	dir string
	// physical is a <Directory> section's folder.
	physical string
	dirs     []*apacheScope
}

func (im *apacheImporter) lost(d *ApacheDirective, format string, args ...any) {
	im.findings = append(im.findings, Finding{File: d.File, Line: d.Line, Lost: true, Message: fmt.Sprintf(format, args...)})
}

func (im *apacheImporter) note(d *ApacheDirective, format string, args ...any) {
	im.findings = append(im.findings, Finding{File: d.File, Line: d.Line, Message: fmt.Sprintf(format, args...)})
}

func (im *apacheImporter) top(ds []*ApacheDirective, doc *Doc) {
	main := &apacheScope{}
	if im.htaccess {
		main.dir = "/"
	}
	var vhosts []*apacheScope
	im.collect(ds, main, &vhosts)
	if len(vhosts) == 0 {
		im.scopeRules(doc, main, "")
		return
	}
	for i, v := range vhosts {
		v.redirects = append(v.redirects, main.redirects...)
		if len(v.hosts) == 0 {
			im.scopeRules(doc, v, "")
			continue
		}
		if i == 0 && len(vhosts) > 1 {
			im.note(v.d, "the first virtual host is Apache's default for hosts no ServerName names; detour answers only its names")
		}
		for j, h := range v.hosts {
			if j == 0 {
				im.scopeRules(doc, v, h)
			} else {
				quiet := &apacheImporter{htaccess: im.htaccess}
				quiet.scopeRules(doc, v, h)
			}
		}
	}
	if len(main.rewrites) > 0 {
		im.lost(main.rewrites[0], "RewriteRules of the main server are not inherited by virtual hosts (no RewriteOptions Inherit); left out")
	}
}

// collect sorts directives into the main scope and virtual hosts.
func (im *apacheImporter) collect(ds []*ApacheDirective, sc *apacheScope, vhosts *[]*apacheScope) {
	for _, d := range ds {
		switch strings.ToLower(d.Name) {
		case "virtualhost":
			if sc.d != nil {
				im.lost(d, "nested <VirtualHost>")
				continue
			}
			v := &apacheScope{d: d}
			im.collect(d.Block, v, nil)
			*vhosts = append(*vhosts, v)
		case "ifmodule", "ifdefine", "ifversion":
			im.collect(d.Block, sc, vhosts)
		case "documentroot":
			if len(d.Args) == 1 {
				sc.docroot = filepath.Clean(d.Args[0])
			}
		case "directory":
			if !containsRedirects(d.Block) {
				continue
			}
			if len(d.Args) != 1 || sc.dir != "" || strings.HasPrefix(d.Args[0], "~") {
				im.lost(d, "<Directory %s>: redirects inside it are not supported", strings.Join(d.Args, " "))
				continue
			}
			dir := &apacheScope{d: d, physical: filepath.Clean(d.Args[0])}
			im.collect(d.Block, dir, nil)
			sc.dirs = append(sc.dirs, dir)
		case "servername":
			if len(d.Args) == 1 && sc.d != nil {
				sc.hosts = append(sc.hosts, hostOnly(d.Args[0]))
			}
		case "serveralias":
			if sc.d == nil {
				continue
			}
			for _, a := range d.Args {
				a = strings.ToLower(a)
				switch {
				case strings.HasPrefix(a, "*.") && !strings.Contains(a[2:], "*") && !strings.Contains(a, "?"):
					sc.hosts = append(sc.hosts, a)
				case strings.ContainsAny(a, "*?"):
					im.lost(d, "ServerAlias %s: detour wildcards are *.example.com only", a)
				default:
					sc.hosts = append(sc.hosts, a)
				}
			}
		case "rewriteengine":
			sc.engine = len(d.Args) == 1 && strings.EqualFold(d.Args[0], "on")
		case "rewritebase":
			if len(d.Args) == 1 {
				sc.base = d.Args[0]
			}
		case "rewritecond", "rewriterule":
			sc.rewrites = append(sc.rewrites, d)
		case "redirect", "redirecttemp", "redirectpermanent", "redirectmatch":
			sc.redirects = append(sc.redirects, d)
		case "rewriteoptions", "rewritemap":
			im.lost(d, "%s is not supported", d.Name)
		default:
			if d.Block != nil && containsRedirects(d.Block) {
				im.lost(d, "<%s %s>: redirects inside it are not supported", d.Name, strings.Join(d.Args, " "))
			}
		}
	}
}

func containsRedirects(ds []*ApacheDirective) bool {
	for _, d := range ds {
		switch strings.ToLower(d.Name) {
		case "rewriterule", "redirect", "redirecttemp", "redirectpermanent", "redirectmatch":
			return true
		}
		if d.Block != nil && containsRedirects(d.Block) {
			return true
		}
	}
	return false
}

// hostOnly drops a scheme and port from a ServerName.
func hostOnly(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.Contains(s[i:], "]") {
		s = s[:i]
	}
	return strings.ToLower(s)
}

func (im *apacheImporter) scopeRules(doc *Doc, sc *apacheScope, host string) {
	var conds []*ApacheDirective
	for _, d := range sc.rewrites {
		if strings.EqualFold(d.Name, "RewriteCond") {
			conds = append(conds, d)
			continue
		}
		if !sc.engine {
			im.lost(d, "RewriteRule while RewriteEngine is not On does nothing in Apache; left out")
			conds = nil
			continue
		}
		im.rewriteRule(doc, sc, d, conds, host)
		conds = nil
	}
	for _, d := range sc.redirects {
		im.redirect(doc, d, host)
	}
	// Per-directory rules run later (in Apache's fixup phase), after
	// the server's rewrites and redirects.
	for _, dir := range sc.dirs {
		rel, err := filepath.Rel(sc.docroot, dir.physical)
		if sc.docroot == "" || err != nil || !filepath.IsLocal(rel) && rel != "." {
			im.lost(dir.d, "<Directory %s> is not the DocumentRoot (%s) or below it; its URL path is unknown", dir.physical, sc.docroot)
			continue
		}
		dir.dir = "/"
		if rel != "." {
			dir.dir = "/" + filepath.ToSlash(rel) + "/"
		}
		im.scopeRules(doc, dir, host)
	}
}

// apacheStatus reads a Redirect status word or number.
func apacheStatus(s string) (int, bool) {
	switch strings.ToLower(s) {
	case "permanent":
		return 301, true
	case "temp":
		return 302, true
	case "seeother":
		return 303, true
	case "gone":
		return 410, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, false
	}
	return n, true
}

// redirect converts a mod_alias directive. Redirect matches a path
// prefix at segment boundaries and carries the rest of the path over;
// RedirectMatch is a regex search over the path. Both pass the request's
// query on when the target has none.
func (im *apacheImporter) redirect(doc *Doc, d *ApacheDirective, host string) {
	args := d.Args
	status := 302
	switch strings.ToLower(d.Name) {
	case "redirecttemp":
		status = 302
	case "redirectpermanent":
		status = 301
	default:
		if len(args) > 0 {
			if n, ok := apacheStatus(args[0]); ok && !strings.HasPrefix(args[0], "/") {
				status = n
				args = args[1:]
			}
		}
	}
	if !detour.ValidStatus(status) {
		im.lost(d, "status %d is not a redirect detour can send", status)
		return
	}
	want := 2
	if status == 410 {
		want = 1
	}
	if len(args) != want {
		im.lost(d, "%s: expected %d arguments after the status", d.Name, want)
		return
	}
	path, to := args[0], ""
	if want == 2 {
		to = args[1]
	}
	if strings.ContainsAny(to, "{}") {
		im.lost(d, "target %q: braces cannot be expressed (detour reads {…} as a placeholder)", to)
		return
	}
	query := detour.QueryPreserve
	if strings.Contains(to, "?") {
		query = detour.QueryDrop
	}
	o := origin(d.File, d.Line)
	if strings.EqualFold(d.Name, "RedirectMatch") {
		if _, err := regexp.Compile(path); err != nil {
			im.lost(d, "regex %q is not valid RE2 (Go) syntax: %v", path, err)
			return
		}
		if strings.Contains(to, "$0") || strings.Contains(to, "\\$") {
			im.lost(d, "target %q: $0 and escaped $ cannot be expressed", to)
			return
		}
		doc.Rules = append(doc.Rules, Rule{Origin: o, Host: host, From: "~" + path, To: to, Status: status, Query: query})
		return
	}
	if !strings.HasPrefix(path, "/") {
		im.lost(d, "URL-path %q must begin with /", path)
		return
	}
	switch {
	case path == "/":
		doc.Rules = append(doc.Rules, Rule{Origin: o, Host: host, From: "/*", To: joinSplat(to, status, ":splat"), Status: status, Query: query})
	case strings.HasSuffix(path, "/") || !literalOK(path):
		re := "^" + regexp.QuoteMeta(path)
		if !strings.HasSuffix(path, "/") {
			re += "(/.*)?$"
		} else {
			re += "(.*)$"
		}
		doc.Rules = append(doc.Rules, Rule{Origin: o, Host: host, From: "~" + re, To: joinSplat(to, status, "$1"), Status: status, Query: query})
	default:
		if strings.Contains(to, "?") {
			im.note(d, "Apache appends the rest of the path after the target's query (%s/rest); detour puts it in the path, before the query", to)
		}
		doc.Rules = append(doc.Rules,
			Rule{Origin: o, Host: host, From: path, To: to, Status: status, Query: query},
			Rule{Origin: o, Host: host, From: path + "/*", To: joinSplat(to, status, "/:splat"), Status: status, Query: query})
	}
}

// joinSplat appends the carried rest of the path to a Redirect target,
// before the target's own query.
func joinSplat(to string, status int, rest string) string {
	if status == 410 {
		return ""
	}
	base, q, hasQ := strings.Cut(to, "?")
	if hasQ {
		return base + rest + "?" + q
	}
	return base + rest
}

// rewriteRule converts a RewriteRule with its RewriteConds.
func (im *apacheImporter) rewriteRule(doc *Doc, sc *apacheScope, d *ApacheDirective, conds []*ApacheDirective, host string) {
	if len(d.Args) < 2 || len(d.Args) > 3 {
		im.lost(d, "RewriteRule takes a pattern, a substitution and flags")
		return
	}
	pat, subst := d.Args[0], d.Args[1]
	flags := map[string]string{}
	if len(d.Args) == 3 {
		f := strings.TrimSuffix(strings.TrimPrefix(d.Args[2], "["), "]")
		for _, x := range strings.Split(f, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(x), "=")
			flags[strings.ToUpper(k)] = v
		}
	}
	status := 0
	for k, v := range flags {
		switch k {
		case "R", "REDIRECT":
			status = 302
			if v != "" {
				if n, ok := apacheStatus(v); ok {
					status = n
				} else {
					im.lost(d, "R=%s is not a status", v)
					return
				}
			}
		case "G", "GONE":
			status = 410
		case "L", "LAST", "END", "NC", "NOCASE", "QSA", "QSAPPEND", "QSD", "QSDISCARD", "NE", "NOESCAPE":
		default:
			im.lost(d, "flag %s cannot be expressed", k)
			return
		}
	}
	if status == 0 {
		if strings.HasPrefix(subst, "http://") || strings.HasPrefix(subst, "https://") {
			status = 302
		} else {
			im.lost(d, "RewriteRule without R rewrites inside Apache (no redirect); detour cannot express it")
			return
		}
	}
	if !detour.ValidStatus(status) {
		im.lost(d, "status %d is not a redirect detour can send", status)
		return
	}
	if _, ok := flags["L"]; !ok && status != 410 {
		if _, ok := flags["END"]; !ok {
			if _, ok := flags["LAST"]; !ok {
				im.note(d, "R without L: Apache goes on with later rules on the redirected URL; detour stops at this rule")
			}
		}
	}
	r := Rule{Origin: origin(d.File, d.Line), Host: host, Status: status}
	// Conditions.
	for _, c := range conds {
		if !im.condition(c, &r) {
			return
		}
	}
	if strings.HasPrefix(pat, "!") {
		im.lost(d, "a negated pattern cannot be expressed")
		return
	}
	if _, err := regexp.Compile(pat); err != nil {
		im.lost(d, "pattern %q is not valid RE2 (Go) syntax: %v", pat, err)
		return
	}
	if sc.dir != "" {
		// Per-directory: the pattern sees the path below the
		// directory, without its leading slash.
		if strings.HasPrefix(pat, "^") {
			pat = "^" + regexp.QuoteMeta(sc.dir) + pat[1:]
		} else {
			pat = "^" + regexp.QuoteMeta(sc.dir) + ".*?(?:" + pat + ")"
		}
	}
	r.From = "~" + pat
	if _, ok := flags["NC"]; ok {
		r.From = "~*" + pat
	} else if _, ok := flags["NOCASE"]; ok {
		r.From = "~*" + pat
	}
	if status == 410 {
		doc.Rules = append(doc.Rules, r)
		return
	}
	if subst == "-" {
		im.lost(d, "substitution - with R redirects to the same URL; not expressed")
		return
	}
	to, ok := im.apacheTarget(d, subst, r.Host)
	if !ok {
		return
	}
	if sc.dir != "" && !strings.HasPrefix(to, "/") && !strings.Contains(to, "://") {
		base := sc.base
		if base == "" {
			base = sc.dir
			im.note(d, "relative substitution without RewriteBase: Apache puts the directory's file-system path in the Location; detour uses %s", sc.dir)
		}
		to = strings.TrimSuffix(base, "/") + "/" + to
	}
	_, qsa := flags["QSA"]
	if _, ok := flags["QSAPPEND"]; ok {
		qsa = true
	}
	_, qsd := flags["QSD"]
	if _, ok := flags["QSDISCARD"]; ok {
		qsd = true
	}
	switch {
	case strings.HasSuffix(to, "?"):
		to = strings.TrimSuffix(to, "?")
		r.Query = detour.QueryDrop
	case qsd:
		r.Query = detour.QueryDrop
	case strings.Contains(to, "?") && !qsa:
		r.Query = detour.QueryDrop
	default:
		r.Query = detour.QueryPreserve
	}
	if base, _, ok := strings.Cut(to, "#"); ok && r.Query != detour.QueryDrop && !strings.Contains(base, "?") {
		im.note(d, "Apache appends the request's query after the #fragment (…#frag?query), where a browser reads it as part of the fragment; detour puts it before the fragment")
	}
	if _, ne := flags["NE"]; qsa && !ne && r.Query == detour.QueryPreserve && strings.Contains(to, "?") {
		im.note(d, "QSA without NE: Apache escapes the appended query again (%%20 becomes %%2520); detour passes it on as the client sent it")
	}
	r.To = to
	if needsInlinePath(r.To) {
		var ok bool
		if r.From, r.To, ok = inlinePath(r.From, r.To); !ok {
			im.lost(d, "substitution %q: the request path after a fixed host cannot be expressed for this pattern", subst)
			return
		}
	}
	doc.Rules = append(doc.Rules, r)
}

// condition applies one RewriteCond to r: %{HTTP_HOST} equal to a name,
// %{HTTPS} on/off. It reports false (and a finding) for anything else.
func (im *apacheImporter) condition(c *ApacheDirective, r *Rule) bool {
	if len(c.Args) < 2 {
		im.lost(c, "RewriteCond takes a test string and a pattern")
		return false
	}
	if len(c.Args) == 3 {
		f := strings.ToUpper(c.Args[2])
		if strings.Contains(f, "OR") {
			im.lost(c, "RewriteCond [OR] cannot be expressed; the rule is left out")
			return false
		}
	}
	test, pat := c.Args[0], c.Args[1]
	switch strings.ToUpper(test) {
	case "%{HTTP_HOST}", "%{SERVER_NAME}":
		h, ok := literalHost(pat)
		if !ok {
			im.lost(c, "RewriteCond %s %s: only a literal host (^www\\.example\\.com$) can be expressed; the rule is left out", test, pat)
			return false
		}
		if r.Host != "" && r.Host != h {
			return false // never true in this virtual host
		}
		r.Host = h
		return true
	case "%{HTTPS}":
		switch strings.ToLower(pat) {
		case "off", "!on", "^off$", "!^on$", "=off", "!=on":
			r.Scheme = "http"
		case "on", "!off", "^on$", "!^off$", "=on", "!=off":
			r.Scheme = "https"
		default:
			im.lost(c, "RewriteCond %%{HTTPS} %s cannot be expressed; the rule is left out", pat)
			return false
		}
		return true
	case "%{REQUEST_METHOD}":
		p := strings.TrimPrefix(pat, "=")
		if strings.HasPrefix(p, "^") && strings.HasSuffix(p, "$") && !strings.HasPrefix(p, "^(") {
			p = "^(" + p[1:len(p)-1] + ")$"
		}
		ms := methodList("~", p)
		if ms == nil {
			ms = methodList("=", p)
		}
		if ms != nil {
			r.Methods = ms
			return true
		}
	case "%{REQUEST_SCHEME}":
		switch strings.ToLower(strings.Trim(pat, "^$")) {
		case "http", "https":
			r.Scheme = strings.ToLower(strings.Trim(pat, "^$"))
			return true
		}
	}
	im.lost(c, "RewriteCond %s %s cannot be expressed; the rule is left out", test, pat)
	return false
}

// literalHost reads a host regex that names one host: ^www\.example\.com$.
func literalHost(p string) (string, bool) {
	p = strings.TrimPrefix(p, "=")
	p = strings.TrimSuffix(strings.TrimPrefix(p, "^"), "$")
	p = strings.ReplaceAll(p, `\.`, ".")
	p = strings.TrimSuffix(p, ":80")
	if p == "" || strings.ContainsAny(p, `\^$*+?()[]{}|!`) {
		return "", false
	}
	return strings.ToLower(p), true
}

// apacheTarget converts a substitution: $N back-references stay,
// %{HTTP_HOST} becomes {host}, %{REQUEST_URI} {path}.
func (im *apacheImporter) apacheTarget(d *ApacheDirective, s, host string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' || c == '}':
			im.lost(d, "substitution %q: braces cannot be expressed", s)
			return "", false
		case c == '\\' && i+1 < len(s):
			b.WriteByte(s[i+1])
			i++
		case c == '%' && i+1 < len(s) && s[i+1] == '{':
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				im.lost(d, "substitution %q: unclosed %%{", s)
				return "", false
			}
			v := strings.ToUpper(s[i+2 : i+j])
			i += j
			switch v {
			case "HTTP_HOST", "SERVER_NAME":
				if host == "" {
					im.lost(d, "substitution %q: %%{%s} needs a host (ServerName or a RewriteCond on %%{HTTP_HOST})", s, v)
					return "", false
				}
				b.WriteString("{host}")
			case "REQUEST_URI":
				b.WriteString("{path}")
			default:
				im.lost(d, "substitution %q: %%{%s} cannot be expressed", s, v)
				return "", false
			}
		case c == '%' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			im.lost(d, "substitution %q: RewriteCond back-references (%%N) cannot be expressed", s)
			return "", false
		case c == '$' && i+1 < len(s) && s[i+1] == '0':
			im.lost(d, "substitution %q: $0 cannot be expressed", s)
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}
