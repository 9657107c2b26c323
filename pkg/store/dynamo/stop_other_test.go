//go:build !linux

package dynamo_test

import "os/exec"

// stopWithParent does nothing where the kernel cannot tie dynalite's life
// to the test binary's; TestMain still kills it on a normal exit.
func stopWithParent(*exec.Cmd) {}
