package ruleset

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/detourhttp/detour"
)

// maxRowErrors caps the bad rows reported one by one for a table; the
// rest are counted in one more diagnostic.
const maxRowErrors = 100

// errLeavesFolder: a table path resolves (through symlinks) outside the
// folder of the rules file that names it.
var errLeavesFolder = errors.New("leaves the rules file's folder")

// loadTables reads the rows of every table of s from disk, dropping the
// tables that cannot be read, and adds the table files to s.Files.
func (l *Loader) loadTables(s *Set, ds detour.Diagnostics) detour.Diagnostics {
	kept := s.Tables[:0]
	for _, t := range s.Tables {
		name := tableFile(&t)
		if !contains(s.Files, name) {
			s.Files = append(s.Files, name)
		}
		field, line := "file", t.Source.Line
		if p := s.places[placeKey{kind: "table", file: t.Source.File, id: t.ID, seq: t.Source.Seq}]; p != nil {
			field, line = p.fieldAt("file")
		}
		f, size, err := openTable(t.Source.File, t.File)
		if err == nil && size > l.maxTableSize() {
			f.Close()
			err = fmt.Errorf("the table file %s is larger than the cap of %d bytes", name, l.maxTableSize())
		}
		if err != nil {
			ds = append(ds, detour.Diagnostic{Severity: detour.SeverityError, File: t.Source.File, Line: line,
				Field: field, Rule: t.ID, Code: "table", Message: err.Error()})
			continue
		}
		// A file that grows while it is read is cut at the cap.
		var text strings.Builder
		text.Grow(int(min(size, l.maxTableSize())))
		_, err = io.Copy(&text, io.LimitReader(f, l.maxTableSize()))
		f.Close()
		if err != nil {
			ds = append(ds, detour.Diagnostic{Severity: detour.SeverityError, File: t.Source.File, Line: line,
				Field: field, Rule: t.ID, Code: "table", Message: fmt.Sprintf("cannot read table %s: %v", name, unwrapPath(err))})
			continue
		}
		ds = append(ds, readTable(text.String(), name, &t, s.MergeSlashes)...)
		kept = append(kept, t)
	}
	s.Tables = kept
	return ds
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// openTable opens the table file name, relative to the folder of
// rulesFile, after checking that it stays in that folder once every
// symlink is resolved. It opens the resolved path, so the file read is the
// file checked.
func openTable(rulesFile, name string) (*os.File, int64, error) {
	if err := checkTablePath(name); err != nil {
		return nil, 0, err
	}
	dir := filepath.Dir(rulesFile)
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("table %s: %w", name, err)
	}
	real, err := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read table %s: %w", name, unwrapPath(err))
	}
	rel, err := filepath.Rel(root, real)
	if err != nil || !filepath.IsLocal(rel) {
		return nil, 0, fmt.Errorf("table %s %w: it resolves to %s, outside %s", name, errLeavesFolder, real, root)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read table %s: %w", name, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("table %s is not a regular file", name)
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read table %s: %w", name, unwrapPath(err))
	}
	return f, fi.Size(), nil
}

// unwrapPath drops the operation and path of a *fs.PathError, which the
// message already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ReadTable reads the CSV rows of t from r: from,to[,status] a row,
// an optional header row first, blank lines and lines beginning with #
// skipped. From is a path (/old) or a full URL with a host
// (https://example.com/old); its path is normalised as a request path
// is (detour.NormalizePath with mergeSlashes). Name is the table file's
// name for messages. Rows are appended to t.Rows in file order; a bad
// row is left out and reported with its line and its text cut short.
//
// It reads in one pass, in time and memory linear in the input. The rows
// of a file without quotes are cut from one string, the file's text: a
// million rows cost no string of their own.
func ReadTable(r io.Reader, name string, t *detour.Table, mergeSlashes bool) detour.Diagnostics {
	var text strings.Builder
	if _, err := io.Copy(&text, r); err != nil {
		return detour.Diagnostics{{Severity: detour.SeverityError, File: name, Code: "table", Rule: t.ID,
			Message: fmt.Sprintf("cannot read the CSV: %v", err)}}
	}
	return readTable(text.String(), name, t, mergeSlashes)
}

// readTable is ReadTable of the text of a table file.
func readTable(text, name string, t *detour.Table, mergeSlashes bool) detour.Diagnostics {
	tr := tableReader{name: name, t: t, merge: mergeSlashes}
	// Size Rows once: growing a slice of a million rows by a quarter at
	// a time copies it over and over.
	t.Rows = slices.Grow(t.Rows, strings.Count(text, "\n")+1)
	if strings.IndexByte(text, '"') < 0 {
		tr.readLines(text)
	} else {
		tr.readCSV(strings.NewReader(text))
	}
	return tr.finish()
}

// finish returns the diagnostics, with the count of bad rows not shown.
func (tr *tableReader) finish() detour.Diagnostics {
	if tr.bad > maxRowErrors {
		tr.diags = append(tr.diags, detour.Diagnostic{Severity: detour.SeverityError, File: tr.name, Code: "table", Rule: tr.t.ID,
			Message: fmt.Sprintf("%d more bad rows not shown", tr.bad-maxRowErrors)})
	}
	return tr.diags
}

type tableReader struct {
	name  string
	t     *detour.Table
	merge bool
	diags detour.Diagnostics
	bad   int
	// hosts interns the hosts of full-URL rows.
	hosts map[string]string
	first bool     // a record was read: the next one is no header
	rec   []string // readLines' record, reused
}

