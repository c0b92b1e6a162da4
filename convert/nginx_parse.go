package convert

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Directive is one nginx directive: a name, its arguments (quotes removed,
// escapes applied) and, for a block directive, the directives inside.
type Directive struct {
	Name string
	Args []string
	// Block is nil for a simple directive, non-nil (perhaps empty) for a
	// block.
	Block []*Directive
	File  string
	Line  int
}

// FileReader reads the files an import pulls in. The zero value reads
// the file system.
type FileReader struct {
	// ReadFile reads a file; nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)
	// Glob lists the files a pattern names; nil means filepath.Glob.
	Glob func(pattern string) ([]string, error)
}

func (fr FileReader) readFile(name string) ([]byte, error) {
	if fr.ReadFile != nil {
		return fr.ReadFile(name)
	}
	return os.ReadFile(name)
}

func (fr FileReader) glob(p string) ([]string, error) {
	if fr.Glob != nil {
		return fr.Glob(p)
	}
	return filepath.Glob(p)
}

// maxIncludeDepth bounds nested includes (and include loops).
const maxIncludeDepth = 16

// nginxParser parses nginx configuration files.
type nginxParser struct {
	fr FileReader
	// root is the folder of the top file: nginx resolves relative include
	// paths against its configuration prefix, the folder of nginx.conf.
	root     string
	findings Findings
}

// ParseNginx parses nginx configuration text, following include
// directives through fr (relative paths against the folder of name, as
// nginx does against the folder of its main file, then against the
// including file's folder). It fails with an error wrapping ErrSyntax,
// naming file and line, when the text is not nginx syntax.
func ParseNginx(data []byte, name string, fr FileReader) ([]*Directive, Findings, error) {
	p := &nginxParser{fr: fr, root: filepath.Dir(name)}
	ds, err := p.parse(data, name, 0)
	return ds, p.findings, err
}

func (p *nginxParser) parse(data []byte, name string, depth int) ([]*Directive, error) {
	if err := checkText(data, name); err != nil {
		return nil, err
	}
	t := &tokenizer{src: data, file: name, line: 1}
	ds, end, err := p.block(t, depth)
	if err != nil {
		return nil, err
	}
	if end == "}" {
		return nil, &syntaxError{file: name, line: t.line, msg: `unexpected "}"`}
	}
	return ds, nil
}

// block reads directives up to the end of input or a closing brace, and
// returns which it met ("" or "}").
func (p *nginxParser) block(t *tokenizer, depth int) ([]*Directive, string, error) {
	var out []*Directive
	for {
		var words []string
		line := 0
		for {
			tok, err := t.next()
			if err != nil {
				return nil, "", err
			}
			if line == 0 {
				line = tok.line
			}
			switch {
			case tok.kind == tokEOF:
				if len(words) > 0 {
					return nil, "", &syntaxError{file: t.file, line: t.line, msg: "unexpected end of file, expecting \";\" or \"}\""}
				}
				return out, "", nil
			case tok.kind == tokSemi:
				if len(words) == 0 {
					return nil, "", &syntaxError{file: t.file, line: tok.line, msg: `unexpected ";"`}
				}
				d := &Directive{Name: words[0], Args: words[1:], File: t.file, Line: line}
				if d.Name == "include" {
					inc, err := p.include(d, depth)
					if err != nil {
						return nil, "", err
					}
					out = append(out, inc...)
				} else {
					out = append(out, d)
				}
			case tok.kind == tokOpen:
				if len(words) == 0 {
					return nil, "", &syntaxError{file: t.file, line: tok.line, msg: `unexpected "{"`}
				}
				inner, end, err := p.block(t, depth)
				if err != nil {
					return nil, "", err
				}
				if end != "}" {
					return nil, "", &syntaxError{file: t.file, line: t.line, msg: "unexpected end of file, expecting \"}\""}
				}
				if inner == nil {
					inner = []*Directive{}
				}
				out = append(out, &Directive{Name: words[0], Args: words[1:], Block: inner, File: t.file, Line: line})
			case tok.kind == tokClose:
				if len(words) > 0 {
					return nil, "", &syntaxError{file: t.file, line: tok.line, msg: `unexpected "}"`}
				}
				return out, "}", nil
			default:
				words = append(words, tok.text)
				continue
			}
			break
		}
	}
}

// include reads the files an include directive names.
func (p *nginxParser) include(d *Directive, depth int) ([]*Directive, error) {
	if len(d.Args) != 1 {
		return nil, &syntaxError{file: d.File, line: d.Line, msg: "include takes one file or pattern"}
	}
	if depth >= maxIncludeDepth {
		return nil, &syntaxError{file: d.File, line: d.Line, msg: fmt.Sprintf("includes nest deeper than %d (an include loop?)", maxIncludeDepth)}
	}
	pat := d.Args[0]
	var names []string
	if filepath.IsAbs(pat) {
		names = p.expand(pat)
	} else {
		names = p.expand(filepath.Join(p.root, pat))
		if len(names) == 0 {
			names = p.expand(filepath.Join(filepath.Dir(d.File), pat))
		}
	}
	if len(names) == 0 {
		if !strings.ContainsAny(pat, "*?[") {
			// nginx would refuse to start; the import goes on without it.
			p.findings = append(p.findings, Finding{File: d.File, Line: d.Line, Lost: true,
				Message: fmt.Sprintf("include %s: no such file; whatever it holds is not imported", pat)})
		}
		return nil, nil // nginx accepts a pattern that names no file
	}
	var out []*Directive
	for _, n := range names {
		data, err := p.fr.readFile(n)
		if err != nil {
			return nil, &syntaxError{file: d.File, line: d.Line, msg: fmt.Sprintf("include: %v", err)}
		}
		ds, err := p.parse(data, n, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	return out, nil
}

func (p *nginxParser) expand(pat string) []string {
	if !strings.ContainsAny(pat, "*?[") {
		if _, err := p.fr.readFile(pat); err != nil {
			return nil
		}
		return []string{pat}
	}
	names, err := p.fr.glob(pat)
	if err != nil {
		return nil
	}
	slices.Sort(names)
	return names
}

type tokKind int

const (
	tokWord tokKind = iota
	tokSemi
	tokOpen
	tokClose
	tokEOF
)

type token struct {
	kind tokKind
	text string
	line int
}

// tokenizer splits nginx configuration text into words, ";", "{" and
// "}", as nginx's ngx_conf_read_token does: "#" starts a comment at the
// start of a word, single and double quotes group, a backslash escapes
// the next character.
type tokenizer struct {
	src  []byte
	pos  int
	file string
	line int
}

func (t *tokenizer) next() (token, error) {
	// Skip space and comments.
	for t.pos < len(t.src) {
		c := t.src[t.pos]
		switch {
		case c == '\n':
			t.line++
			t.pos++
		case c == ' ' || c == '\t' || c == '\r':
			t.pos++
		case c == '#':
			for t.pos < len(t.src) && t.src[t.pos] != '\n' {
				t.pos++
			}
		default:
			goto word
		}
	}
	return token{kind: tokEOF, line: t.line}, nil
word:
	line := t.line
	switch t.src[t.pos] {
	case ';':
		t.pos++
		return token{kind: tokSemi, line: line}, nil
	case '{':
		t.pos++
		return token{kind: tokOpen, line: line}, nil
	case '}':
		t.pos++
		return token{kind: tokClose, line: line}, nil
	case '"', '\'':
		q := t.src[t.pos]
		t.pos++
		var b strings.Builder
		for {
			if t.pos >= len(t.src) {
				return token{}, &syntaxError{file: t.file, line: line, msg: "unterminated quoted string"}
			}
			c := t.src[t.pos]
			switch {
			case c == q:
				t.pos++
				if t.pos < len(t.src) && !isNginxSpace(t.src[t.pos]) && t.src[t.pos] != ';' && t.src[t.pos] != '{' && t.src[t.pos] != '}' {
					return token{}, &syntaxError{file: t.file, line: t.line, msg: fmt.Sprintf("unexpected %q after a quoted string", t.src[t.pos])}
				}
				return token{kind: tokWord, text: b.String(), line: line}, nil
			case c == '\\' && t.pos+1 < len(t.src):
				t.pos++
				writeEscape(&b, t.src[t.pos])
				if t.src[t.pos] == '\n' {
					t.line++
				}
			case c == '\n':
				t.line++
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
			t.pos++
		}
	}
	var b strings.Builder
	for t.pos < len(t.src) {
		c := t.src[t.pos]
		switch {
		case isNginxSpace(c) || c == ';' || c == '{' && !varBrace(t.src, t.pos) || c == '}' && !inVarBrace(b.String()):
			return token{kind: tokWord, text: b.String(), line: line}, nil
		case c == '\\' && t.pos+1 < len(t.src):
			t.pos++
			writeEscape(&b, t.src[t.pos])
			if t.src[t.pos] == '\n' {
				t.line++
			}
		default:
			b.WriteByte(c)
		}
		t.pos++
	}
	return token{kind: tokWord, text: b.String(), line: line}, nil
}

// varBrace reports whether the "{" at i opens a "${name}" variable.
func varBrace(src []byte, i int) bool { return i > 0 && src[i-1] == '$' }

// inVarBrace reports whether the word so far ends inside "${…".
func inVarBrace(w string) bool {
	i := strings.LastIndex(w, "${")
	return i >= 0 && !strings.Contains(w[i:], "}")
}

// writeEscape writes the character after a backslash as nginx reads it:
// \" \' \\ lose the backslash, \t \r \n are controls, any other keeps it
// (so regexes keep "\.").
func writeEscape(b *strings.Builder, c byte) {
	switch c {
	case '"', '\'', '\\':
		b.WriteByte(c)
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case 'n':
		b.WriteByte('\n')
	default:
		b.WriteByte('\\')
		b.WriteByte(c)
	}
}

func isNginxSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
