package convert

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/detourhttp/detour"
)

// Priorities that reproduce nginx's request processing in detour's
// precedence (SPEC §1.2). The server's own rewrite directives run before
// a location is chosen, in file order; then the location: an exact "="
// location; the longest prefix if it is "^~"; regex locations in file
// order; the longest prefix. Prefix locations get a priority that grows
// with the length of their path, so the longest wins whatever detour's
// specificity would say; within a location its rewrites come before its
// return.
const (
	prioServer  = 900_000 // minus the directive's place in the server
	prioExact   = 600_000
	prioNoRegex = 300_000 // ^~, plus 100 × the path's length
	prioRegex   = 200_000
	prioPrefix  = 0 // plus 100 × the path's length
	// prioPerByte spaces prefix locations by path length; a location's
	// rewrites sit in the 99 priorities above its return.
	prioPerByte = 100
	// maxPrefixLen keeps the prefix bands apart.
	maxPrefixLen = 999
)

// ImportNginx reads the nginx configuration file name (and what it
// includes) and converts its redirects. The error wraps ErrSyntax when the
// configuration cannot be parsed, or is a read error.
func ImportNginx(name string, fr FileReader) (*Result, error) {
	data, err := fr.readFile(name)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return importNginxData(data, name, fr)
}

func importNginxData(data []byte, name string, fr FileReader) (*Result, error) {
	ds, fs, err := ParseNginx(data, name, fr)
	if err != nil {
		return nil, err
	}
	im := &nginxImporter{file: filepath.Base(name), findings: fs, maps: make(map[string]*nginxMap), merge: true,
		mapTables: make(map[string]*mapTable)}
	im.top(ds)
	doc := &Doc{MergeSlashes: im.merge, Header: "Imported from nginx configuration " + filepath.Base(name) + " by detour import.\n" +
		"Priorities reproduce nginx's order: server rewrites, = locations, ^~, regex locations, prefixes."}
	im.convert(doc)
	im.emitTables(doc)
	im.findings = append(im.findings, doc.check()...)
	relOrigins(doc, filepath.Dir(name))
	return &Result{YAML: Emit(doc), Tables: im.tables, Findings: im.findings}, nil
}

type nginxImporter struct {
	file     string
	findings Findings
	servers  []*nginxServer
	maps     map[string]*nginxMap
	tables   []TableFile
	// rowRules are the rows of tables as exact rules, for selfCheck.
	rowRules []Rule
	// merge is nginx's merge_slashes (on unless the configuration says
	// off).
	merge bool
	// mapTables gathers the rows of each map's table, in mapOrder.
	mapTables map[string]*mapTable
	mapOrder  []string
}

// nginxServer is one server block.
type nginxServer struct {
	d       *Directive
	hosts   []string // exact or *.wildcard; empty: any host
	anyHost bool     // no server_name, "_" or default_server: host-less rules
	schemes map[string]bool
	actions []*Directive // rewrite-module directives of the server level
	locs    []*nginxLocation
}

type nginxLocation struct {
	d        *Directive
	mod      string // "=", "^~", "~", "~*", ""
	path     string
	actions  []*Directive
	contents bool // serves content (a directive other than rewrite-module ones)
}

// nginxMap is a map block.
type nginxMap struct {
	d       *Directive
	source  string
	entries []*Directive
	def     string
}

func (im *nginxImporter) lost(d *Directive, format string, args ...any) {
	im.findings = append(im.findings, Finding{File: d.File, Line: d.Line, Lost: true, Message: fmt.Sprintf(format, args...)})
}

func (im *nginxImporter) note(d *Directive, format string, args ...any) {
	im.findings = append(im.findings, Finding{File: d.File, Line: d.Line, Message: fmt.Sprintf(format, args...)})
}

// top reads the top level: a whole nginx.conf (http block), the inside
// of an http block (server and map blocks), or the inside of a server
// block.
func (im *nginxImporter) top(ds []*Directive) {
	var loose []*Directive
	for _, d := range ds {
		switch d.Name {
		case "http":
			im.top(d.Block)
		case "events", "stream", "mail", "user", "worker_processes", "pid", "error_log", "load_module",
			"worker_rlimit_nofile", "pcre_jit", "daemon", "master_process", "env":
		case "server":
			im.server(d)
		case "merge_slashes":
			im.mergeSlashes(d)
		case "map":
			im.mapBlock(d)
		case "location", "return", "rewrite", "if", "listen", "server_name", "set":
			loose = append(loose, d)
		default:
			// http-level settings (sendfile, log formats, upstreams…) say
			// nothing about redirects.
			if d.Block != nil && d.Name != "upstream" && d.Name != "types" && d.Name != "geo" && d.Name != "split_clients" {
				im.lost(d, "%s block is not understood", d.Name)
			}
		}
	}
	if len(loose) > 0 {
		im.server(&Directive{Name: "server", Block: loose, File: loose[0].File, Line: loose[0].Line})
	}
}

// mergeSlashes reads merge_slashes; detour's applies to the whole rule
// set, so a server that differs from the rest is reported.
func (im *nginxImporter) mergeSlashes(d *Directive) {
	on := len(d.Args) == 1 && d.Args[0] == "on"
	if len(im.servers) > 0 && on != im.merge {
		im.lost(d, "merge_slashes differs between servers; detour's merge_slashes applies to the whole rule set (%v)", im.merge)
		return
	}
	im.merge = on
}