// readLines reads text that holds no quote, which is what encoding/csv
// (with the options readCSV gives it) would read, without a string for
// every record: lines end in LF or CRLF (a last one without), blank
// lines and lines beginning with # are skipped, fields are split at
// every comma, their leading white space trimmed.
func (tr *tableReader) readLines(text string) {
	for line := 1; text != ""; line++ {
		l, rest, _ := strings.Cut(text, "\n")
		text = rest
		l = strings.TrimSuffix(l, "\r")
		if l == "" || l[0] == '#' {
			continue
		}
		tr.rec = tr.rec[:0]
		for {
			f, more, found := strings.Cut(l, ",")
			tr.rec = append(tr.rec, strings.TrimLeftFunc(f, unicode.IsSpace))
			if !found {
				break
			}
			l = more
		}
		tr.record(tr.rec, line)
	}
}

// readCSV reads r with encoding/csv: quoted fields, which may span lines.
func (tr *tableReader) readCSV(r io.Reader) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.LazyQuotes = true
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
				err = pe.Err
			}
			tr.badRow(line, "", "", fmt.Sprintf("cannot read the CSV: %v", err))
			break // encoding/csv cannot go on after a broken quote
		}
		line, _ := cr.FieldPos(0)
		tr.record(rec, line)
	}
}

// record takes one record: the header row when it is the first, else a
// row.
func (tr *tableReader) record(rec []string, line int) {
	if !tr.first {
		tr.first = true
		rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
		if isHeader(rec) {
			return
		}
	}
	tr.row(rec, line)
}

// isHeader reports whether rec is a header row: its from column is a
// word (from, source, old_url …), which no path or URL is.
func isHeader(rec []string) bool {
	from := strings.TrimSpace(rec[0])
	if from == "" || !isLetter(from[0]) {
		return false
	}
	for i := 0; i < len(from); i++ {
		c := from[i]
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '_' && c != '-' && c != ' ' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// row checks one record and appends it to the table.
func (tr *tableReader) row(rec []string, line int) {
	if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
		return // a line of spaces
	}
	if len(rec) < 2 || len(rec) > 3 {
		tr.badRow(line, "", rowText(rec), fmt.Sprintf("a row is from,to[,status]; this one has %d fields", len(rec)))
		return
	}
	from := strings.TrimSpace(rec[0])
	row := detour.Row{Line: line, To: strings.TrimSpace(rec[1])}
	if len(rec) == 3 {
		if s := strings.TrimSpace(rec[2]); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || !detour.ValidStatus(n) {
				tr.badRow(line, "status", rowText(rec), fmt.Sprintf("status must be 301, 302, 303, 307, 308 or 410, got %q", clip(s)))
				return
			}
			row.Status = n
		}
	}
	host, p, err := splitFrom(from)
	if err != nil {
		tr.badRow(line, "from", rowText(rec), err.Error())
		return
	}
	if host != "" {
		h, err := detour.NormalizeHost(host)
		if err != nil || h == "" || strings.ContainsAny(h, "*@") {
			tr.badRow(line, "from", rowText(rec), fmt.Sprintf("%q is not a host", clip(host)))
			return
		}
		row.Host = tr.intern(h)
	}
	row.Path, err = detour.NormalizePath(p, tr.merge)
	if err != nil {
		tr.badRow(line, "from", rowText(rec), fmt.Sprintf("%q is not a request path: %v", clip(p), err))
		return
	}
	status := row.Status
	if status == 0 {
		status = tr.t.Status
	}
	switch {
	case status == detour.StatusGone:
		row.To = ""
	case row.To == "":
		tr.badRow(line, "to", rowText(rec), "to is empty; only a 410 row has no target")
		return
	}
	tr.t.Rows = append(tr.t.Rows, row)
}

// splitFrom splits the from column into a host (empty for a path) and a
// path.
func splitFrom(from string) (host, path string, err error) {
	rest := from
	switch {
	case strings.HasPrefix(from, "/"):
		rest = ""
		path = from
	case hasPrefixFold(from, "https://"):
		rest = from[len("https://"):]
	case hasPrefixFold(from, "http://"):
		rest = from[len("http://"):]
	default:
		return "", "", fmt.Errorf("from must be a path such as /old or a URL such as https://example.com/old, got %q", clip(from))
	}
	if path == "" {
		i := strings.IndexAny(rest, "/?#")
		if i < 0 {
			host, path = rest, "/"
		} else {
			host, path = rest[:i], rest[i:]
		}
		if host == "" {
			return "", "", fmt.Errorf("the URL %q has no host", clip(from))
		}
		if path[0] != '/' {
			path = "/" + path
		}
	}
	if strings.ContainsAny(path, "?#") {
		return "", "", fmt.Errorf("a table matches paths only; %q has a query or fragment (use a rule with a query condition)", clip(from))
	}
	return host, path, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func (tr *tableReader) intern(h string) string {
	if tr.hosts == nil {
		tr.hosts = make(map[string]string)
	}
	if x, ok := tr.hosts[h]; ok {
		return x
	}
	h = strings.Clone(h)
	tr.hosts[h] = h
	return h
}

// rowText is the row as written, near enough, for a message.
func rowText(rec []string) string { return strings.Join(rec, ",") }

func (tr *tableReader) badRow(line int, field, text, msg string) {
	tr.bad++
	if tr.bad > maxRowErrors {
		return
	}
	if text != "" {
		msg += fmt.Sprintf(" (row: %s)", strconv.Quote(clip(text)))
	}
	tr.diags = append(tr.diags, detour.Diagnostic{Severity: detour.SeverityError, File: tr.name, Line: line,
		Field: field, Rule: tr.t.ID, Code: "table", Message: msg})
}
