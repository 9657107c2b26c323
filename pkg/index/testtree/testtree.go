// Package testtree creates directory trees that break naive tools: names
// with newlines and invalid UTF-8, 255-byte names, symlinks, hard links,
// FIFOs, sockets, devices, very deep and very wide directories. Tests of
// the walker and the CLI compare their output with find(1) on these trees.
package testtree

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Options sizes a hostile tree.
type Options struct {
	Deep int // levels of the deep chain (0: none)
	Wide int // entries in the wide directory (0: none)
}

// Names are the hostile names used at every level.
var Names = []string{
	"plain", "with space", "new\nline", "tab\there", "bad\xffutf8", "caf\xc3\xa9", ".hidden", "-dash",
	"star*", "brack[et]", "back\\slash", "q?mark", strings.Repeat("L", 255), "\x01ctl", "a-c", "a",
}

// Hostile creates a hostile tree under root, which must exist.
func Hostile(root string, o Options) error {
	if err := fill(root, 2); err != nil {
		return err
	}
	if o.Deep > 0 {
		if err := Deep(filepath.Join(root, "deep"), o.Deep); err != nil {
			return err
		}
	}
	if o.Wide > 0 {
		if err := Wide(filepath.Join(root, "wide"), o.Wide); err != nil {
			return err
		}
	}
	return nil
}

// fill puts one of each kind of object in dir and recurses into two
// subdirectories per level.
func fill(dir string, levels int) error {
	for i, n := range Names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), i*7), 0o644); err != nil {
			return err
		}
	}
	steps := []func() error{
		func() error { return os.Symlink("plain", filepath.Join(dir, "link-ok")) },
		func() error { return os.Symlink("no/such\n\xfftarget", filepath.Join(dir, "link-dangling")) },
		func() error { return os.Symlink(".", filepath.Join(dir, "link-loop")) },
		func() error { return os.Link(filepath.Join(dir, "plain"), filepath.Join(dir, "hard1")) },
		func() error { return os.Link(filepath.Join(dir, "plain"), filepath.Join(dir, "hard2")) },
		func() error { return unix.Mkfifo(filepath.Join(dir, "fifo"), 0o600) },
		func() error { return makeSocket(dir, "sock") },
		func() error {
			return unix.Mknod(filepath.Join(dir, "chardev"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3)))
		},
		func() error { return os.Mkdir(filepath.Join(dir, "empty dir"), 0o755) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	if levels == 0 {
		return nil
	}
	for _, n := range []string{"sub\none", "sub\xfe"} {
		p := filepath.Join(dir, n)
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
		if err := fill(p, levels-1); err != nil {
			return err
		}
	}
	return nil
}

// makeSocket binds a Unix socket at dir/name; the path may be longer than
// sun_path allows, so it binds relative to dir through /proc/self/fd.
func makeSocket(dir, name string) error {
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	addr := fmt.Sprintf("/proc/self/fd/%d/%s", dfd, name)
	return unix.Bind(fd, &unix.SockaddrUnix{Name: addr})
}

// Deep creates a chain of depth directories under path, one file at each
// level. It works below the directory with openat, so the depth is not
// limited by PATH_MAX.
func Deep(path string, depth int) error {
	if err := os.Mkdir(path, 0o755); err != nil {
		return err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	for i := 0; i < depth; i++ {
		f, err := unix.Openat(fd, "f", unix.O_CREAT|unix.O_WRONLY, 0o644)
		if err != nil {
			unix.Close(fd)
			return err
		}
		unix.Close(f)
		if err := unix.Mkdirat(fd, "d", 0o755); err != nil {
			unix.Close(fd)
			return err
		}
		next, err := unix.Openat(fd, "d", unix.O_RDONLY|unix.O_DIRECTORY, 0)
		unix.Close(fd)
		if err != nil {
			return err
		}
		fd = next
	}
	return unix.Close(fd)
}

// Wide creates n empty files in one new directory.
func Wide(path string, n int) error {
	if err := os.Mkdir(path, 0o755); err != nil {
		return err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for i := 0; i < n; i++ {
		f, err := unix.Openat(fd, fmt.Sprintf("w%07d", i), unix.O_CREAT|unix.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		unix.Close(f)
	}
	return nil
}

// Find runs find(1) in the C locale with the given arguments after root and
// returns its NUL-separated records, sorted.
func Find(root string, args ...string) ([]string, error) {
	cmd := exec.Command("find", append([]string{root}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("find %v: %w: %s", args, err, stderr.String())
	}
	return SplitNUL(out), nil
}

// SplitNUL splits NUL-terminated records and sorts them.
func SplitNUL(b []byte) []string {
	var recs []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			recs = append(recs, string(b))
			break
		}
		recs = append(recs, string(b[:i]))
		b = b[i+1:]
	}
	slices.Sort(recs)
	return recs
}

// TempDir returns a new directory for a test tree, on tmpfs when /dev/shm
// is there: creating tens of thousands of files on a disk file system can
// take a millisecond each.
func TempDir(t interface {
	TempDir() string
	Cleanup(func())
	Fatal(...any)
}) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "efskeeper-test-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}
