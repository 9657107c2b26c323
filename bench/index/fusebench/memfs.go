package main

import (
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// memFS is a read-only FUSE file system serving a tree it read into memory
// when mounted. Every metadata request waits its latency and is otherwise
// a slice index and a map lookup: on two cores shared with the walker, a
// loopback server (an lstat of the backing file, an inode tree, a path
// built per request) cost as much CPU as the walk it was there to slow
// down, and the walk's figure was then that server's speed.
type memFS struct {
	fuse.RawFileSystem
	nodes []memNode // node ID i+1 (the root is node 1)
}

type memNode struct {
	attr     fuse.Attr
	children map[string]uint64 // name to node ID, for directories
	list     []fuse.DirEntry   // what READDIR returns, "." and ".." first
}

// loadTree reads the tree under root into a memFS.
func loadTree(root string) (*memFS, error) {
	fs := &memFS{RawFileSystem: fuse.NewDefaultRawFileSystem()}
	var add func(path string, parentIno uint64) (uint64, error)
	add = func(path string, parentIno uint64) (uint64, error) {
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil {
			return 0, err
		}
		fs.nodes = append(fs.nodes, memNode{})
		id := uint64(len(fs.nodes))
		fs.nodes[id-1].attr.FromStat(&st)
		if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
			return id, nil
		}
		ents, err := os.ReadDir(path)
		if err != nil {
			return 0, err
		}
		children := make(map[string]uint64, len(ents))
		list := []fuse.DirEntry{{Name: ".", Ino: st.Ino, Mode: syscall.S_IFDIR}, {Name: "..", Ino: parentIno, Mode: syscall.S_IFDIR}}
		for _, e := range ents {
			cid, err := add(filepath.Join(path, e.Name()), st.Ino)
			if err != nil {
				return 0, err
			}
			children[e.Name()] = cid
			a := &fs.nodes[cid-1].attr
			list = append(list, fuse.DirEntry{Name: e.Name(), Ino: a.Ino, Mode: a.Mode})
		}
		for i := range list {
			list[i].Off = uint64(i + 1)
		}
		fs.nodes[id-1].children, fs.nodes[id-1].list = children, list
		return id, nil
	}
	if _, err := add(root, 1); err != nil {
		return nil, err
	}
	return fs, nil
}

func (fs *memFS) node(id uint64) *memNode {
	if id == 0 || id > uint64(len(fs.nodes)) {
		return nil
	}
	return &fs.nodes[id-1]
}

const cacheTimeout = time.Minute

// Lookup implements fuse.RawFileSystem.
func (fs *memFS) Lookup(_ <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	defer track()()
	lookups.Add(1)
	time.Sleep(latency)
	p := fs.node(h.NodeId)
	if p == nil || p.children == nil {
		return fuse.ENOTDIR
	}
	id, ok := p.children[name]
	if !ok {
		return fuse.ENOENT
	}
	out.NodeId, out.Generation = id, 1
	out.Attr = fs.nodes[id-1].attr
	out.SetEntryTimeout(cacheTimeout)
	out.SetAttrTimeout(cacheTimeout)
	return fuse.OK
}

// Forget implements fuse.RawFileSystem: nodes live as long as the mount.
func (fs *memFS) Forget(nodeid, nlookup uint64) {}

// GetAttr implements fuse.RawFileSystem.
func (fs *memFS) GetAttr(_ <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	getattrs.Add(1)
	time.Sleep(latency)
	n := fs.node(in.NodeId)
	if n == nil {
		return fuse.ENOENT
	}
	out.Attr = n.attr
	out.SetTimeout(cacheTimeout)
	return fuse.OK
}

// OpenDir implements fuse.RawFileSystem. Its delay stands for the
// directory's open and its one READDIR request: every directory of the
// tree fits in one.
func (fs *memFS) OpenDir(_ <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	opendirs.Add(1)
	time.Sleep(2 * latency)
	if n := fs.node(in.NodeId); n == nil || n.children == nil {
		return fuse.ENOTDIR
	}
	return fuse.OK
}

// ReadDir implements fuse.RawFileSystem.
func (fs *memFS) ReadDir(_ <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	n := fs.node(in.NodeId)
	if n == nil || n.children == nil {
		return fuse.ENOTDIR
	}
	for i := in.Offset; i < uint64(len(n.list)); i++ {
		if !out.AddDirEntry(n.list[i]) {
			break
		}
	}
	return fuse.OK
}

// ReleaseDir implements fuse.RawFileSystem.
func (fs *memFS) ReleaseDir(*fuse.ReleaseIn) {}

// StatFs implements fuse.RawFileSystem.
func (fs *memFS) StatFs(_ <-chan struct{}, _ *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	*out = fuse.StatfsOut{}
	return fuse.OK
}
