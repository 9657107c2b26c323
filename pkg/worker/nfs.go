package worker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// MountOptions are the NFS options AWS recommends for EFS (EFS User Guide,
// "Mounting EFS file systems using NFS": nfsvers=4.1, 1 MiB reads and
// writes, hard mounts with a 60 s timeout and 2 retransmissions, and
// noresvport so that a reconnect uses a new port). ro comes first: the
// worker only reads.
const MountOptions = "ro,nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport"

// NFS mounts an EFS file system over NFS 4.1 at its mount target's IP
// address (no DNS needed), with the mount command of the instance.
type NFS struct {
	// Dir is the mount point (created if missing).
	Dir string
	// Command runs a command; nil runs it with os/exec and returns its
	// combined output in the error. Tests replace it.
	Command func(ctx context.Context, name string, args ...string) error
}

// MountArgs are the arguments of mount(8) for a job.
func MountArgs(job engine.WorkerJob, dir string) []string {
	return []string{"-t", "nfs4", "-o", MountOptions, job.MountTargetIP + ":/", dir}
}

// Mount mounts the job's file system read-only at Dir.
func (n NFS) Mount(ctx context.Context, job engine.WorkerJob) (string, error) {
	if err := os.MkdirAll(n.Dir, 0o755); err != nil {
		return "", fmt.Errorf("create mount point: %w", err)
	}
	if err := n.command(ctx, "mount", MountArgs(job, n.Dir)...); err != nil {
		return "", err
	}
	return n.Dir, nil
}

// Unmount unmounts dir; a busy or hung mount is detached lazily (the
// instance is about to power off).
func (n NFS) Unmount(ctx context.Context, dir string) error {
	if err := n.command(ctx, "umount", dir); err != nil {
		return n.command(ctx, "umount", "-l", dir)
	}
	return nil
}

func (n NFS) command(ctx context.Context, name string, args ...string) error {
	if n.Command != nil {
		return n.Command(ctx, name, args...)
	}
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
