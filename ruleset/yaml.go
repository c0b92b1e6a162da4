package ruleset

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

// yamlError is a YAML syntax error with the line it was found on.
type yamlError struct {
	line int
	msg  string
}

// parseYAML parses data as one YAML document and returns its root node:
// nil for an empty document. It never panics; every error carries a line
// (1 when the parser gave none and none could be worked out).
func parseYAML(data []byte) (root *yaml.Node, yerr *yamlError) {
	defer func() {
		// The YAML library reports its own errors as values; a panic
		// is a bug in it, and a rules file must never bring the
		// server down.
		if p := recover(); p != nil {
			root, yerr = nil, &yamlError{line: 1, msg: fmt.Sprintf("the YAML parser failed: %v", p)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &yamlError{line: max(next.Line, 1), msg: "a rules file holds one YAML document; a second one begins here"}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(data, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var lineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError turns an error of the YAML library into a yamlError with a
// line: the one it names, or one found from the message's cause.
func syntaxError(data []byte, err error) *yamlError {
	msg := err.Error()
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &yamlError{line: max(line, 1), msg: strings.TrimPrefix(msg, m[0])}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	// Errors of the reader (encoding) and a few of the parser carry no
	// line; work it out from the input.
	if line, ok := badByteLine(data); ok {
		return &yamlError{line: line, msg: msg}
	}
	if name, ok := strings.CutPrefix(msg, "unknown anchor '"); ok {
		name, _, _ = strings.Cut(name, "'")
		if i := bytes.Index(data, []byte("*"+name)); i >= 0 {
			return &yamlError{line: lineAt(data, i), msg: msg}
		}
	}
	// The parser leaves the line out when it is the first one.
	return &yamlError{line: 1, msg: msg}
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

// aliasBudget measures how many nodes the aliases of a document add when
// expanded, without expanding them: each node's expanded size is worked
// out once, and sizes saturate at ceiling so that nothing overflows.
type aliasBudget struct {
	size    map[*yaml.Node]int
	active  map[*yaml.Node]bool
	ceiling int
}

// errAliasCycle: an anchor's value refers to the anchor itself.
var errAliasCycle = errors.New("alias cycle")

// checkAliases reports an alias that refers to a node containing it, or
// aliases that together add more than limit nodes to root when expanded
// (naming the line of the alias that adds the most).
func checkAliases(root *yaml.Node, limit int) *yamlError {
	direct := 0
	hasAlias := false
	walkDirect(root, func(n *yaml.Node) {
		direct++
		hasAlias = hasAlias || n.Kind == yaml.AliasNode
	})
	if !hasAlias {
		return nil
	}
	b := aliasBudget{size: make(map[*yaml.Node]int), active: make(map[*yaml.Node]bool), ceiling: direct + limit + 1}
	expanded, at, err := b.expand(root)
	if err != nil {
		return &yamlError{line: max(at.Line, 1), msg: fmt.Sprintf("alias *%s refers to a node that contains it", at.Value)}
	}
	if expanded-direct <= limit {
		return nil
	}
	var worst *yaml.Node
	walkDirect(root, func(n *yaml.Node) {
		// The last of the largest: aliases are used after they are
		// defined, and the use is what the reader should look at.
		if n.Kind == yaml.AliasNode && (worst == nil || b.size[n] >= b.size[worst]) {
			worst = n
		}
	})
	return &yamlError{line: max(worst.Line, 1), msg: fmt.Sprintf("YAML aliases expand the file by more than %d nodes (the cap); the last of the largest is *%s", limit, worst.Value)}
}

// walkDirect calls fn for every node of n as written, an alias as one
// node.
func walkDirect(n *yaml.Node, fn func(*yaml.Node)) {
	fn(n)
	for _, c := range n.Content {
		walkDirect(c, fn)
	}
}

// expand returns the expanded size of n, at most b.ceiling. On a cycle it
// returns the alias node that closes it.
func (b *aliasBudget) expand(n *yaml.Node) (int, *yaml.Node, error) {
	if s, ok := b.size[n]; ok {
		return s, nil, nil
	}
	if b.active[n] {
		return 0, nil, errAliasCycle
	}
	b.active[n] = true
	defer delete(b.active, n)
	total := 1
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		s, at, err := b.expand(n.Alias)
		if err != nil {
			if at == nil {
				at = n
			}
			return 0, at, err
		}
		total = s
	}
	for _, c := range n.Content {
		s, at, err := b.expand(c)
		if err != nil {
			return 0, at, err
		}
		total = min(total+s, b.ceiling)
	}
	b.size[n] = total
	return total, nil, nil
}
