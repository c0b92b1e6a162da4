package yamldoc

import (
	"bytes"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// go-yaml refuses a "?" inside a plain scalar in a flow collection
// (go-yaml/yaml#905): {url: /docs/a?x=1} is valid YAML — "?" is an
// indicator only first in a scalar and before a space — and the
// expectations example of SPEC §8 is written so. Parse works around it:
// when the library stops at such a line, the plain scalars holding "?"
// in the flow collections that begin and end on that line and on every
// line after it are put in double quotes, which is what they mean, and
// the document is parsed again — kept only if each rewritten line holds
// a flow collection in the result. Else (a line inside a block scalar
// looked like one) Parse goes line by line: it quotes the line the
// library stops at, and parses again. The rewrite adds characters within
// a line only, so every line number stays right.

// maxFlowWork bounds the bytes Parse parses again when it must go line by
// line, one parse per line: 1,000 such lines of a 64 KB file (about a
// second); past it the error stands, with its hint to quote.
const maxFlowWork = 64 << 20

// quoteFlowFrom rewrites, as quoteFlowLine does, every line of data from
// the 1-based line n on, and returns the lines it changed, each with the
// 1-based column where its collection begins. The caller keeps the
// rewrite only when the document then holds a flow collection at each of
// those places (flowCollectionsAt): a line that merely looks like one —
// inside a block scalar, say — must not be touched.
func quoteFlowFrom(data []byte, n int) ([]byte, map[int]int) {
	out := make([]byte, 0, len(data)+len(data)/8)
	at := map[int]int{}
	for line := 1; len(data) > 0; line++ {
		l, rest, nl := bytes.Cut(data, []byte("\n"))
		data = rest
		if line >= n {
			if q, ok := quoteFlowLine(l); ok {
				at[line] = utf8.RuneCount(l[:flowStart(l)]) + 1
				l = q
			}
		}
		out = append(out, l...)
		if nl {
			out = append(out, '\n')
		}
	}
	return out, at
}

// flowCollectionsAt reports whether root holds a flow mapping or sequence
// beginning at each line and column of at.
func flowCollectionsAt(root *yaml.Node, at map[int]int) bool {
	found := 0
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && n.Style&yaml.FlowStyle != 0 && at[n.Line] == n.Column {
			found++
			return // a collection nested in it begins later on the line
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	return found == len(at)
}

// quoteFlowQuestion rewrites line 1-based n of data as quoteFlowLine does
// and reports whether it changed anything.
func quoteFlowQuestion(data []byte, n int) ([]byte, bool) {
	start := 0
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data[start:], '\n')
		if j < 0 {
			return data, false
		}
		start += j + 1
	}
	end := len(data)
	if j := bytes.IndexByte(data[start:], '\n'); j >= 0 {
		end = start + j
	}
	line, ok := quoteFlowLine(data[start:end])
	if !ok {
		return data, false
	}
	out := make([]byte, 0, len(data)+len(line)-(end-start))
	out = append(out, data[:start]...)
	out = append(out, line...)
	return append(out, data[end:]...), true
}

// quoteFlowLine finds the flow collection that begins on line — after the
// indentation and any "- ", or after a "key: " — and returns the line
// with each plain scalar in it that holds a "?" double-quoted. It leaves
// the line alone (false) when no collection begins on it, or when the
// collection does not end on it.
func quoteFlowLine(line []byte) ([]byte, bool) {
	start := flowStart(line)
	if start < 0 {
		return nil, false
	}
	out := append([]byte(nil), line[:start]...)
	changed, depth := false, 0
	for i := start; i < len(line); {
		c := line[i]
		switch {
		case c == '{' || c == '[':
			depth++
			out = append(out, c)
			i++
		case c == '}' || c == ']':
			depth--
			out = append(out, c)
			i++
			if depth == 0 {
				return append(out, line[i:]...), changed
			}
		case c == ',' || c == ' ' || c == '\t' || c == ':':
			out = append(out, c)
			i++
		case c == '"' || c == '\'':
			j := quotedEnd(line, i)
			if j < 0 {
				return nil, false
			}
			out = append(out, line[i:j]...)
			i = j
		case c == '#' && (line[i-1] == ' ' || line[i-1] == '\t'):
			return nil, false // a comment inside an open collection
		default:
			j := plainEnd(line, i)
			tok := line[i:j]
			if bytes.IndexByte(tok, '?') > 0 && c != '&' && c != '*' && c != '!' {
				out = appendDoubleQuoted(out, tok)
				changed = true
			} else {
				out = append(out, tok...)
			}
			i = j
		}
	}
	return nil, false // the collection goes on past the line
}

// flowStart returns the index of the "{" or "[" that begins a flow
// collection on line, -1 when none does.
func flowStart(line []byte) int {
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i+1 < len(line) && line[i] == '-' && (line[i+1] == ' ' || line[i+1] == '\t') {
			i += 2
			continue
		}
		break
	}
	if i < len(line) && (line[i] == '{' || line[i] == '[') {
		return i
	}
	// key: {…}, with a plain or quoted key.
	for i < len(line) {
		switch c := line[i]; {
		case c == '"' || c == '\'':
			j := quotedEnd(line, i)
			if j < 0 {
				return -1
			}
			i = j
		case c == ':' && i+1 < len(line) && (line[i+1] == ' ' || line[i+1] == '\t'):
			i++
			for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
				i++
			}
			if i < len(line) && (line[i] == '{' || line[i] == '[') {
				return i
			}
			return -1
		case c == '#' && i > 0 && (line[i-1] == ' ' || line[i-1] == '\t'):
			return -1
		default:
			i++
		}
	}
	return -1
}

// quotedEnd returns the index just past the quoted scalar that begins at
// line[i], -1 when it does not end on the line.
func quotedEnd(line []byte, i int) int {
	q := line[i]
	for j := i + 1; j < len(line); j++ {
		switch {
		case q == '"' && line[j] == '\\':
			j++
		case line[j] == q && q == '\'' && j+1 < len(line) && line[j+1] == '\'':
			j++ // '' is a quote inside single quotes
		case line[j] == q:
			return j + 1
		}
	}
	return -1
}

// plainEnd returns where the plain scalar (or anchor, alias or tag) that
// begins at line[i] ends inside a flow collection: before a flow
// indicator, a ": " (or ":" before an indicator), a " #", or the end of
// the line; trailing white space is not part of it.
func plainEnd(line []byte, i int) int {
	j := i
	for ; j < len(line); j++ {
		c := line[j]
		if c == ',' || c == '[' || c == ']' || c == '{' || c == '}' {
			break
		}
		if c == ':' && (j+1 == len(line) || bytes.IndexByte([]byte(" \t,[]{}"), line[j+1]) >= 0) {
			break
		}
		if c == '#' && j > i && (line[j-1] == ' ' || line[j-1] == '\t') {
			break
		}
	}
	for j > i && (line[j-1] == ' ' || line[j-1] == '\t') {
		j--
	}
	return j
}

// appendDoubleQuoted appends s as a double-quoted YAML scalar.
func appendDoubleQuoted(dst, s []byte) []byte {
	dst = append(dst, '"')
	for _, c := range s {
		if c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}
