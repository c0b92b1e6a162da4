package convert

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/detourhttp/detour"
)

// isWord reports whether s is a column name such as from, old_url or
// "Source URL".
func isWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == ' ') {
			return false
		}
	}
	return true
}

// ImportCSV converts a CSV file of from,to[,status] rows, with or
// without a header row, into exact rules in file order. A row without a
// status gets detour's default, 307. From may be a path or a full URL
// (its host becomes the rule's host); a query in from becomes a query
// condition.
func ImportCSV(r io.Reader, name string) (*Result, error) {
	doc := &Doc{Header: "Imported from CSV " + filepath.Base(name) + " by detour import.", FirstMatch: true}
	var fs Findings
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &syntaxError{file: name, msg: err.Error()}
		}
		line, _ := cr.FieldPos(0)
		lost := func(format string, args ...any) {
			fs = append(fs, Finding{File: name, Line: line, Lost: true, Message: fmt.Sprintf(format, args...)})
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if first {
			first = false
			if len(rec) > 0 && rec[0] != "" && !strings.HasPrefix(rec[0], "/") && !strings.Contains(rec[0], "://") {
				if !isWord(rec[0]) {
					fs = append(fs, Finding{File: name, Line: line, Message: fmt.Sprintf("the first row (%s) is read as a header row", strings.Join(rec, ","))})
				}
				continue // a header row
			}
		}
		if len(rec) == 1 && rec[0] == "" {
			continue
		}
		if len(rec) < 2 || len(rec) > 3 {
			lost("a row is from,to[,status]; this one has %d fields", len(rec))
			continue
		}
		status := 0
		if len(rec) == 3 && rec[2] != "" {
			n, err := strconv.Atoi(rec[2])
			if err != nil || !detour.ValidStatus(n) {
				lost("status %q is not 301, 302, 303, 307, 308 or 410", rec[2])
				continue
			}
			status = n
		}
		host, from := "", rec[0]
		if i := strings.Index(from, "://"); i > 0 {
			rest := from[i+3:]
			j := strings.IndexAny(rest, "/?")
			if j < 0 {
				host, from = rest, "/"
			} else {
				host, from = rest[:j], rest[j:]
			}
			if from[0] == '?' {
				from = "/" + from
			}
		}
		if !strings.HasPrefix(from, "/") {
			lost("from %q is not a path or URL", rec[0])
			continue
		}
		path, query, _ := strings.Cut(from, "?")
		if p, err := detour.NormalizePath(path, false); err == nil {
			path = p
		} else {
			lost("from %q is not a request path", rec[0])
			continue
		}
		from = exactFrom(path)
		if query != "" {
			if strings.HasPrefix(from, "~") {
				lost("from %q: a query condition on this path cannot be expressed", rec[0])
				continue
			}
			from += "?" + query
			fs = append(fs, Finding{File: name, Line: line, Message: fmt.Sprintf("%s: detour matches when these parameters are present; other parameters may be there too", rec[0])})
		}
		if status != 410 && rec[1] == "" {
			lost("to is empty")
			continue
		}
		rl := Rule{Origin: origin(name, line), Host: strings.ToLower(host), From: from, To: rec[1], Status: status}
		if status == 410 {
			rl.To = ""
		}
		doc.Rules = append(doc.Rules, rl)
	}
	fs = append(fs, doc.check()...)
	relOrigins(doc, filepath.Dir(name))
	return &Result{YAML: Emit(doc), Findings: fs}, nil
}
