package notify

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares a rendered mail with testdata/<name>.golden (subject on
// the first line, a blank line, then the body), rewriting it with -update,
// and checks what every mail must satisfy whatever its input.
func golden(t *testing.T, name, subj, body string) {
	t.Helper()
	checkMail(t, subj, body)
	got := "Subject: " + subj + "\n\n" + body
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/notify -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./pkg/notify -update rewrites it after review):\n%s", path, lineDiff(string(want), got))
	}
}

// checkMail: a subject SNS takes (one line, at most 99 characters, no
// control characters); a body of valid UTF-8 whose only control character
// is the line break, under SNS's 256 KiB.
func checkMail(t *testing.T, subj, body string) {
	t.Helper()
	if n := utf8.RuneCountInString(subj); n == 0 || n > MaxSubject {
		t.Errorf("subject of %d characters: %q", n, subj)
	}
	for _, r := range subj {
		if unicode.IsControl(r) {
			t.Errorf("control character %U in subject %q", r, subj)
		}
	}
	if !utf8.ValidString(subj) || !utf8.ValidString(body) {
		t.Error("invalid UTF-8 in the mail")
	}
	for i, line := range strings.Split(body, "\n") {
		for _, r := range line {
			if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
				t.Errorf("body line %d has control character %U: %q", i+1, r, line)
			}
		}
	}
	if len(body) > 256<<10 {
		t.Errorf("body of %d bytes, more than SNS takes", len(body))
	}
}

// lineDiff shows the first differing lines.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			shown++
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + wl + "\n  got  " + gl + "\n")
		}
	}
	return b.String()
}