func (im *nginxImporter) mapBlock(d *Directive) {
	if len(d.Args) != 2 {
		im.lost(d, "map takes a source and a variable")
		return
	}
	m := &nginxMap{d: d, source: d.Args[0]}
	defer func() { im.maps[strings.TrimPrefix(d.Args[1], "$")] = m }()
	for _, e := range d.Block {
		switch {
		case e.Name == "hostnames" || e.Name == "volatile":
			im.lost(e, "map %s is not supported", e.Name)
		case e.Name == "default" && len(e.Args) == 1:
			m.def = e.Args[0]
		case len(e.Args) == 1:
			m.entries = append(m.entries, e)
		default:
			im.lost(e, "map entry %q is not a key and a value", e.Name)
		}
	}
}

func (im *nginxImporter) server(d *Directive) {
	s := &nginxServer{d: d, schemes: make(map[string]bool)}
	named := false
	for _, x := range d.Block {
		switch x.Name {
		case "listen":
			ssl, def := false, false
			for i, a := range x.Args {
				if a == "ssl" || a == "quic" || i == 0 && (a == "443" || strings.HasSuffix(a, ":443")) {
					ssl = true
				}
				if a == "default_server" || a == "default" {
					def = true
				}
			}
			if ssl {
				s.schemes["https"] = true
			} else {
				s.schemes["http"] = true
			}
			if def {
				s.anyHost = true
			}
		case "server_name":
			for _, n := range x.Args {
				named = true
				switch {
				case n == "_" || n == "" || n == "localhost":
					s.anyHost = true
				case strings.HasPrefix(n, "~"):
					im.lost(x, "server_name %s is a regular expression; detour hosts are exact or *.wildcards", n)
				case strings.HasPrefix(n, "."):
					s.hosts = append(s.hosts, n[1:], "*"+n)
				case strings.HasPrefix(n, "*."):
					s.hosts = append(s.hosts, n)
				case strings.Contains(n, "*"):
					im.lost(x, "server_name %s: detour wildcards are *.example.com only", n)
				default:
					s.hosts = append(s.hosts, n)
				}
			}
		case "merge_slashes":
			im.mergeSlashes(x)
		case "location":
			im.location(s, x, "")
		case "return", "rewrite", "if", "set", "break":
			s.actions = append(s.actions, x)
		}
	}
	if !named {
		s.anyHost = true
	}
	if len(s.schemes) == 0 {
		s.schemes["http"] = true
	}
	if s.anyHost && len(s.hosts) > 0 {
		im.note(d, "this server is also the default: detour answers other hosts with its rules only where no named server's rule matches")
	}
	if !s.anyHost && len(im.servers) == 0 {
		im.note(d, "nginx sends requests for hosts no server_name names to the first server; detour answers them only with host-less rules")
	}
	im.servers = append(im.servers, s)
}

func (im *nginxImporter) location(s *nginxServer, d *Directive, parent string) {
	if parent != "" {
		im.lost(d, "nested location inside %s is not supported", parent)
		return
	}
	l := &nginxLocation{d: d}
	switch len(d.Args) {
	case 1:
		l.path = d.Args[0]
		if strings.HasPrefix(l.path, "=") && len(l.path) > 1 {
			l.mod, l.path = "=", l.path[1:]
		} else if strings.HasPrefix(l.path, "@") {
			return // a named location is reached only internally
		}
	case 2:
		l.mod, l.path = d.Args[0], d.Args[1]
	default:
		im.lost(d, "location takes a modifier and a path")
		return
	}
	switch l.mod {
	case "", "=", "^~", "~", "~*":
	default:
		im.lost(d, "location modifier %q is not understood", l.mod)
		return
	}
	for _, x := range d.Block {
		switch x.Name {
		case "return", "rewrite", "if", "set", "break":
			l.actions = append(l.actions, x)
		case "location":
			im.location(s, x, "location "+l.path)
		case "add_header", "expires", "access_log", "error_log", "log_not_found", "etag", "charset":
			// headers and logging of what the location serves
		default:
			l.contents = true
		}
	}
	s.locs = append(s.locs, l)
}

// convert turns the servers into rules.
func (im *nginxImporter) convert(doc *Doc) {
	// Scheme matters only for a host served by servers that differ by
	// scheme.
	schemesOf := make(map[string]map[string]bool)
	for _, s := range im.servers {
		for _, h := range serverHosts(s) {
			if schemesOf[h] == nil {
				schemesOf[h] = make(map[string]bool)
			}
			for sc := range s.schemes {
				schemesOf[h][sc] = true
			}
		}
	}
	for _, s := range im.servers {
		for _, h := range serverHosts(s) {
			scheme := ""
			if len(schemesOf[h]) > 1 && len(s.schemes) == 1 {
				for sc := range s.schemes {
					scheme = sc
				}
			}
			first, firstRow := len(doc.Rules), len(im.rowRules)
			im.serverRules(doc, s, h, scheme)
			if h == serverHosts(s)[0] {
				check := append(append([]Rule(nil), doc.Rules[first:]...), im.rowRules[firstRow:]...)
				im.selfCheck(s, check, h)
			}
		}
	}
}

