package yamldoc

import "bytes"

// go-yaml refuses a "?" inside a plain scalar in a flow collection
// (go-yaml/yaml#905): {url: /docs/a?x=1} is valid YAML — "?" is an
// indicator only first in a scalar and before a space — and the
// expectations example of SPEC §8 is written so. Parse works around it:
// when the library stops at such a line, the plain scalars holding "?"
// in the flow collection that begins on that line are put in double
// quotes, which is what they mean, and the document is parsed again. The
// rewrite adds characters within the line only, so every line number
// stays right.

// maxFlowWork bounds the bytes Parse parses again while it rewrites
// lines, one parse per line: 1,000 such lines of a 64 KB file (about a
// second); past it the error stands, with its hint to quote.
const maxFlowWork = 64 << 20

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
