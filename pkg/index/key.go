package index

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Keys order the table. A key is the encoded parent path, the group
// separator "\x00\x00", then the entry's name:
//
//	key("a/b/c") = "a" + "\x00\x01" + "b" + "\x00\x00" + "c"
//
// Names never contain NUL, so the first "\x00\x00" in a key ends the parent
// and every key of one parent starts with the same bytes: the immediate
// children of a directory are one contiguous range, and listing a directory
// reads only the blocks of that range. Between groups, a path component ends
// in "\x00\x00" or "\x00\x01", both below every name byte, so groups come in
// depth-first pre-order with siblings sorted bytewise — the order in which a
// walker that sorts each directory's children can emit them.

const (
	sepGroup = "\x00\x00" // ends the parent part of a key
	sepComp  = "\x00\x01" // joins components inside the parent part
)

// appendDirPrefix appends the key prefix shared by all children of dir
// ("" is the root).
func appendDirPrefix(dst []byte, dir string) []byte {
	for i := 0; i < len(dir); i++ {
		if dir[i] == '/' {
			dst = append(dst, sepComp...)
		} else {
			dst = append(dst, dir[i])
		}
	}
	return append(dst, sepGroup...)
}

// appendKey appends the key of path to dst.
func appendKey(dst []byte, path string) []byte {
	dir, name := splitPath(path)
	dst = appendDirPrefix(dst, dir)
	return append(dst, name...)
}

// splitPath splits a relative path into its parent and name.
func splitPath(path string) (dir, name string) {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i], path[i+1:]
	}
	return "", path
}

var errBadKey = errors.New("malformed key")

// keyName returns the name part of a valid key.
func keyName(key []byte) []byte {
	return key[bytes.LastIndexByte(key, 0)+1:]
}

// checkKey validates the structure of a key read from an index.
func checkKey(key []byte) error {
	g := bytes.Index(key, []byte(sepGroup))
	if g < 0 {
		return fmt.Errorf("%w: no group separator", errBadKey)
	}
	name := key[g+2:]
	if len(name) == 0 || bytes.IndexByte(name, 0) >= 0 || bytes.IndexByte(name, '/') >= 0 {
		return fmt.Errorf("%w: bad name", errBadKey)
	}
	parent := key[:g]
	if g == 0 {
		return nil
	}
	if bytes.IndexByte(parent, '/') >= 0 {
		return fmt.Errorf("%w: slash in parent", errBadKey)
	}
	// Each component non-empty and every NUL followed by 0x01.
	start := 0
	for i := 0; i < len(parent); i++ {
		if parent[i] != 0 {
			continue
		}
		if i+1 >= len(parent) || parent[i+1] != 1 || i == start {
			return fmt.Errorf("%w: bad component separator", errBadKey)
		}
		i++
		start = i + 1
	}
	if start == len(parent) {
		return fmt.Errorf("%w: empty component", errBadKey)
	}
	return nil
}

// appendKeyPath appends the slash path of a valid key to dst.
func appendKeyPath(dst, key []byte) []byte {
	g := bytes.Index(key, []byte(sepGroup))
	for i := 0; i < g; i++ {
		if key[i] == 0 {
			dst = append(dst, '/')
			i++
			continue
		}
		dst = append(dst, key[i])
	}
	if g > 0 {
		dst = append(dst, '/')
	}
	return append(dst, key[g+2:]...)
}

// validPath reports whether p is a relative path the index can hold: non-empty
// components separated by single slashes, no NUL.
func validPath(p string) bool {
	if p == "" || strings.IndexByte(p, 0) >= 0 || p[0] == '/' || p[len(p)-1] == '/' || strings.Contains(p, "//") {
		return false
	}
	return true
}

// CleanDir turns a user-given directory ("/", ".", "a/b/", "/a//b") into the
// form keys use ("" for the root, "a/b"). It does not resolve "..".
func CleanDir(dir string) string {
	parts := strings.Split(dir, "/")
	out := parts[:0]
	for _, p := range parts {
		if p != "" && p != "." {
			out = append(out, p)
		}
	}
	return strings.Join(out, "/")
}

// ComparePaths orders two relative paths the way an index stores them: by
// parent directory in depth-first order, then by name bytes. Writer.Add
// needs entries in this order.
func ComparePaths(a, b string) int {
	return bytes.Compare(appendKey(nil, a), appendKey(nil, b))
}