// serverHosts lists the host matchers a server's rules get: its names,
// and "" (any host) for a default server.
func serverHosts(s *nginxServer) []string {
	hs := append([]string(nil), s.hosts...)
	if s.anyHost || len(hs) == 0 {
		hs = append(hs, "")
	}
	return hs
}

// emitCtx is what a directive's rules share.
type emitCtx struct {
	host, scheme string
	// fixedScheme is the scheme every request of the server has, "" when
	// it listens to both.
	fixedScheme string
	from        string
	ci          bool
	priority    int
	// ncap is the number of captures from offers ($1…).
	ncap int
	// exactPath is the path of an exact location: rewrites are evaluated
	// on it at import.
	exactPath string
	// alone is true when the directive is the server's only rewrite-module
	// directive: nothing competes with a table's rows (priority 0).
	alone bool
	// report is true for the server's first host: the rules of its other
	// hosts repeat the same directives, and their findings would too.
	report bool
	// methods limits the rules to these methods (if ($request_method …)).
	methods []string
}

func (im *nginxImporter) serverRules(doc *Doc, s *nginxServer, host, scheme string) {
	fixed := scheme
	if fixed == "" && len(s.schemes) == 1 {
		for sc := range s.schemes {
			fixed = sc
		}
	}
	base := emitCtx{host: host, scheme: scheme, fixedScheme: fixed, report: host == serverHosts(s)[0]}
	n := len(s.actions)
	for _, l := range s.locs {
		n += len(l.actions)
	}
	base.alone = n == 1
	for i, a := range s.actions {
		c := base
		c.priority = prioServer - i
		c.from = "/*"
		im.action(doc, a, c, nil)
	}
	for _, l := range s.locs {
		c := base
		switch l.mod {
		case "=":
			c.from = exactFrom(l.path)
			c.priority = prioExact
			c.exactPath = l.path
		case "^~", "":
			if len(l.path) > maxPrefixLen {
				if c.report {
					im.lost(l.d, "a prefix longer than %d bytes is not supported", maxPrefixLen)
				}
				continue
			}
			c.from = prefixFrom(l.path)
			c.priority = prioPrefix + prioPerByte*len(l.path)
			if l.mod == "^~" {
				c.priority += prioNoRegex
			}
		case "~", "~*":
			if _, err := regexp.Compile(l.path); err != nil {
				if c.report {
					im.lost(l.d, "location regex %q is not valid RE2 (Go) syntax: %v", l.path, err)
				}
				continue
			}
			c.from = "~" + l.path
			if l.mod == "~*" {
				c.from = "~*" + l.path
			}
			c.priority = prioRegex
			c.ncap = regexp.MustCompile(l.path).NumSubexp()
		}
		n := len(l.actions)
		for j, a := range l.actions {
			ac := c
			if a.Name == "rewrite" && l.mod != "=" {
				ac.priority = c.priority + min(prioPerByte-1, n-j)
			}
			im.action(doc, a, ac, l)
		}
	}
}

// action converts one rewrite-module directive.
func (im *nginxImporter) action(doc *Doc, d *Directive, c emitCtx, l *nginxLocation) {
	lost := func(format string, args ...any) {
		if c.report {
			im.lost(d, format, args...)
		}
	}
	switch d.Name {
	case "return":
		im.returnRule(doc, d, c)
	case "rewrite":
		im.rewriteRule(doc, d, c, l)
	case "if":
		im.ifBlock(doc, d, c)
	case "set":
		lost("set is not supported")
	case "break":
		lost("break is not supported")
	}
}

func (im *nginxImporter) returnRule(doc *Doc, d *Directive, c emitCtx) {
	lost := func(format string, args ...any) {
		if c.report {
			im.lost(d, format, args...)
		}
	}
	var code int
	var url string
	switch len(d.Args) {
	case 1:
		if n, err := strconv.Atoi(d.Args[0]); err == nil {
			code = n
		} else {
			code, url = 302, d.Args[0]
		}
	case 2:
		n, err := strconv.Atoi(d.Args[0])
		if err != nil {
			lost("return code %q is not a number", d.Args[0])
			return
		}
		code, url = n, d.Args[1]
	default:
		lost("return takes a code and a URL")
		return
	}
	switch code {
	case 301, 302, 303, 307, 308:
	case 410:
		doc.Rules = append(doc.Rules, Rule{Origin: origin(d.File, d.Line), Host: c.host, Scheme: c.scheme,
			From: c.from, Status: 410, Priority: c.priority, Methods: c.methods, CaseInsensitive: c.ci})
		return
	default:
		lost("return %d answers with content, not a redirect; detour has no rule for it", code)
		return
	}
	if url == "" {
		lost("return %d without a URL", code)
		return
	}
	im.emitTarget(doc, d, c, code, url, false)
}

