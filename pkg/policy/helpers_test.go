package policy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// examplePolicy parses one of the repository's example policies.
func examplePolicy(t testing.TB, name string) *Policy {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "policies", name))
	if err != nil {
		t.Fatalf("read example policy %s: %v", name, err)
	}
	p, probs := Parse(data)
	if probs != nil {
		t.Fatalf("example policy %s is invalid:\n%v", name, probs)
	}
	return p
}

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
