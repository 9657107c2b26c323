package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/s3index/s3test"
	"github.com/efskeeper/efskeeper/pkg/index/testtree"
)

var updateIndexGolden = flag.Bool("update-index", false, "rewrite the index golden files")

// runIndexCLI runs efskeeper with args and returns stdout, stderr and the error.
func runIndexCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func mustIndexCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := runIndexCLI(t, args...)
	if err != nil {
		t.Fatalf("efskeeper %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

func TestIndexCommandsAgreeWithFind(t *testing.T) {
	src := testtree.TempDir(t)
	if err := testtree.Hostile(src, testtree.Options{Deep: 100, Wide: 2000}); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(t.TempDir(), "tree.idx")
	mustIndexCLI(t, "index", "build", "--source", src, "--out", idx, "--workers", "16")

	got := testtree.SplitNUL([]byte(mustIndexCLI(t, "index", "dump", "--print0", idx)))
	want, err := testtree.Find(src, "-mindepth", "1", "-printf", `%y %s %P\0`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("dump --print0 gave %d records, find %d", len(got), len(want))
	}

	for _, pat := range []string{"*", "plain", "*line*", ".*", "[!a-z]*", "star\\*", "brack[[]et]", "*\xff*", "w00001?", "[[:upper:]]*", "[", "sub?one"} {
		got := testtree.SplitNUL([]byte(mustIndexCLI(t, "index", "search", "--print0", idx, pat)))
		want, err := testtree.Find(src, "-mindepth", "1", "-name", pat, "-printf", `%P\0`)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("search %q gave %d paths, find %d", pat, len(got), len(want))
		}
		if pat == "plain" && len(got) < 7 {
			t.Fatalf("search plain found only %d", len(got))
		}
	}

	for _, dir := range []string{"", "sub\none", "sub\xfe/sub\none", "wide", "deep/d/d", "empty dir"} {
		got := testtree.SplitNUL([]byte(mustIndexCLI(t, "index", "ls", "--print0", idx, dir)))
		want, err := testtree.Find(filepath.Join(src, dir), "-mindepth", "1", "-maxdepth", "1", "-printf", `%f\0`)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ls %q gave %d names, find %d", dir, len(got), len(want))
		}
	}

	got = testtree.SplitNUL([]byte(mustIndexCLI(t, "index", "search", "--print0", "--path-contains", "sub\none/", idx)))
	want, err = testtree.Find(src, "-mindepth", "1", "-path", "*sub\none/*", "-printf", `%P\0`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || len(got) == 0 {
		t.Fatalf("--path-contains gave %d paths, find -path %d", len(got), len(want))
	}
}

func TestIndexOverS3(t *testing.T) {
	srv, err := s3test.New("idx")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for k, v := range srv.Env() {
		t.Setenv(k, v)
	}
	src := testtree.TempDir(t)
	if err := testtree.Hostile(src, testtree.Options{Wide: 500}); err != nil {
		t.Fatal(err)
	}
	mustIndexCLI(t, "index", "build", "--source", src, "--out", "s3://idx/fs-1/rp-1.idx")
	got := testtree.SplitNUL([]byte(mustIndexCLI(t, "index", "ls", "--print0", "s3://idx/fs-1/rp-1.idx", "sub\xfe")))
	want, _ := testtree.Find(filepath.Join(src, "sub\xfe"), "-mindepth", "1", "-maxdepth", "1", "-printf", `%f\0`)
	if !slices.Equal(got, want) || len(got) == 0 {
		t.Fatalf("ls over S3 gave %d names, find %d", len(got), len(want))
	}
	// A delta against the first index, in the same prefix.
	if err := os.WriteFile(filepath.Join(src, "plain"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runIndexCLI(t, "index", "build", "--source", src, "--out", "s3://idx/fs-1/rp-2.idx", "--base", "s3://idx/fs-1/rp-1.idx")
	if err != nil || !strings.Contains(stderr, "delta index") {
		t.Fatalf("delta build: %v\n%s", err, stderr)
	}
	out := mustIndexCLI(t, "index", "history", "plain", "s3://idx/fs-1/rp-1.idx", "s3://idx/fs-1/rp-2.idx")
	if !strings.Contains(out, "modified") {
		t.Fatalf("history does not show the change:\n%s", out)
	}
	if _, _, err := runIndexCLI(t, "index", "ls", "s3://idx/fs-1/missing.idx"); err == nil {
		t.Fatal("ls of a missing object succeeded")
	}
}

func TestIndexDamagedFileIsAnError(t *testing.T) {
	src := testtree.TempDir(t)
	if err := testtree.Hostile(src, testtree.Options{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	idx := filepath.Join(dir, "t.idx")
	mustIndexCLI(t, "index", "build", "--source", src, "--out", idx)
	b, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.idx")
	os.WriteFile(cut, b[:len(b)/2], 0o644)
	flipped := filepath.Join(dir, "flip.idx")
	c := slices.Clone(b)
	c[len(c)/3] ^= 0x40
	os.WriteFile(flipped, c, 0o644)
	for _, p := range []string{cut, flipped} {
		for _, args := range [][]string{{"dump", p}, {"ls", p}, {"search", p, "*"}} {
			out, _, err := runIndexCLI(t, append([]string{"index"}, args...)...)
			if err == nil || !strings.Contains(err.Error(), "damaged or truncated") {
				t.Fatalf("index %v: error %v, output %d bytes", args, err, len(out))
			}
		}
	}
}

// goldenIndex writes an index of fixed entries so that the human output is
// stable.
func goldenIndex(t *testing.T, dir, name string, backup time.Time, sizes map[string]int64) string {
	t.Helper()
	base := time.Date(2025, 2, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	es := []index.Entry{
		{Path: "docs", Type: index.TypeDir, Mode: 0o755, Size: 4096, Nlink: 3, UID: 0, GID: 0, MTime: base, CTime: base, Inode: 2},
		{Path: "run.sock", Type: index.TypeSocket, Mode: 0o755, UID: 0, GID: 0, MTime: base, CTime: base, Inode: 3},
		{Path: "docs/bad\xffname", Type: index.TypeFile, Mode: 0o600, Size: 7, UID: 1000, GID: 1000, MTime: base, CTime: base, Inode: 10, Nlink: 1},
		{Path: "docs/latest", Type: index.TypeSymlink, Mode: 0o777, Size: 10, UID: 1000, GID: 1000, MTime: base, CTime: base, Inode: 11, Nlink: 1, Target: "report.txt"},
		{Path: "docs/new\nline", Type: index.TypeFile, Mode: 0o4755, Size: 1, UID: 1000, GID: 1000, MTime: base, CTime: base, Inode: 12, Nlink: 1},
		{Path: "docs/report.txt", Type: index.TypeFile, Mode: 0o644, Size: sizes["docs/report.txt"], UID: 1000, GID: 1000, MTime: base + sizes["docs/report.txt"]*1e9, CTime: backup.Add(time.Hour).UnixNano(), Inode: 13, Nlink: 2},
		{Path: "docs/sealed", Type: index.TypeDir, Mode: 0o700, Size: 4096, UID: 0, GID: 0, MTime: base, CTime: base, Inode: 14, Nlink: 2, Incomplete: true},
	}
	if _, ok := sizes["gone"]; !ok {
		es = slices.DeleteFunc(es, func(e index.Entry) bool { return e.Path == "docs/new\nline" })
	}
	slices.SortFunc(es, func(a, b index.Entry) int { return index.ComparePaths(a.Path, b.Path) })
	var buf bytes.Buffer
	w, err := index.NewWriter(&buf, index.WriterOptions{Meta: index.Meta{FileSystemID: "fs-0123456789abcdef0", RestorePointARN: "arn:aws:backup:eu-west-1:111122223333:recovery-point:" + name, BackupCreated: backup, IndexCreated: backup.Add(10 * time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range es {
		if err := w.Add(&es[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".idx")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIndexHumanOutputGolden(t *testing.T) {
	dir := t.TempDir()
	day1 := time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)
	i1 := goldenIndex(t, dir, "rp-1", day1, map[string]int64{"docs/report.txt": 100, "gone": 0})
	i2 := goldenIndex(t, dir, "rp-2", day1.Add(24*time.Hour), map[string]int64{"docs/report.txt": 150})
	for _, c := range []struct {
		golden string
		args   []string
	}{
		{"ls-root", []string{"index", "ls", i1}},
		{"ls-docs", []string{"index", "ls", i1, "/docs/"}},
		{"search", []string{"index", "search", i1, "*e*"}},
		{"dump", []string{"index", "dump", i1}},
		{"history-report", []string{"index", "history", "docs/report.txt", i2, i1}},
		{"history-gone", []string{"index", "history", "/docs/new\nline", i1, i2}},
	} {
		out := mustIndexCLI(t, c.args...)
		p := filepath.Join("testdata", "index", c.golden+".golden")
		if *updateIndexGolden {
			if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if out != string(want) {
			t.Errorf("%s: output differs from %s:\n%s", strings.Join(c.args[:2], " "), p, out)
		}
	}
	// Usage errors exit 2; a missing directory is an error with a message.
	if _, _, err := runIndexCLI(t, "index", "search", i1); fmt.Sprint(err) != "exit status 2" {
		t.Fatalf("search without a pattern: %v", err)
	}
	if _, _, err := runIndexCLI(t, "index", "ls", i1, "nope"); err == nil || !strings.Contains(err.Error(), "no such path") {
		t.Fatalf("ls of a missing directory: %v", err)
	}
}
