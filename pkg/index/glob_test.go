package index

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/index/internal/cfnmatch"
)

// globCases are patterns whose meaning under find -name is easy to get
// wrong; each is checked against the C library and, for a few, against the
// expected answer.
var globCases = []struct {
	pattern, name string
	want          bool
}{
	{"*", ".hidden", true}, // find -name: '*' matches a leading dot
	{"?hidden", ".hidden", true},
	{"[.]hidden", ".hidden", true},
	{"*.go", "main.go", true},
	{"*.go", "main.go.orig", false},
	{"[!a]*", "abc", false},
	{"[^a]*", "bbc", true},
	{"[]]", "]", true},
	{"[!]]", "a", true},
	{"[a-c]x", "bx", true},
	{"[c-a]x", "bx", false},
	{`\*`, "*", true},
	{`\*`, "a", false},
	{`a\`, `a\`, false}, // a trailing backslash never matches
	{"[", "[", true},    // unterminated bracket is literal
	{"[a", "[a", true},
	{"[a-", "[a-", false},
	{"[[:alpha:]]", "x", true},
	{"[[:alpha:]]", "1", false},
	{"[[:nope:]]", "x", false},
	{"[[=a=]]", "a", true},
	{"[[.a.]-c]", "b", true},
	{"[a-]", "-", true},
	{`[\]]`, "]", true},
	{"*[", "x[", true},
	{"**?*", "", false},
	{"a*b*c", "aXbYc", true},
	{"[[:alpha:]", "[", false},
	{"[[", "[[", true}, // glibc 2.36: an unterminated bracket is rescanned as literal
	{"[[\\]", "[[]", true},
}

func TestGlobKnownCases(t *testing.T) {
	for _, c := range globCases {
		g, err := CompileGlob(c.pattern)
		if err != nil {
			t.Fatalf("compile %q: %v", c.pattern, err)
		}
		got := g.Match([]byte(c.name))
		libc := cfnmatch.Match(c.pattern, []byte(c.name))
		if got != libc {
			t.Errorf("Match(%q, %q) = %v, fnmatch(3) says %v", c.pattern, c.name, got, libc)
		}
		if got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

func TestGlobRefusesSlash(t *testing.T) {
	if _, err := CompileGlob("a/b"); err == nil {
		t.Fatal("pattern with '/' accepted")
	}
}

// TestGlobAgainstLibc compares many random patterns built from the special
// bytes with the C library's fnmatch.
func TestGlobAgainstLibc(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const patBytes = `ab*?[]!^-\:.=z`
	classes := []string{"[:alpha:]", "[:digit:]", "[:nope:]", "[=a=]", "[.b.]", "[:"}
	nameBytes := []byte{'a', 'b', '.', '-', ']', '[', '\\', '!', 'z', 0xff, '1', ':'}
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for i := 0; i < n; i++ {
		var pb strings.Builder
		for j := r.IntN(8); j >= 0; j-- {
			if r.IntN(10) == 0 {
				pb.WriteString(classes[r.IntN(len(classes))])
				continue
			}
			pb.WriteByte(patBytes[r.IntN(len(patBytes))])
		}
		name := make([]byte, r.IntN(6))
		for k := range name {
			name[k] = nameBytes[r.IntN(len(nameBytes))]
		}
		checkGlob(t, pb.String(), name)
	}
}

func checkGlob(t *testing.T, pattern string, name []byte) {
	t.Helper()
	if strings.ContainsRune(pattern, 0) || strings.ContainsRune(pattern, '/') || strings.ContainsRune(string(name), 0) {
		return
	}
	g, err := CompileGlob(pattern)
	if err != nil {
		t.Fatalf("compile %q: %v", pattern, err)
	}
	if got, want := g.Match(name), cfnmatch.Match(pattern, name); got != want {
		t.Fatalf("Match(%q, %q) = %v, fnmatch(3) says %v", pattern, name, got, want)
	}
}

func FuzzGlob(f *testing.F) {
	for _, c := range globCases {
		f.Add(c.pattern, []byte(c.name))
	}
	f.Add("[[:"+strings.Repeat("a", 300)+":]]", []byte("a"))
	f.Fuzz(func(t *testing.T, pattern string, name []byte) {
		if len(pattern) > 64 || len(name) > 64 {
			return // glibc's matcher, like ours, is exponential on long star patterns
		}
		checkGlob(t, pattern, name)
	})
}
