package convert

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/detourhttp/detour"
)

// ImportNetlify converts a Netlify _redirects file: "from [query params]
// to [status][!] [conditions]" a line. Splats and :placeholders keep
// their meaning (detour's pattern syntax follows Netlify's); rules keep
// file order (order: first-match). Status 200 rewrites, 404 pages and
// country, language or role conditions are findings.
func ImportNetlify(r io.Reader, name string) (*Result, error) {
	doc := &Doc{Header: "Imported from Netlify " + filepath.Base(name) + " by detour import.", FirstMatch: true}
	var fs Findings
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if i := strings.Index(text, " #"); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		lost := func(format string, args ...any) {
			fs = append(fs, Finding{File: name, Line: line, Lost: true, Message: fmt.Sprintf(format, args...)})
		}
		f := strings.Fields(text)
		if len(f) < 2 {
			lost("a rule is \"from to [status]\"; this line has %d fields", len(f))
			continue
		}
		from := f[0]
		var params []string
		i := 1
		for i < len(f) && strings.Contains(f[i], "=") && !strings.HasPrefix(f[i], "/") && !strings.Contains(f[i], "://") {
			params = append(params, f[i])
			i++
		}
		if i >= len(f) {
			lost("no target")
			continue
		}
		to := f[i]
		i++
		status, force := 301, false
		if i < len(f) {
			s := f[i]
			if strings.HasSuffix(s, "!") {
				force, s = true, strings.TrimSuffix(s, "!")
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				lost("status %q is not a number", f[i])
				continue
			}
			status = n
			i++
		}
		if i < len(f) {
			lost("conditions %s cannot be expressed", strings.Join(f[i:], " "))
			continue
		}
		switch {
		case status == 410:
		case detour.ValidStatus(status):
		case status == 200:
			lost("status 200 is a rewrite (or proxy) to %s, not a redirect", to)
			continue
		default:
			lost("status %d is not a redirect", status)
			continue
		}
		host := ""
		if strings.HasPrefix(from, "http://") || strings.HasPrefix(from, "https://") {
			rest := from[strings.Index(from, "://")+3:]
			j := strings.IndexByte(rest, '/')
			if j < 0 {
				host, from = rest, "/"
			} else {
				host, from = rest[:j], rest[j:]
			}
		}
		if !strings.HasPrefix(from, "/") {
			lost("from %q is not a path or URL", from)
			continue
		}
		if strings.HasSuffix(from, "*") && !strings.HasSuffix(from, "/*") {
			from = strings.TrimSuffix(from, "*") + "*"
		}
		if len(params) > 0 {
			from += "?" + strings.Join(params, "&")
		}
		if !force && status != 410 {
			fs = append(fs, Finding{File: name, Line: line, Message: "Netlify skips a rule without \"!\" when a file exists at the path; detour has no files and always redirects"})
		}
		rl := Rule{Origin: origin(name, line), Host: host, From: from, Status: status}
		if status != 410 {
			rl.To = to
		}
		doc.Rules = append(doc.Rules, rl)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	fs = append(fs, doc.check()...)
	relOrigins(doc, filepath.Dir(name))
	return &Result{YAML: Emit(doc), Findings: fs}, nil
}
