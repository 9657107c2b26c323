// Package cfnmatch calls the C library's fnmatch(3), which GNU find uses for
// -name. Only tests import it: they check the Go matcher against it.
package cfnmatch

/*
#include <fnmatch.h>
#include <stdlib.h>
*/
import "C"

import "unsafe"

// Match reports whether fnmatch(pattern, name, 0) == 0 in the C locale.
// Neither argument may contain NUL.
func Match(pattern string, name []byte) bool {
	cp := C.CString(pattern)
	defer C.free(unsafe.Pointer(cp))
	cn := C.CString(string(name))
	defer C.free(unsafe.Pointer(cn))
	return C.fnmatch(cp, cn, 0) == 0
}
