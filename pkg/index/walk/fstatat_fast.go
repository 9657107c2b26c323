//go:build linux && (amd64 || arm64)

package walk

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysFstatat is the fstatat system call whose result is a unix.Stat_t on
// this architecture (what unix.Fstatat calls).
const sysFstatat = sysFstatatArch

// fstatatName is fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW) on a name that is
// already NUL-terminated (names are kept so, as getdents64 returns them):
// unix.Fstatat would copy every name into a new string and then a new
// NUL-terminated buffer, two allocations per entry of a million-entry walk.
func fstatatName(dirfd int, name []byte, st *unix.Stat_t) error {
	for {
		_, _, e := unix.Syscall6(sysFstatat, uintptr(dirfd), uintptr(unsafe.Pointer(&name[0])), uintptr(unsafe.Pointer(st)), unix.AT_SYMLINK_NOFOLLOW, 0, 0)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}
