package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// parseJSONRoutes is the JSON front end of the routes file: the top-level list is
// read element by element with a json.Decoder, each element's fields in order (a
// map would hide a field given twice).
func parseJSONRoutes(data []byte) ([]entry, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM, from some editors
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(data, err)
	}
	if tok != json.Delim('[') {
		return nil, fmt.Errorf("want a list of routes at the top level, got %s", jsonTokenKind(tok))
	}
	var entries []entry
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonError(data, err)
		}
		entries = append(entries, jsonEntry(raw))
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		return nil, jsonError(data, err)
	}
	switch _, err := dec.Token(); {
	case err == io.EOF:
		return entries, nil
	case err != nil:
		return nil, jsonError(data, err)
	default:
		return nil, errors.New("unexpected data after the list of routes")
	}
}

// jsonEntry splits one element of the list into its fields. The element is valid
// JSON already: the decoder checked it when it read the RawMessage.
func jsonEntry(raw json.RawMessage) entry {
	if k := jsonKind(raw); k != "an object" {
		return entry{err: fmt.Errorf("want an object, got %s", k)}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return entry{err: err}
	}
	var e entry
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return entry{err: err}
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return entry{err: err}
		}
		e.fields = append(e.fields, field{name: name, val: jsonValue(v)})
	}
	return e
}

// jsonError words a decoding error with the line and column it happened at.
func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return fmt.Errorf("line %d, column %d: %v", line, col, se)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("unexpected end of file")
	}
	return err
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// jsonValue is one field's value in a JSON routes file. JSON says what type a value
// is, so it is held to it: "15" is a string, 15 a number.
type jsonValue json.RawMessage

func (v jsonValue) isNull() bool { return jsonKind(v) == "null" }

func (v jsonValue) want(what string) error {
	return fmt.Errorf("want %s, got %s", what, jsonKind(v))
}

func (v jsonValue) str() (string, error) {
	var s string
	if jsonKind(v) != "a string" || json.Unmarshal(v, &s) != nil {
		return "", v.want("a string")
	}
	return s, nil
}

func (v jsonValue) boolean() (bool, error) {
	var b bool
	if jsonKind(v) != "a boolean" || json.Unmarshal(v, &b) != nil {
		return false, v.want("true or false")
	}
	return b, nil
}

func (v jsonValue) integer() (int, error) {
	var n int
	if jsonKind(v) != "a number" {
		return 0, v.want("a whole number")
	}
	if json.Unmarshal(v, &n) != nil {
		return 0, fmt.Errorf("want a whole number, got %s", v)
	}
	return n, nil
}

func (v jsonValue) strList() ([]string, error) {
	var items []json.RawMessage
	if jsonKind(v) != "a list" || json.Unmarshal(v, &items) != nil {
		return nil, v.want("a list of strings")
	}
	list := make([]string, len(items))
	for i, item := range items {
		s, err := jsonValue(item).str()
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i+1, err)
		}
		list[i] = s
	}
	return list, nil
}

func (v jsonValue) scalarText() (string, error) {
	if jsonKind(v) == "a number" {
		return string(v), nil
	}
	return v.str()
}

// jsonKind names the type of a JSON value from its first byte, for messages.
func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// jsonTokenKind names the type of the value a json.Decoder token starts.
func jsonTokenKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return "an object"
		}
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}
