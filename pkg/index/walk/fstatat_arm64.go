//go:build linux

package walk

import "golang.org/x/sys/unix"

const sysFstatatArch = unix.SYS_FSTATAT
