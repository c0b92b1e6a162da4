package yamldoc

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Deref follows aliases to the node they name.
func Deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n (through aliases) is null: ~, null or nothing.
func IsNull(n *yaml.Node) bool {
	n = Deref(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// KindName names the kind of n (through aliases) for messages:
// "mapping", "list", "value" or "node".
func KindName(n *yaml.Node) string {
	switch Deref(n).Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "value"
	}
	return "node"
}

// Describe names what n is for messages: "a mapping", "a list", "null",
// a string quoted, another scalar as written.
func Describe(n *yaml.Node) string {
	n = Deref(n)
	if n.Kind != yaml.ScalarNode {
		return "a " + KindName(n)
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!str":
		return strconv.Quote(n.Value)
	}
	return n.Value
}

// Join returns the field path of name inside parent: "rules[3].to", or
// name alone when parent is "".
func Join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// Index returns the field path of item i of the list parent: "rules[3]".
func Index(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

// Clip cuts s to at most 80 bytes for a message, on a rune boundary,
// ending it with "…" when cut.
func Clip(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xc0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
