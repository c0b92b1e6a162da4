package ruleset

import (
	"strings"

	"github.com/detourhttp/detour"
)

// ReadTableCSV is ReadTable through encoding/csv whatever the text holds:
// what ReadTable's reader of quote-free text must agree with.
func ReadTableCSV(text, name string, t *detour.Table, mergeSlashes bool) detour.Diagnostics {
	tr := tableReader{name: name, t: t, merge: mergeSlashes}
	tr.readCSV(strings.NewReader(text))
	return tr.finish()
}