// emitTarget converts an nginx target with variables and adds the rule,
// once per scheme when the target needs the request's scheme and the rule
// cannot say {scheme}.
func (im *nginxImporter) emitTarget(doc *Doc, d *Directive, c emitCtx, code int, url string, rewrite bool) {
	t, err := nginxTarget(url, c, rewrite)
	if err == errNeedScheme {
		for _, sc := range []string{"http", "https"} {
			cc := c
			cc.scheme, cc.fixedScheme = sc, sc
			im.emitTarget(doc, d, cc, code, url, rewrite)
		}
		return
	}
	if err != nil {
		if c.report {
			im.lost(d, "%v", err)
		}
		return
	}
	if t.note != "" && c.report {
		im.note(d, "%s", t.note)
	}
	from, to := c.from, t.to
	if needsInlinePath(to) {
		var ok bool
		if from, to, ok = inlinePath(from, to); !ok {
			if c.report {
				im.lost(d, "target %q: the request path after a fixed host cannot be expressed for this location", url)
			}
			return
		}
	}
	doc.Rules = append(doc.Rules, Rule{Origin: origin(d.File, d.Line), Host: c.host, Scheme: c.scheme,
		From: from, To: to, Status: code, Query: t.query, Priority: c.priority, Methods: c.methods, CaseInsensitive: c.ci})
}

var errNeedScheme = errors.New("the target needs the request's scheme")

// rawURINote is the note of every target with $request_uri.
const rawURINote = "$request_uri is the path as the client sent it (//a/./b stays so); detour sends the normalised path (/a/b), with the query"

type target struct {
	to    string
	query detour.QueryMode
	note  string
}

// nginxTarget converts an nginx URL with variables into a detour target
// and query mode. For rewrite, nginx appends the request's arguments
// unless the replacement ends in "?"; for return it never does.
func nginxTarget(url string, c emitCtx, rewrite bool) (target, error) {
	var b strings.Builder
	var t target
	appendArgs := rewrite
	if rewrite && strings.HasSuffix(url, "?") {
		appendArgs = false
		url = strings.TrimSuffix(url, "?")
	}
	hasArgs := false // the target itself carries the request's query
	var notes []string
	hasQ := false
	for i := 0; i < len(url); {
		ch := url[i]
		if ch != '$' {
			if ch == '?' {
				hasQ = true
			}
			if ch == '{' || ch == '}' {
				return t, fmt.Errorf("target %q: a literal brace cannot be expressed (detour reads {…} as a placeholder)", url)
			}
			b.WriteByte(ch)
			i++
			continue
		}
		name, n := varName(url[i+1:])
		if name == "" {
			b.WriteByte('$')
			i++
			continue
		}
		i += 1 + n
		switch {
		case len(name) == 1 && name[0] >= '1' && name[0] <= '9':
			if int(name[0]-'0') > c.ncap {
				if c.ncap == 0 {
					return t, fmt.Errorf("target %q uses $%s, but nothing captures it here", url, name)
				}
				return t, fmt.Errorf("target %q uses $%s, but the regex has only %d captures", url, name, c.ncap)
			}
			b.WriteString("$" + name)
		case name == "scheme":
			switch {
			case c.fixedScheme != "":
				b.WriteString(c.fixedScheme)
			case c.host != "" && strings.HasPrefix(url[i:], "://$host"):
				b.WriteString("{scheme}")
			default:
				return t, errNeedScheme
			}
		case name == "host" || name == "http_host" || name == "server_name":
			if c.host == "" {
				return t, fmt.Errorf("target %q uses $%s in a server without server_name: detour's {host} needs a host matcher", url, name)
			}
			if name == "server_name" {
				b.WriteString(c.host)
			} else {
				b.WriteString("{host}")
			}
			if name == "http_host" {
				notes = append(notes, "$http_host keeps the port the client sent; detour's {host} has none")
			}
		case name == "request_uri":
			b.WriteString("{path}")
			if i != len(url) {
				return t, fmt.Errorf("target %q: text after $request_uri (which ends with the query) cannot be expressed", url)
			}
			if hasQ {
				return t, fmt.Errorf("target %q: $request_uri after a \"?\" cannot be expressed", url)
			}
			hasArgs = true
			notes = append(notes, rawURINote)
			if appendArgs {
				notes = append(notes, "nginx appends the query a second time after $request_uri in a rewrite (…?a=1?a=1); detour sends it once")
			}
		case name == "uri" || name == "document_uri":
			if hasQ {
				return t, fmt.Errorf("target %q: $%s in the query cannot be expressed", url, name)
			}
			b.WriteString("{path}")
		case name == "is_args":
			rest := url[i:]
			if rest != "$args" && rest != "${args}" && rest != "$query_string" {
				return t, fmt.Errorf("target %q: $is_args not followed by $args at the end cannot be expressed", url)
			}
			i = len(url)
			hasArgs = true
			if appendArgs {
				notes = append(notes, "nginx appends the query a second time after $is_args$args in a rewrite; detour sends it once")
			}
		case name == "args" || name == "query_string":
			if i != len(url) {
				return t, fmt.Errorf("target %q: text after $%s cannot be expressed", url, name)
			}
			s := b.String()
			switch {
			case strings.HasSuffix(s, "?"):
				notes = append(notes, fmt.Sprintf("without $is_args, nginx sends a bare \"?\" when the request has no query (%s); detour sends none", url))
			case strings.HasSuffix(s, "&") && hasQ:
				notes = append(notes, fmt.Sprintf("nginx sends a trailing \"&\" when the request has no query (%s); detour sends none", url))
			default:
				return t, fmt.Errorf("target %q: $%s must follow \"?\", \"&\" or $is_args", url, name)
			}
			st := strings.TrimRight(s, "?&")
			b.Reset()
			b.WriteString(st)
			hasArgs = true
			if appendArgs {
				notes = append(notes, "nginx appends the query a second time after $args in a rewrite; detour sends it once")
			}
		default:
			return t, fmt.Errorf("target %q: variable $%s cannot be expressed", url, name)
		}
	}
	t.to = b.String()
	switch {
	case hasArgs || appendArgs:
		t.query = detour.QueryPreserve
	default:
		t.query = detour.QueryDrop
	}
	t.note = strings.Join(notes, "; ")
	return t, nil
}

