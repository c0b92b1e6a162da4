package convert

import (
	"bytes"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/detourhttp/detour"
)

// Emit writes d as a detour rules document. Rules keep their order;
// each carries its origin as a comment. Two rules whose derived ids would
// collide get explicit ids, so the document always loads.
func Emit(d *Doc) []byte {
	root := &yaml.Node{Kind: yaml.MappingNode}
	if d.Header != "" {
		root.HeadComment = d.Header
	}
	if d.FirstMatch {
		addPair(root, "order", str("first-match"))
	}
	if d.MergeSlashes {
		addPair(root, "merge_slashes", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	rules := &yaml.Node{Kind: yaml.SequenceNode}
	seen := make(map[string]int)
	for _, r := range d.Rules {
		m := &yaml.Node{Kind: yaml.MappingNode}
		if r.Origin != "" {
			m.HeadComment = r.Origin
		}
		id := detour.DeriveID(r.Host, r.From, r.Methods)
		if n := seen[id]; n > 0 {
			seen[id] = n + 1
			addPair(m, "id", str(id+"-"+strconv.Itoa(n+1)))
		} else {
			seen[id] = 1
		}
		if r.Host != "" {
			addPair(m, "host", str(r.Host))
		}
		if r.Scheme != "" {
			addPair(m, "scheme", str(r.Scheme))
		}
		from := r.From
		if r.CaseInsensitive && strings.HasPrefix(from, "~") && !strings.HasPrefix(from, "~*") {
			from = "~*" + from[1:] // an exact path written as a regex
		}
		addPair(m, "from", str(from))
		if r.Status != detour.StatusGone {
			addPair(m, "to", str(r.To))
		}
		if r.Status != 0 && r.Status != detour.DefaultStatus {
			addPair(m, "status", num(r.Status))
		}
		if r.Query != "" && r.Query != detour.QueryPreserve && r.Status != detour.StatusGone {
			addPair(m, "query", str(string(r.Query)))
		}
		if len(r.Methods) > 0 {
			ms := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, x := range r.Methods {
				ms.Content = append(ms.Content, str(x))
			}
			addPair(m, "methods", ms)
		}
		if r.CaseInsensitive && !strings.HasPrefix(r.From, "~") {
			addPair(m, "case", str("insensitive"))
		}
		if r.Priority != 0 {
			addPair(m, "priority", num(r.Priority))
		}
		rules.Content = append(rules.Content, m)
	}
	addPair(root, "rules", rules)
	if len(d.Tables) > 0 {
		tables := &yaml.Node{Kind: yaml.SequenceNode}
		for _, t := range d.Tables {
			m := &yaml.Node{Kind: yaml.MappingNode, HeadComment: t.Origin}
			addPair(m, "file", str(t.File.Name))
			if t.Host != "" {
				addPair(m, "host", str(t.Host))
			}
			if t.Status != 0 && t.Status != detour.DefaultStatus {
				addPair(m, "status", num(t.Status))
			}
			if t.Query != "" && t.Query != detour.QueryPreserve {
				addPair(m, "query", str(string(t.Query)))
			}
			if t.CaseInsensitive {
				addPair(m, "case", str("insensitive"))
			}
			tables.Content = append(tables.Content, m)
		}
		addPair(root, "tables", tables)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		// Encoding a tree of plain scalars cannot fail.
		panic("convert: encode YAML: " + err.Error())
	}
	enc.Close()
	return b.Bytes()
}

func addPair(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, str(key), v)
}

// str is a string scalar, quoted when YAML would read it as something
// else.
func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func num(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}

// csvTable renders rows as a CSV table with a header row.
func csvTable(rows [][3]string) []byte {
	var b bytes.Buffer
	b.WriteString("from,to,status\n")
	for _, r := range rows {
		for i, f := range r {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(csvField(f))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n#") && strings.TrimSpace(s) == s {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
