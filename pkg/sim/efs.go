package sim

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// TagAutomaticBackup is the system tag EFS puts on file systems whose
// automatic backups are on; the automatic backup plan selects by it.
const TagAutomaticBackup = "aws:elasticfilesystem:default-backup"

// FileSystemSpec describes an EFS file system to add to the world.
type FileSystemSpec struct {
	ID   string // fs-...
	Name string // sets the Name tag when not empty
	Tags map[string]string
	// SizeBytes is the metered size; a first backup (or first copy to a
	// Region) transfers all of it, later ones ChangeRate of it.
	SizeBytes int64
	// ChangeRate is the fraction of the data that changes between two
	// backups (default 0.05).
	ChangeRate float64
	// LifeCycle is the EFS LifeCycleState (default "available").
	LifeCycle    string
	MountTargets []engine.MountTarget
	// AutomaticBackups turns on EFS automatic backups: the file system gets
	// the tag aws:elasticfilesystem:default-backup=enabled and the Region
	// gets the automatic backup vault and plan.
	AutomaticBackups bool
}

type fileSystem struct {
	// The fields a job reads at each step come first, next to its lock,
	// so that they share cache lines: the simulator steps tens of
	// thousands of jobs on as many file systems, and each visit to a
	// file system's record is likely a cache miss.
	res *resource // the lock of jobs on it, once one ran (see jobResource)
	// lock is res when the file system's own ARN made the lock (it is
	// part of the record, not an allocation of its own).
	lock     resource
	deleted  bool
	backedUp bool // a full backup exists, so the next one is incremental
	size     int64
	// copiedTo: Regions holding a full copy, so later copies there are
	// incremental (AWS: "first copy to a Region is full").
	copiedTo   []string
	changeRate float64
	arn        string
	loc        engine.Loc
	id         string
	tags       map[string]string
	lifeCycle  string
	mts        []engine.MountTarget
	autoSeq    uint64 // automatic backup jobs created so far
	seq        uint32 // index in World.fsList
}

// fileSystemArn is the EFS ARN AWS Backup uses as ResourceArn.
func fileSystemArn(l engine.Loc, id string) string {
	return "arn:aws:elasticfilesystem:" + l.Region + ":" + l.Account + ":file-system/" + id
}

// AddFileSystem adds a file system in l. Adding an existing id replaces its
// description (tags, size, mount targets) but keeps its backup history.
func (w *World) AddFileSystem(l engine.Loc, spec FileSystemSpec) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.region(l)
	fs := r.fss[spec.ID]
	if fs == nil {
		fs = &fileSystem{loc: l, id: spec.ID, arn: fileSystemArn(l, spec.ID)}
		w.addFS(r, fs)
	}
	fs.tags = copyTags(spec.Tags)
	if spec.Name != "" {
		fs.tags["Name"] = spec.Name
	}
	if spec.AutomaticBackups {
		fs.tags[TagAutomaticBackup] = "enabled"
	}
	fs.size = spec.SizeBytes
	fs.changeRate = spec.ChangeRate
	if fs.changeRate <= 0 {
		fs.changeRate = 0.05
	}
	fs.lifeCycle = spec.LifeCycle
	if fs.lifeCycle == "" {
		fs.lifeCycle = "available"
	}
	fs.mts = slices.Clone(spec.MountTargets)
	fs.deleted = false
	if fs.tags[TagAutomaticBackup] == "enabled" {
		w.ensureAutomatic(r)
	}
}

// SetFileSystemTags replaces a file system's tags (setting
// aws:elasticfilesystem:default-backup=enabled turns automatic backups on).
func (w *World) SetFileSystemTags(l engine.Loc, id string, tags map[string]string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fs := w.mustFS(l, id)
	fs.tags = copyTags(tags)
	if fs.tags[TagAutomaticBackup] == "enabled" {
		w.ensureAutomatic(w.region(l))
	}
}

// SetFileSystemSize changes a file system's size (later backups scale).
func (w *World) SetFileSystemSize(l engine.Loc, id string, size int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mustFS(l, id).size = size
}

// DeleteFileSystem removes a file system: it is no longer listed, and
// backups of it that have not started running fail.
func (w *World) DeleteFileSystem(l engine.Loc, id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mustFS(l, id).deleted = true
}

func (w *World) addFS(r *region, fs *fileSystem) {
	fs.seq = uint32(len(w.fsList))
	w.fsList = append(w.fsList, fs)
	r.fss[fs.id] = fs
}

func (w *World) mustFS(l engine.Loc, id string) *fileSystem {
	fs := w.region(l).fss[id]
	if fs == nil {
		panic(fmt.Sprintf("sim: file system %s in %s does not exist", id, l))
	}
	return fs
}

// fsByArn finds a live file system from its ARN.
func (w *World) fsByArn(arn string) *fileSystem {
	l, id, ok := parseFileSystemArn(arn)
	if !ok {
		return nil
	}
	r := w.regions[l]
	if r == nil {
		return nil
	}
	if fs := r.fss[id]; fs != nil && !fs.deleted {
		return fs
	}
	return nil
}

// parseFileSystemArn splits arn:aws:elasticfilesystem:<region>:<acct>:file-system/<id>.
func parseFileSystemArn(arn string) (engine.Loc, string, bool) {
	f, ok := splitArn(arn)
	if !ok || f[2] != "elasticfilesystem" || len(f[5]) < len("file-system/x") || f[5][:12] != "file-system/" {
		return engine.Loc{}, "", false
	}
	return engine.Loc{Account: f[4], Region: f[3]}, f[5][12:], true
}

// splitArn splits an ARN into its six colon-separated fields; the last one
// keeps any further colons (vault names may not, but resource ids may). It
// returns an array, not a slice, so that it costs no allocation.
func splitArn(arn string) (f [6]string, ok bool) {
	n, start := 0, 0
	for i := 0; i < len(arn) && n < 5; i++ {
		if arn[i] == ':' {
			f[n] = arn[start:i]
			n++
			start = i + 1
		}
	}
	if n < 5 || f[0] != "arn" {
		return f, false
	}
	f[5] = arn[start:]
	return f, true
}

func copyTags(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// EFSAPI implements engine.FileSystems on the world.
type EFSAPI struct{ w *World }

var _ engine.FileSystems = (*EFSAPI)(nil)

// FileSystems returns the EFS port.
func (w *World) FileSystems() *EFSAPI { return &EFSAPI{w: w} }

// ListFileSystems lists the file systems of l sorted by id, as
// DescribeFileSystems (tags included) plus DescribeMountTargets and
// DescribeMountTargetSecurityGroups per file system would.
func (a *EFSAPI) ListFileSystems(ctx context.Context, l engine.Loc) ([]engine.FileSystem, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	r, err := w.call(ctx, "DescribeFileSystems", l)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(r.fss))
	for id, fs := range r.fss {
		if !fs.deleted {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	out := make([]engine.FileSystem, 0, len(ids))
	for _, id := range ids {
		fs := r.fss[id]
		w.calls["DescribeMountTargets"]++
		mts := make([]engine.MountTarget, len(fs.mts))
		for i, mt := range fs.mts {
			w.calls["DescribeMountTargetSecurityGroups"]++
			mt.SecurityGroups = slices.Clone(mt.SecurityGroups)
			mts[i] = mt
		}
		out = append(out, engine.FileSystem{
			ID:           fs.id,
			Arn:          fs.arn,
			Name:         fs.tags["Name"],
			Tags:         copyTags(fs.tags),
			LifeCycle:    fs.lifeCycle,
			MountTargets: mts,
			SizeBytes:    fs.size,
		})
	}
	return out, nil
}
