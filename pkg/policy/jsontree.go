package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The policy decoder first reads the document into a small tree that keeps
// object members in order and repeated keys, because encoding/json stops at
// the first unknown field or type error and silently keeps the last of two
// equal keys; an admin needs every problem, and a repeated key is a typo that
// can turn a setting off.

type nodeKind int

const (
	kindNull nodeKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k nodeKind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "true or false"
	case kindNumber:
		return "a number"
	case kindString:
		return "a string"
	case kindArray:
		return "a list"
	default:
		return "an object"
	}
}

type node struct {
	kind    nodeKind
	str     string // string value or number literal
	boolean bool
	items   []*node
	members []member
}

type member struct {
	key string
	val *node
}

// maxDepth bounds nesting: the schema is five levels deep, and a hostile
// document must not exhaust the stack.
const maxDepth = 32

// MaxDocumentSize is the largest policy document Parse reads, in bytes; real
// policies are a few kilobytes, and the store keeps them in one DynamoDB item.
const MaxDocumentSize = 128 << 10

var errTooDeep = errors.New("the document is nested too deeply; a policy is at most five levels deep")

// parseTree reads one JSON value from data and checks that nothing follows.
func parseTree(data []byte) (*node, error) {
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("the document is %d bytes; a policy may be at most %d bytes", len(data), MaxDocumentSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := readNode(dec, 0)
	if err != nil {
		return nil, describeSyntax(data, err)
	}
	off := dec.InputOffset()
	for off < int64(len(data)) && strings.ContainsRune(" \t\r\n", rune(data[off])) {
		off++
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, describeSyntax(data, err)
		}
		return nil, fmt.Errorf("unexpected data after the policy object at %s; a file holds exactly one policy", lineCol(data, off))
	}
	return n, nil
}

func readNode(dec *json.Decoder, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &node{kind: kindNull}, nil
	case bool:
		return &node{kind: kindBool, boolean: t}, nil
	case json.Number:
		return &node{kind: kindNumber, str: string(t)}, nil
	case string:
		return &node{kind: kindString, str: t}, nil
	case json.Delim:
		switch t {
		case '[':
			n := &node{kind: kindArray}
			for dec.More() {
				item, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, item)
			}
			_, err := dec.Token() // ']'
			return n, err
		case '{':
			n := &node{kind: kindObject}
			for dec.More() {
				keyTok, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := keyTok.(string)
				val, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.members = append(n.members, member{key: key, val: val})
			}
			_, err := dec.Token() // '}'
			return n, err
		}
	}
	return nil, fmt.Errorf("unexpected %v", tok)
}

// describeSyntax turns a decoder error into a sentence with a line and column.
func describeSyntax(data []byte, err error) error {
	if errors.Is(err, errTooDeep) {
		return err
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("the document is not valid JSON: %s at %s", se.Error(), lineCol(data, se.Offset))
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if len(bytes.TrimSpace(data)) == 0 {
			return errors.New("the document is empty; write the policy as a JSON object")
		}
		return errors.New("the document is not valid JSON: it ends before the policy object is closed")
	}
	return fmt.Errorf("the document is not valid JSON: %w", err)
}

func lineCol(data []byte, off int64) string {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}
