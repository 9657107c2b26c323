package worker

import (
	"context"
	"fmt"
	"os"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Trees is a Mounter for the simulator and tests: the contents of a file
// system (by id) are a local directory tree, "mounted" where it is.
type Trees map[string]string

// Mount returns the file system's directory.
func (t Trees) Mount(_ context.Context, job engine.WorkerJob) (string, error) {
	dir, ok := t[job.FileSystem]
	if !ok {
		return "", fmt.Errorf("mount %s: no such file system (no tree for it)", job.FileSystem)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("mount %s: tree %s is not a directory", job.FileSystem, dir)
	}
	return dir, nil
}

// Unmount does nothing.
func (Trees) Unmount(context.Context, string) error { return nil }
