package dynalite

import (
	"os/exec"
	"syscall"
)

// stopWithParent has the kernel kill dynalite if the test binary dies
// without running its cleanup (a timeout panic, a kill).
func stopWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