// varName reads a variable name at the start of s ("name" or "{name}")
// and returns it and the bytes it took.
func varName(s string) (string, int) {
	if strings.HasPrefix(s, "{") {
		if j := strings.IndexByte(s, '}'); j > 1 {
			return s[1:j], j + 1
		}
		return "", 0
	}
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		return s[:1], 1
	}
	n := 0
	for n < len(s) && (s[n] == '_' || 'a' <= s[n] && s[n] <= 'z' || 'A' <= s[n] && s[n] <= 'Z' || '0' <= s[n] && s[n] <= '9') {
		n++
	}
	return s[:n], n
}

func (im *nginxImporter) rewriteRule(doc *Doc, d *Directive, c emitCtx, l *nginxLocation) {
	lost := func(format string, args ...any) {
		if c.report {
			im.lost(d, format, args...)
		}
	}
	if len(d.Args) < 2 || len(d.Args) > 3 {
		lost("rewrite takes a regex, a replacement and a flag")
		return
	}
	re, repl, flag := d.Args[0], d.Args[1], ""
	if len(d.Args) == 3 {
		flag = d.Args[2]
	}
	absolute := strings.HasPrefix(repl, "http://") || strings.HasPrefix(repl, "https://") || strings.HasPrefix(repl, "$scheme")
	code := 0
	switch {
	case flag == "permanent":
		code = 301
	case flag == "redirect":
		code = 302
	case absolute && (flag == "" || flag == "last" || flag == "break"):
		code = 302
	default:
		lost("rewrite %s %s %s changes the URI inside nginx (no redirect); detour cannot express it", re, repl, flag)
		return
	}
	rx, err := regexp.Compile(re)
	if err != nil {
		lost("rewrite regex %q is not valid RE2 (Go) syntax: %v", re, err)
		return
	}
	if c.exactPath != "" {
		// An exact location: the rewrite sees one path; decide it now.
		m := rx.FindStringSubmatch(c.exactPath)
		if m == nil {
			return
		}
		for k := len(m) - 1; k >= 1; k-- {
			repl = strings.ReplaceAll(repl, "$"+strconv.Itoa(k), m[k])
		}
		im.emitTarget(doc, d, c, code, repl, true)
		return
	}
	if l != nil && matchesAll(re) {
		// The rewrite answers every request of its location: the
		// location's own pattern says which; $1 of ^(.*)$ is the path.
		if strings.Contains(re, "(") {
			repl = strings.ReplaceAll(repl, "$1", "$uri")
		}
		c.ncap = 0
		im.emitTarget(doc, d, c, code, repl, true)
		return
	}
	if l != nil && c.report && !rewriteWithin(re, l) {
		im.lost(d, "detour applies this rewrite to every path its regex matches; nginx only to requests that select location %s (line %d)", l.path, l.d.Line)
	}
	c.from = "~" + re
	c.ci = false
	c.ncap = rx.NumSubexp()
	im.emitTarget(doc, d, c, code, repl, true)
}

// matchesAll reports whether a rewrite regex matches every path, with
// at most one group holding the whole path.
func matchesAll(re string) bool {
	switch re {
	case "^", "^.*", "^.*$", ".*", "^(.*)$", "(.*)", "^(.*)":
		return true
	}
	return false
}

// rewriteWithin reports whether every path regex re matches selects
// location l — as far as import can tell: l is a regex location with the
// same regex, or a prefix whose path the anchored regex begins with.
func rewriteWithin(re string, l *nginxLocation) bool {
	switch l.mod {
	case "~":
		return re == l.path
	case "", "^~":
		lit := regexLiteralPrefix(re)
		return l.path == "/" || strings.HasPrefix(lit, l.path)
	}
	return false
}

