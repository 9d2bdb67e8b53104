package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parseYAMLRoutes is the YAML front end of the routes file. It reads the document
// as a yaml.Node tree rather than into a struct, so that buildRoute can name the
// route and field of every problem.
func parseYAMLRoutes(data []byte) ([]entry, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case err == io.EOF: // only comments
		return nil, nil
	case err != nil:
		return nil, yamlError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, errors.New("more than one YAML document (---): put every route in one list")
	case err != io.EOF:
		return nil, yamlError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil
		}
		root = root.Content[0]
	}
	root = unalias(root)
	if root.ShortTag() == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: want a list of routes at the top level, got %s", root.Line, yamlKind(root))
	}
	entries := make([]entry, 0, len(root.Content))
	for _, n := range root.Content {
		entries = append(entries, yamlEntry(unalias(n)))
	}
	return entries, nil
}

func yamlEntry(n *yaml.Node) entry {
	if n.Kind != yaml.MappingNode {
		return entry{err: fmt.Errorf("want an object, got %s", yamlKind(n))}
	}
	var e entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := unalias(n.Content[i]), unalias(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return entry{err: fmt.Errorf("line %d: a field name must be a string, got %s", k.Line, yamlKind(k))}
		}
		e.fields = append(e.fields, field{name: k.Value, val: yamlValue{v}})
	}
	return e
}

// unalias follows *anchor references to the node they name.
func unalias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// yamlError drops the parser's "yaml: " prefix: the caller names the file already.
func yamlError(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// yamlValue is one field's value in a YAML routes file. As yaml.v3 does when it
// decodes into a string, any scalar reads as a string (path: 5 is "5"), while
// booleans and numbers must be written as such.
type yamlValue struct{ n *yaml.Node }

func (v yamlValue) isNull() bool { return v.n.Kind == yaml.ScalarNode && v.n.ShortTag() == "!!null" }

func (v yamlValue) want(what string) error {
	if v.n.Kind == yaml.ScalarNode {
		return fmt.Errorf("want %s, got %q", what, v.n.Value)
	}
	return fmt.Errorf("want %s, got %s", what, yamlKind(v.n))
}

func (v yamlValue) str() (string, error) {
	if v.n.Kind != yaml.ScalarNode {
		return "", v.want("a string")
	}
	return v.n.Value, nil
}

func (v yamlValue) boolean() (bool, error) {
	var b bool
	if v.n.Kind != yaml.ScalarNode || v.n.ShortTag() != "!!bool" || v.n.Decode(&b) != nil {
		return false, v.want("true or false")
	}
	return b, nil
}

func (v yamlValue) integer() (int, error) {
	var n int
	if v.n.Kind != yaml.ScalarNode || v.n.ShortTag() != "!!int" || v.n.Decode(&n) != nil {
		return 0, v.want("a whole number")
	}
	return n, nil
}

func (v yamlValue) strList() ([]string, error) {
	if v.n.Kind != yaml.SequenceNode {
		return nil, v.want("a list of strings")
	}
	list := make([]string, len(v.n.Content))
	for i, item := range v.n.Content {
		s, err := yamlValue{unalias(item)}.str()
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i+1, err)
		}
		list[i] = s
	}
	return list, nil
}

func (v yamlValue) scalarText() (string, error) { return v.str() }

// yamlKind names the type of a node, for messages.
func yamlKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return "a string"
	}
	return "nothing"
}
