package walk

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// FS is the handful of system calls the walker makes, all relative to an
// open directory so that paths of any depth work (a 10,000-level path is far
// beyond PATH_MAX). Tests wrap it to inject errors and latency.
type FS interface {
	// OpenDir opens name in the directory dirfd (unix.AT_FDCWD for a path)
	// as a directory, without following a symlink.
	OpenDir(dirfd int, name string) (int, error)
	// Getdents reads raw linux_dirent64 records, as getdents64(2).
	Getdents(fd int, buf []byte) (int, error)
	// Lstat is fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW).
	Lstat(dirfd int, name string, st *unix.Stat_t) error
	// Readlink is readlinkat(2).
	Readlink(dirfd int, name string, buf []byte) (int, error)
	Close(fd int) error
}

// OS is the real file system.
type OS struct{}

// OpenDir implements FS.
func (OS) OpenDir(dirfd int, name string) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// Getdents implements FS.
func (OS) Getdents(fd int, buf []byte) (int, error) {
	for {
		n, err := unix.Getdents(fd, buf)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// Lstat implements FS.
func (OS) Lstat(dirfd int, name string, st *unix.Stat_t) error {
	for {
		err := unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err
		}
	}
}

// Readlink implements FS.
func (OS) Readlink(dirfd int, name string, buf []byte) (int, error) {
	return unix.Readlinkat(dirfd, name, buf)
}

// Close implements FS.
func (OS) Close(fd int) error { return unix.Close(fd) }

// parseDirents appends the names in a getdents64 buffer to names, each
// followed by its NUL, and a reference to each to refs, skipping "." and
// "..". Records are: ino u64, off s64, reclen u16, type u8, name NUL-ended.
func parseDirents(buf []byte, names []byte, refs []nameRef) ([]byte, []nameRef) {
	for len(buf) >= 19 {
		reclen := int(buf[16]) | int(buf[17])<<8
		if reclen < 19 || reclen > len(buf) {
			break
		}
		name := buf[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		buf = buf[reclen:]
		if len(name) == 0 || (name[0] == '.' && (len(name) == 1 || (len(name) == 2 && name[1] == '.'))) {
			continue
		}
		refs = append(refs, nameRef{key: nameKey(name), off: uint32(len(names)), n: uint32(len(name))})
		names = append(names, name...)
		names = append(names, 0)
	}
	return names, refs
}