// regexLiteralPrefix returns the literal text an anchored regex begins
// with ("^/old/(.*)" → "/old/"), "" when it is not anchored.
func regexLiteralPrefix(re string) string {
	if !strings.HasPrefix(re, "^") {
		return ""
	}
	var b strings.Builder
	for i := 1; i < len(re); i++ {
		ch := re[i]
		switch {
		case ch == '\\' && i+1 < len(re) && strings.IndexByte(`./-_~?*+()[]{}|^$`, re[i+1]) >= 0:
			b.WriteByte(re[i+1])
			i++
		case strings.IndexByte(`.[(*+?{|$\^`, ch) >= 0:
			// a quantifier makes the last literal optional
			s := b.String()
			if (ch == '*' || ch == '?' || ch == '{') && s != "" {
				s = s[:len(s)-1]
			}
			return s
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// ifBlock converts "if (cond) { return …; }": a map variable (a bulk
// table); $host compared (=, !=, ~, ~*, !~, !~*), decided at import for
// a server's exact host (a regex's captures filled in), or made the
// rule's host; $scheme compared, decided for a server with one scheme or
// made the rule's scheme.
func (im *nginxImporter) ifBlock(doc *Doc, d *Directive, c emitCtx) {
	lost := func(format string, args ...any) {
		if c.report {
			im.lost(d, format, args...)
		}
	}
	cond := strings.Join(d.Args, " ")
	cond = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(cond, "("), ")"))
	f := strings.Fields(cond)
	if len(d.Block) != 1 || d.Block[0].Name != "return" {
		lost("if (%s) holds more than one return; not supported", cond)
		return
	}
	ret := d.Block[0]
	if len(f) == 1 && strings.HasPrefix(f[0], "$") {
		im.mapIf(doc, d, ret, strings.TrimPrefix(f[0], "$"), c)
		return
	}
	if len(f) != 3 {
		lost("if (%s): only comparisons of $host or $scheme and a map variable can be expressed", cond)
		return
	}
	v, op, val := f[0], f[1], strings.Trim(f[2], `"'`)
	switch v {
	case "$host", "$http_host", "$server_name":
		im.ifHost(doc, d, ret, op, val, c)
	case "$request_method":
		ms := methodList(op, val)
		if ms == nil {
			lost("if (%s): only $request_method = M or ~ ^(M1|M2)$ can be expressed", cond)
			return
		}
		c.methods = ms
		im.returnRule(doc, ret, c)
	case "$scheme":
		switch {
		case op != "=" && op != "!=":
			lost("if (%s): $scheme is compared with = or != only", cond)
		case c.fixedScheme != "":
			if (c.fixedScheme == val) == (op == "=") {
				im.returnRule(doc, ret, c)
			}
		default:
			sc := val
			if op == "!=" {
				sc = map[string]string{"http": "https", "https": "http"}[val]
			}
			if sc == "" {
				lost("if (%s): the scheme is http or https", cond)
				return
			}
			c.scheme, c.fixedScheme = sc, sc
			im.returnRule(doc, ret, c)
		}
	default:
		lost("if (%s): only comparisons of $host or $scheme and a map variable can be expressed", cond)
	}
}

// methodList reads "= POST" or "~ ^(POST|PUT)$" as a list of methods;
// nil for anything else.
func methodList(op, val string) []string {
	switch op {
	case "=":
		if isToken(val) {
			return []string{strings.ToUpper(val)}
		}
	case "~":
		inner, ok := strings.CutPrefix(val, "^(")
		if inner, ok2 := strings.CutSuffix(inner, ")$"); ok && ok2 {
			var ms []string
			for _, m := range strings.Split(inner, "|") {
				if !isToken(m) {
					return nil
				}
				ms = append(ms, m)
			}
			return ms
		}
	}
	return nil
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// ifHost converts "if ($host OP value)". For a server's exact host the
// condition is decided now; "=" on a host-less or wildcard server makes
// value the rule's host.
func (im *nginxImporter) ifHost(doc *Doc, d, ret *Directive, op, val string, c emitCtx) {
	lost := func(format string, args ...any) {
		if c.report {
			im.lost(d, format, args...)
		}
	}
	exact := c.host != "" && !strings.HasPrefix(c.host, "*.")
	switch op {
	case "=", "!=":
		h := strings.ToLower(val)
		switch {
		case exact:
			if (c.host == h) == (op == "=") {
				im.returnRule(doc, ret, c)
			}
		case op == "=" && (c.host == "" || strings.HasSuffix(h, c.host[1:])):
			c.host = h
			im.returnRule(doc, ret, c)
		case op == "=":
			// a wildcard server whose names never equal h
		default:
			lost("if ($host != %s) on a server without exact names cannot be expressed", val)
		}
	case "~", "~*", "!~", "!~*":
		if !exact {
			lost("if ($host %s %s) on a server without exact names cannot be expressed", op, val)
			return
		}
		re := val
		if strings.HasSuffix(op, "*") {
			re = "(?i)" + re
		}
		rx, err := regexp.Compile(re)
		if err != nil {
			lost("if ($host %s %s): the regex is not valid RE2 (Go) syntax: %v", op, val, err)
			return
		}
		m := rx.FindStringSubmatch(c.host)
		if (m != nil) != !strings.HasPrefix(op, "!") {
			return // never true for this host
		}
		r := *ret
		r.Args = append([]string(nil), ret.Args...)
		for k := len(m) - 1; k >= 1 && len(r.Args) > 0; k-- { // "return;" has no arguments: returnRule says so
			r.Args[len(r.Args)-1] = strings.ReplaceAll(r.Args[len(r.Args)-1], "$"+strconv.Itoa(k), m[k])
		}
		im.returnRule(doc, &r, c)
	default:
		lost("if ($host %s %s): operator not understood", op, val)
	}
}

// mapIf converts "if ($var) { return 30x $var; }" over "map $uri $var":
// a table of exact rows (regex entries become regex rules).
func (im *nginxImporter) mapIf(doc *Doc, d, ret *Directive, name string, c emitCtx) {
	lost := func(x *Directive, format string, args ...any) {
		if c.report {
			im.lost(x, format, args...)
		}
	}
	m := im.maps[name]
	if m == nil {
		lost(d, "if ($%s): no map sets $%s", name, name)
		return
	}
	if len(ret.Args) != 2 || ret.Args[1] != "$"+name {
		lost(ret, "only \"return 30x $%s\" can follow if ($%s)", name, name)
		return
	}
	code, err := strconv.Atoi(ret.Args[0])
	if err != nil || !detour.ValidStatus(code) || code == 410 {
		lost(ret, "return code %q cannot be expressed", ret.Args[0])
		return
	}
	if m.source != "$uri" && m.source != "$document_uri" && m.source != "$request_uri" {
		lost(m.d, "map %s: only maps over $uri or $request_uri can be expressed", m.source)
		return
	}
	if m.source == "$request_uri" && c.report {
		im.note(m.d, "map over $request_uri: nginx compares the query too, so /old?x=1 misses the entry /old; detour matches the path whatever the query and keeps the query")
	}
	var rows [][3]string
	var rowDirs []*Directive
	// Rows of a table compete at priority 0: regex entries and the
	// default must then sit below them, as nginx tries exact keys first.
	useTable := c.alone && !strings.HasPrefix(c.host, "*.") && hasExactEntries(m)
	for _, e := range m.entries {
		key, val := e.Name, e.Args[0]
		if strings.HasPrefix(key, "~") {
			re, ci := key[1:], false
			if strings.HasPrefix(re, "*") {
				re, ci = re[1:], true
			}
			rx, err := regexp.Compile(re)
			if err != nil {
				lost(e, "map regex %q is not valid RE2 (Go) syntax: %v", re, err)
				continue
			}
			cc := c
			cc.from, cc.ncap = "~"+re, rx.NumSubexp()
			if useTable {
				cc.priority = -1
			}
			if ci {
				cc.from = "~*" + re
			}
			im.emitTarget(doc, e, cc, code, val, false)
			continue
		}
		if key == "\\default" {
			key = "default"
		}
		if strings.ContainsAny(val, "$") {
			lost(e, "map value %q holds a variable; a table row's target is literal", val)
			continue
		}
		if !strings.HasPrefix(key, "/") {
			lost(e, "map key %q is not a path", key)
			continue
		}
		if m.source == "$request_uri" && strings.Contains(key, "?") {
			lost(e, "map key %q holds a query; a table matches paths only", key)
			continue
		}
		if val == "" || val == "0" {
			continue // an empty value is false: no redirect
		}
		if m.source != "$request_uri" {
			// $uri is decoded: its keys are too, and rows are read
			// as request paths (decoded again).
			key = exactFrom(key)
		}
		rows = append(rows, [3]string{key, val, ""})
		rowDirs = append(rowDirs, e)
	}
	useTable = useTable && len(rows) > 0
	if m.def != "" && m.def != "0" {
		cc := c
		cc.from = "/*"
		cc.priority = c.priority - 1
		if useTable {
			cc.priority = -2 // below the rows and the regex entries
		}
		if c.report {
			im.note(m.d, "the map's default %q answers every other path: a /* rule", m.def)
		}
		im.emitTarget(doc, m.d, cc, code, m.def, false)
	}
	if len(rows) == 0 {
		return
	}
	if !useTable {
		// Table rows compete at priority 0, below every location of the
		// server: unless the if is the server's only directive, its rows
		// become exact rules at its priority.
		for i, r := range rows {
			p, err := detour.NormalizePath(r[0], false)
			if err != nil {
				continue
			}
			e := rowDirs[i]
			doc.Rules = append(doc.Rules, Rule{Origin: origin(e.File, e.Line), Host: c.host, Scheme: c.scheme,
				From: exactFrom(p), To: r[1], Status: code, Query: detour.QueryDrop, Priority: c.priority, CaseInsensitive: true})
		}
		return
	}
	for i, r := range rows {
		if p, err := detour.NormalizePath(r[0], false); err == nil {
			e := rowDirs[i]
			im.rowRules = append(im.rowRules, Rule{Origin: origin(e.File, e.Line), Host: c.host, From: exactFrom(p),
				To: r[1], Status: code, Query: detour.QueryDrop, CaseInsensitive: true})
		}
	}
	// One table per map: a table file may be named once, so the rows of
	// each host the map serves carry it in a full-URL from column.
	fname := strings.TrimPrefix(name, "$") + ".csv"
	acc := im.mapTables[fname]
	if acc == nil {
		acc = &mapTable{t: Table{Origin: origin(m.d.File, m.d.Line), File: TableFile{Name: fname},
			Status: code, Query: detour.QueryDrop, CaseInsensitive: true}}
		im.mapTables[fname] = acc
		im.mapOrder = append(im.mapOrder, fname)
	}
	for _, r := range rows {
		from := r[0]
		if c.host != "" {
			from = "http://" + c.host + from
		}
		st := ""
		if code != acc.t.Status {
			st = strconv.Itoa(code)
		}
		acc.rows = append(acc.rows, [3]string{from, r[1], st})
	}
}

// mapTable is the table of one map, gathered over the servers that use
// it.
type mapTable struct {
	t    Table
	rows [][3]string
}

// emitTables adds the gathered map tables to doc and the result.
func (im *nginxImporter) emitTables(doc *Doc) {
	for _, name := range im.mapOrder {
		acc := im.mapTables[name]
		acc.t.File.Data = csvTable(acc.rows)
		doc.Tables = append(doc.Tables, acc.t)
		im.tables = append(im.tables, acc.t.File)
	}
}

// hasExactEntries reports whether map m has string keys.
func hasExactEntries(m *nginxMap) bool {
	for _, e := range m.entries {
		if !strings.HasPrefix(e.Name, "~") {
			return true
		}
	}
	return false
}

// exactFrom writes decoded path p as an exact detour path (or table row):
// it percent-encodes the bytes of p that detour's
// pattern syntax, a rules file or a table would misread: "%", "*", "?",
// "#", spaces and controls, ":" after "/", and bytes that are not UTF-8
// (a path of Latin-1 escapes). detour decodes a rule's or a row's path as
// it does a request's, so the result matches exactly p.
func exactFrom(p string) string {
	if literalOK(p) && utf8.ValidString(p) {
		return p
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(p)+16)
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		c := p[i]
		switch {
		case r == utf8.RuneError && n == 1, c <= ' ', c == 0x7f, c == '%', c == '*', c == '?', c == '#',
			c == ':' && i > 0 && p[i-1] == '/':
			b = append(b, '%', hex[c>>4], hex[c&15])
			n = 1
		default:
			b = append(b, p[i:i+n]...)
		}
		i += n
	}
	return string(b)
}

// prefixFrom writes nginx prefix p as a detour string prefix, or as a
// regex where detour's pattern would mean more: "/x/*" is a segment
// prefix that answers "/x" too, which nginx's "/x/" does not.
func prefixFrom(p string) string {
	if p == "/" {
		return "/*"
	}
	if literalOK(p) && !strings.HasSuffix(p, "/") {
		return p + "*"
	}
	return "~^" + regexp.QuoteMeta(p)
}

// literalOK reports whether p can be written as a literal detour path.
func literalOK(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "*?#% \t") {
		return false
	}
	return !strings.Contains(p, "/:")
}

