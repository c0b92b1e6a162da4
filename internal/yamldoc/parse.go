// Package yamldoc reads one YAML document into nodes and walks them with
// diagnostics that name the file, the line and the field: the parsing
// (one document, syntax errors with a line, a bound on aliases), the
// mapping walker (duplicate fields, merge keys, unknown fields with a
// suggestion) and the scalar readers that the rules file (ruleset) and
// the expectations file (check) share.
package yamldoc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Error is a problem with a document as a whole — a syntax error, a
// second document, aliases that expand too far — with the 1-based line
// it was found on.
type Error struct {
	Line int
	Msg  string
}

// Error returns "line N: message".
func (e *Error) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Options say how Parse words and places its errors. The zero value
// gives a second document no noun, and lines as the library gives them
// (found from the input when it gives none).
type Options struct {
	// Noun names the document in the error about a second one, such as
	// "a rules file".
	Noun string
	// Prefix begins the message of each error the YAML library reports,
	// such as "syntax error: ".
	Prefix string
}

// Parse parses data as one YAML document and returns its root node: nil
// for an empty document. It never panics; every error carries a line
// (1 when none could be worked out).
func Parse(data []byte, o Options) (root *yaml.Node, perr *Error) {
	defer func() {
		// The YAML library reports its own errors as values; a panic
		// is a bug in it, and a file must never bring the server down.
		if p := recover(); p != nil {
			root, perr = nil, &Error{Line: 1, Msg: fmt.Sprintf("the YAML parser failed: %v", p)}
		}
	}()
	orig := data
	dec, doc, err := decode(data)
	for try := 0; err != nil; try++ {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		// go-yaml/yaml#905: see flow.go.
		e := syntaxError(data, err, Options{})
		if try*len(data) >= maxFlowWork || !strings.HasPrefix(e.Msg, "did not find expected ',' or") {
			return nil, syntaxError(orig, err, o)
		}
		if try == 0 {
			// Every such line at once, kept when each one parses as the
			// flow collection it looked like.
			if fixed, at := quoteFlowFrom(data, e.Line); len(at) > 1 {
				if d, doc2, err2 := decode(fixed); err2 == nil && flowCollectionsAt(&doc2, at) {
					dec, doc, err, data = d, doc2, nil, fixed
					break
				}
			}
		}
		fixed, ok := quoteFlowQuestion(data, e.Line)
		if !ok {
			return nil, syntaxError(orig, err, o)
		}
		data = fixed
		dec, doc, err = decode(data)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &Error{Line: max(next.Line, 1), Msg: o.Noun + " holds one YAML document; a second one begins here"}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(orig, err, o)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var lineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// decode reads the first document of data; dec goes on to the next.
func decode(data []byte) (dec *yaml.Decoder, doc yaml.Node, err error) {
	dec = yaml.NewDecoder(bytes.NewReader(data))
	err = dec.Decode(&doc)
	return dec, doc, err
}

// parserProblems are the errors of the YAML library's parser (not its
// scanner). It numbers their lines from 0, and the scanner's from 1.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// syntaxError turns an error of the YAML library into an Error with a
// line: the one it names, or one found as o says.
func syntaxError(data []byte, err error, o Options) *Error {
	raw := err.Error()
	msg := strings.TrimPrefix(raw, "yaml: ")
	line := 0
	m := lineRE.FindStringSubmatch(raw)
	if m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimPrefix(raw, m[0])
	}
	switch {
	case m == nil:
		// Errors of the reader (encoding) and a few of the parser
		// carry no line: work it out from the input.
		line = findLine(data, msg)
	case parserProblems[msg]:
		// The library counts the lines of its parser's errors (not
		// its scanner's) from 0.
		line++
	}
	// At the end of an input without a final line break the library
	// may name the line after the last one.
	line = max(min(line, lineAt(data, len(data))), 1)
	hint := strings.HasPrefix(msg, "did not find expected ',' or") && flowQuestionMark(data, line)
	msg = o.Prefix + msg
	if hint {
		msg += ` (a value holding "?" inside { } or [ ] must be quoted, as in "/a?x=1")`
	}
	return &Error{Line: line, Msg: msg}
}

// findLine works out the line of an error the library gave none:
// errors of the reader (encoding) and a few of the parser.
func findLine(data []byte, msg string) int {
	if line, ok := badByteLine(data); ok {
		return line
	}
	if name, ok := strings.CutPrefix(msg, "unknown anchor '"); ok {
		name, _, _ = strings.Cut(name, "'")
		if i := bytes.Index(data, []byte("*"+name)); i >= 0 {
			return lineAt(data, i)
		}
	}
	// The parser leaves the line out when it is the first one.
	return 1
}

// flowQuestionMark reports whether the 1-based line of data holds a "?"
// after a "{" or "[".
func flowQuestionMark(data []byte, line int) bool {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return false
	}
	l := lines[line-1]
	i := bytes.IndexAny(l, "{[")
	return i >= 0 && bytes.IndexByte(l[i:], '?') >= 0
}

// badByteLine returns the line of the first byte that YAML does not allow
// in a UTF-8 stream: invalid UTF-8, or a control character other than
// tab, LF and CR.
func badByteLine(data []byte) (int, bool) {
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return 1, true // UTF-16: its errors are beyond this simple scan
	}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		bad := r == utf8.RuneError && size <= 1 ||
			r < 0x20 && r != '\t' && r != '\n' && r != '\r' ||
			r >= 0x7f && r <= 0x9f && r != 0x85 ||
			r == 0xfffe || r == 0xffff
		if bad {
			return lineAt(data, i), true
		}
		i += size
	}
	return 0, false
}

// lineAt returns the 1-based line of byte offset i, counting line breaks
// as YAML does: CRLF, CR, LF, and NEL, LS and PS.
func lineAt(data []byte, i int) int {
	line := 1
	for j := 0; j < i && j < len(data); j++ {
		switch {
		case data[j] == '\n':
			line++
		case data[j] == '\r':
			if j+1 >= len(data) || data[j+1] != '\n' {
				line++
			}
		case bytes.HasPrefix(data[j:], []byte("\u0085")), bytes.HasPrefix(data[j:], []byte("\u2028")), bytes.HasPrefix(data[j:], []byte("\u2029")):
			line++
		}
	}
	return line
}
