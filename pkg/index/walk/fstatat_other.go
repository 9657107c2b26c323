//go:build !linux || !(amd64 || arm64)

package walk

import "golang.org/x/sys/unix"

// fstatatName is OS.Lstat on a NUL-terminated name.
func fstatatName(dirfd int, name []byte, st *unix.Stat_t) error {
	return OS{}.Lstat(dirfd, string(name[:len(name)-1]), st)
}