// needsInlinePath reports whether to has {path} right after a fixed
// authority ("https://example.com{path}"), which detour's targets do not
// take: the path is written from the rule's own pattern instead.
func needsInlinePath(to string) bool {
	_, after, ok := strings.Cut(to, "://")
	return ok && !strings.HasPrefix(after, "{host}") && strings.Contains(to, "{path}")
}

// inlinePath rewrites from and to so that to carries the request path
// without {path}: an exact path is written out, a prefix's path is its
// literal and :splat, and a regex is wrapped in a group that captures the
// whole path as $1 (its own groups move up by one).
func inlinePath(from, to string) (string, string, bool) {
	if strings.Count(to, "{path}") != 1 {
		return "", "", false
	}
	switch {
	case from == "/*":
		return from, strings.Replace(to, "{path}", "/:splat", 1), true
	case !strings.HasPrefix(from, "~") && strings.HasSuffix(from, "*") && !strings.HasSuffix(from, "/*"):
		lit := strings.TrimSuffix(from, "*")
		return from, strings.Replace(to, "{path}", escapePath(lit)+":splat", 1), true
	case !strings.HasPrefix(from, "~") && !strings.ContainsAny(from, "*?"):
		return from, strings.Replace(to, "{path}", escapePath(from), 1), true
	case strings.HasPrefix(from, "~"):
		re, prefix := strings.TrimPrefix(from, "~"), "~"
		if strings.HasPrefix(re, "*") {
			re, prefix = re[1:], "~*"
		}
		for n := 9; n >= 1; n-- {
			if strings.Contains(to, "$"+strconv.Itoa(n)) {
				if n == 9 {
					return "", "", false
				}
				to = strings.ReplaceAll(to, "$"+strconv.Itoa(n), "$"+strconv.Itoa(n+1))
			}
		}
		// The group starts after the path's first slash: a capture may
		// not follow the authority at once.
		if body, ok := strings.CutPrefix(re, "^/"); ok {
			return prefix + "^/((?:" + body + ")(?s:.*))", strings.Replace(to, "{path}", "/$1", 1), true
		}
		// An unanchored regex whose matches begin with something other
		// than "/" never matches at the path's first byte: the group
		// may start after it.
		rx, err := regexp.Compile(re)
		if lit, _ := rx.LiteralPrefix(); err != nil || lit == "" || lit[0] == '/' || prefix == "~*" {
			return "", "", false
		}
		return prefix + "^/((?s:.*?)(?:" + re + ")(?s:.*))$", strings.Replace(to, "{path}", "/$1", 1), true
	}
	return "", "", false
}

// escapePath percent-encodes a decoded path for a target.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c > ' ' && c < 0x7f && strings.IndexByte(`"#%<>?[\]^{|}$:`+"`", c) < 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
