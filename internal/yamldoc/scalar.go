package yamldoc

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// The scalar readers come in two families. Value and Number take a scalar
// as written whatever YAML makes of it (a quoted "42" is a number, null
// is ""), as a rules file does. Text, Str and Int hold a scalar to its
// YAML type and name what was found instead, as an expectations file
// does. Each reports a problem as "invalid" at field and returns false.

// Value returns the text of the scalar v as written; null is "".
func (r *Reader) Value(v *yaml.Node, field string) (string, bool) {
	vv := Deref(v)
	if vv.Kind != yaml.ScalarNode {
		r.Errorf(v.Line, field, "invalid", "must be a single value, not a %s", KindName(vv))
		return "", false
	}
	if vv.ShortTag() == "!!null" {
		return "", true
	}
	return vv.Value, true
}

// Number returns the whole number in [lo, hi] that the scalar v holds,
// quoted or not.
func (r *Reader) Number(v *yaml.Node, field string, lo, hi int) (int, bool) {
	s, ok := r.Value(v, field)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		r.Errorf(v.Line, field, "invalid", "must be a whole number, got %q", Clip(s))
		return 0, false
	}
	if n < lo || n > hi {
		r.Errorf(v.Line, field, "invalid", "must be between %d and %d, got %d", lo, hi, n)
		return 0, false
	}
	return n, true
}

// Text returns the scalar v as written: a string, or a number or boolean;
// null is refused.
func (r *Reader) Text(v *yaml.Node, field string) (string, bool) {
	n := Deref(v)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		r.Errorf(v.Line, field, "invalid", "must be a text value, not %s", Describe(n))
		return "", false
	}
	return n.Value, true
}

// Str returns the scalar v, which must be a YAML string.
func (r *Reader) Str(v *yaml.Node, field string) (string, bool) {
	n := Deref(v)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		r.Errorf(v.Line, field, "invalid", "must be a string, not %s", Describe(n))
		return "", false
	}
	return n.Value, true
}

// Int returns the YAML integer v (unquoted), which must lie in [lo, hi].
func (r *Reader) Int(v *yaml.Node, field string, lo, hi int) (int, bool) {
	n := Deref(v)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		r.Errorf(v.Line, field, "invalid", "must be a whole number, not %s", Describe(n))
		return 0, false
	}
	i, err := strconv.Atoi(n.Value)
	if err != nil || i < lo || i > hi {
		r.Errorf(v.Line, field, "invalid", "must be between %d and %d, not %s", lo, hi, n.Value)
		return 0, false
	}
	return i, true
}
