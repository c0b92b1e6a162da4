package yamldoc

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

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

// CheckAliases reports an alias that refers to a node containing it, or
// aliases that together add more than limit nodes to root when expanded
// (naming the line of the alias that adds the most).
func CheckAliases(root *yaml.Node, limit int) *Error {
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
		return &Error{Line: max(at.Line, 1), Msg: fmt.Sprintf("alias *%s refers to a node that contains it", at.Value)}
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
	return &Error{Line: max(worst.Line, 1), Msg: fmt.Sprintf("YAML aliases expand the file by more than %d nodes (the cap); the last of the largest is *%s", limit, worst.Value)}
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
