package index

import (
	"fmt"
	"time"
)

// Type is the kind of a file system object, named by the letter that
// `find -printf %y` prints for it.
type Type byte

// The types an index records. lstat never reports anything else on Linux.
const (
	TypeFile    Type = 'f'
	TypeDir     Type = 'd'
	TypeSymlink Type = 'l'
	TypeBlock   Type = 'b'
	TypeChar    Type = 'c'
	TypeFIFO    Type = 'p'
	TypeSocket  Type = 's'
)

// typeCodes maps the 3-bit code stored in a block to a Type; the position is
// the code, so the order is part of the format.
var typeCodes = [...]Type{TypeFile, TypeDir, TypeSymlink, TypeBlock, TypeChar, TypeFIFO, TypeSocket}

func typeCode(t Type) (byte, bool) {
	for i, c := range typeCodes {
		if c == t {
			return byte(i), true
		}
	}
	return 0, false
}

// Valid reports whether t is one of the seven types an index can hold.
func (t Type) Valid() bool {
	_, ok := typeCode(t)
	return ok
}

// String returns the find letter.
func (t Type) String() string { return string(rune(t)) }

// Entry is one file system object as the index records it. Path is the
// slash-separated path relative to the indexed root, byte for byte as the
// file system returned it (any byte but NUL; names never contain '/').
type Entry struct {
	Path  string
	Type  Type
	Size  int64
	Mode  uint32 // permission bits with setuid, setgid and sticky (st_mode & 07777)
	UID   uint32
	GID   uint32
	MTime int64 // nanoseconds since the Unix epoch
	CTime int64 // nanoseconds since the Unix epoch
	Inode uint64
	Nlink uint64
	// Target is the symlink's target; empty for other types.
	Target string
	// Incomplete marks a directory whose children could not all be read
	// (for example permission denied); the walk's errors say why.
	Incomplete bool
	// ChangedAfterBackup is set by readers: the entry's ctime is later than
	// the backup's creation time, so the entry changed after the restore
	// point was taken and the point may hold an older version.
	ChangedAfterBackup bool
}

// ChangedAfterBackupNote is the sentence shown next to flagged entries.
const ChangedAfterBackupNote = "changed after the restore point was taken; the point may hold an older version"

// Name returns the last element of the entry's path.
func (e *Entry) Name() string {
	for i := len(e.Path) - 1; i >= 0; i-- {
		if e.Path[i] == '/' {
			return e.Path[i+1:]
		}
	}
	return e.Path
}

// ModTime returns MTime as a time.Time.
func (e *Entry) ModTime() time.Time { return time.Unix(0, e.MTime) }

// sameContent reports whether two entries of the same path record the same
// state; a delta index stores an entry only when this is false.
func sameContent(a, b *Entry) bool {
	return a.Type == b.Type && a.Size == b.Size && a.Mode == b.Mode && a.UID == b.UID &&
		a.GID == b.GID && a.MTime == b.MTime && a.CTime == b.CTime && a.Inode == b.Inode &&
		a.Nlink == b.Nlink && a.Target == b.Target && a.Incomplete == b.Incomplete
}

// WalkError is a problem met while building an index: a directory that
// could not be read, a file that vanished between listing and lstat.
type WalkError struct {
	Path string
	Err  string
}

func (e WalkError) Error() string { return fmt.Sprintf("%s: %s", e.Path, e.Err) }
