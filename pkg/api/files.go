package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/store"
)

// Files is what the file routes read: the index runs (which restore point
// has an index, and under which key) and the index objects themselves.
type Files struct {
	Runs engine.IndexStore
	// Open returns the index object at key in the index bucket and its
	// size: ranged S3 reads in production (pkg/index/s3index), files or
	// memory elsewhere. ENOTFOUND when there is none.
	Open func(ctx context.Context, key string) (io.ReaderAt, int64, error)
}

// FileEntry is one file, directory or other object of an index.
type FileEntry struct {
	Name string `json:"name"`
	// Path is relative to the file system's root, without a leading slash.
	Path string `json:"path"`
	// PathBase64 holds the exact bytes of a path that is not valid UTF-8
	// (Path then shows them with replacement characters): restores need
	// the exact bytes.
	PathBase64 string    `json:"pathBase64,omitempty"`
	Type       string    `json:"type"` // as find -printf %y: f d l p s c b
	Size       int64     `json:"size"`
	Mode       string    `json:"mode"` // octal permission bits, e.g. "0644"
	UID        uint32    `json:"uid"`
	GID        uint32    `json:"gid"`
	ModTime    time.Time `json:"modTime"`
	Target     string    `json:"target,omitempty"`
	Incomplete bool      `json:"incomplete,omitempty"`
	// ChangedAfterBackup: the entry changed after the restore point was
	// taken, so the point may hold an older version (the index is made
	// from the live file system right after the backup).
	ChangedAfterBackup bool `json:"changedAfterBackup,omitempty"`

	rawName string // the name's bytes, for the page cursor
}

// IndexInfo says which index answered and what it covers.
type IndexInfo struct {
	RestorePointID   string    `json:"restorePointId"`
	RecoveryPointArn string    `json:"recoveryPointArn"`
	BackupCreatedAt  time.Time `json:"backupCreatedAt"`
	IndexedAt        time.Time `json:"indexedAt,omitzero"`
	Entries          int64     `json:"entries"`
	// WalkErrors counts what the worker could not read; those parts are
	// missing from the index.
	WalkErrors int64 `json:"walkErrors"`
}

// FileList is one page of a directory of a restore point.
type FileList struct {
	Index      IndexInfo   `json:"index"`
	Path       string      `json:"path"`
	Entries    []FileEntry `json:"entries"`
	NextCursor string      `json:"nextCursor,omitempty"`
}

// FileMatch is one search hit: an entry at one restore point.
type FileMatch struct {
	Index IndexInfo `json:"index"`
	Entry FileEntry `json:"entry"`
}

// FileSearch is a page of search hits, newest restore point first.
type FileSearch struct {
	FileSystem string      `json:"fileSystem"`
	Pattern    string      `json:"pattern"`
	Matches    []FileMatch `json:"matches"`
	NextCursor string      `json:"nextCursor,omitempty"`
}

// FileVersion is one path at one restore point, compared with the point
// before.
type FileVersion struct {
	Index     IndexInfo  `json:"index"`
	Exists    bool       `json:"exists"`
	Change    string     `json:"change"` // added, removed, modified, unchanged, absent
	SizeDelta int64      `json:"sizeDelta"`
	Entry     *FileEntry `json:"entry,omitempty"`
}

// FileHistory is a path across the indexed restore points of a file
// system, oldest first.
type FileHistory struct {
	FileSystem string        `json:"fileSystem"`
	Path       string        `json:"path"`
	Versions   []FileVersion `json:"versions"`
}

func fileEntryDoc(e index.Entry) FileEntry {
	doc := FileEntry{Name: e.Name(), Path: e.Path, Type: e.Type.String(), Size: e.Size,
		Mode: fmt.Sprintf("%04o", e.Mode), UID: e.UID, GID: e.GID, ModTime: e.ModTime().UTC(),
		Target: e.Target, Incomplete: e.Incomplete, ChangedAfterBackup: e.ChangedAfterBackup}
	if !utf8.ValidString(e.Path) {
		doc.PathBase64 = base64.StdEncoding.EncodeToString([]byte(e.Path))
		doc.Path = strings.ToValidUTF8(e.Path, "\uFFFD")
		doc.Name = strings.ToValidUTF8(doc.Name, "\uFFFD")
	}
	if !utf8.ValidString(doc.Target) {
		doc.Target = strings.ToValidUTF8(doc.Target, "\uFFFD")
	}
	return doc
}

func (s *Server) files() (*Files, error) {
	if s.Files == nil || s.Files.Runs == nil || s.Files.Open == nil {
		return nil, engine.Errorf(ENOTIMPLEMENTED, "this deployment has no file index configured")
	}
	return s.Files, nil
}

// openIndex opens the index of a run, and its base for a delta index.
func (s *Server) openIndex(ctx context.Context, f *Files, run *engine.IndexRun) (*index.Reader, error) {
	ra, size, err := f.Open(ctx, run.IndexKey)
	if err != nil {
		return nil, fmt.Errorf("open the index of %s: %w", run.RecoveryPointArn, err)
	}
	r, err := index.Open(ra, size, &index.OpenOptions{OpenBase: func(location string) (io.ReaderAt, int64, error) {
		key := location
		if !strings.HasPrefix(location, "/") {
			key = path.Join(path.Dir(run.IndexKey), location)
		}
		return f.Open(ctx, key)
	}})
	if err != nil {
		return nil, indexError(err, run)
	}
	return r, nil
}

// indexError gives a damaged index a code and a sentence.
func indexError(err error, run *engine.IndexRun) error {
	if errors.Is(err, index.ErrCorrupt) {
		return &engine.Error{Code: engine.EINTERNAL, Err: err,
			Message: fmt.Sprintf("the index of %s (%s) is damaged or truncated", run.RecoveryPointArn, run.IndexKey)}
	}
	return fmt.Errorf("read the index of %s: %w", run.RecoveryPointArn, err)
}

func indexInfoDoc(run *engine.IndexRun) IndexInfo {
	return IndexInfo{RestorePointID: PointID(run.TaskID, run.Loc.Region), RecoveryPointArn: run.RecoveryPointArn,
		BackupCreatedAt: run.BackupCreatedAt, IndexedAt: run.FinishedAt, Entries: run.Entries, WalkErrors: run.WalkErrors}
}

// fileCursor is the name after which a directory page starts.
type fileCursor struct {
	After string `json:"a"`
}

func (s *Server) browseFiles(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "path", "cursor", "limit")
	dir := q.v.Get("path")
	limit := q.int("limit", 1000, 1, 5000)
	var c fileCursor
	if cur := q.v.Get("cursor"); cur != "" {
		if err := store.DecodeCursor(cur, &c); err != nil || c.After == "" {
			q.bad("cursor", "not a cursor this API returned for this list")
		}
	}
	if strings.ContainsRune(dir, 0) {
		q.bad("path", "a path cannot contain a NUL byte")
	}
	if err := q.err(); err != nil {
		return err
	}
	_, t, err := s.pointByID(r)
	if err != nil {
		return err
	}
	f, err := s.files()
	if err != nil {
		return err
	}
	ctx := r.Context()
	run, err := f.Runs.GetIndexRun(ctx, engine.IndexRunID(t.ID()))
	switch {
	case engine.IsNotFound(err):
		return engine.Errorf(engine.ENOTFOUND, "restore point %s has no file index: its policy does not index, or indexing has not run", r.PathValue("id"))
	case err != nil:
		return fmt.Errorf("read the index run of %s: %w", t.ID(), err)
	case run.State == engine.IndexDeleted:
		// Prune deletes an index only after every point it describes.
		return engine.Errorf(engine.ENOTFOUND, "the file index of restore point %s was deleted after retention deleted the restore points it describes", r.PathValue("id"))
	case run.State != engine.IndexDone:
		return engine.Errorf(engine.ENOTFOUND, "restore point %s has no file index yet: indexing is %s%s", r.PathValue("id"), run.State, messageSuffix(run.Message))
	}
	ix, err := s.openIndex(ctx, f, run)
	if err != nil {
		return err
	}
	clean := index.CleanDir(dir)
	out := FileList{Index: indexInfoDoc(run), Path: clean, Entries: []FileEntry{}}
	for e, err := range ix.List(clean) {
		switch {
		case errors.Is(err, index.ErrNotFound):
			return engine.Errorf(engine.ENOTFOUND, "%q is not in the index of this restore point", dir)
		case errors.Is(err, index.ErrNotDir):
			return engine.Errorf(engine.EINVALID, "%q is not a directory at this restore point", dir)
		case err != nil:
			return indexError(err, run)
		}
		name := e.Name()
		if c.After != "" && name <= c.After {
			continue
		}
		if len(out.Entries) == limit {
			out.NextCursor = store.EncodeCursor(fileCursor{After: out.Entries[limit-1].rawName})
			break
		}
		doc := fileEntryDoc(e)
		doc.rawName = name
		out.Entries = append(out.Entries, doc)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func messageSuffix(m string) string {
	if m == "" {
		return ""
	}
	return " (" + m + ")"
}

// fileSystemQuery is the file system part of the search and history
// queries. Account and Region are optional: file system ids are unique,
// and without them the restore points tell where the file system is.
type fileSystemQuery struct {
	fileSystem, account, region string
	from, to                    time.Time
}

func readFileSystemQuery(q *query) fileSystemQuery {
	fq := fileSystemQuery{
		fileSystem: q.str("fileSystem", fsPattern, "a file system id (fs-...)"),
		account:    q.str("account", accountPattern, "a 12-digit account id"),
		region:     q.str("region", regionPattern, "an AWS Region code"),
	}
	if q.v.Get("fileSystem") == "" {
		q.required("fileSystem")
	}
	fq.from, fq.to = q.time("from"), q.time("to")
	q.window(fq.from, fq.to)
	return fq
}

// runsFor returns the index and the indexed restore points of a file
// system, once the query is known to be valid.
func (s *Server) runsFor(r *http.Request, fq fileSystemQuery) (*Files, []*engine.IndexRun, error) {
	f, err := s.files()
	if err != nil {
		return nil, nil, err
	}
	runs, err := s.indexedRuns(r, f, fq)
	return f, runs, err
}

// indexedRuns returns the finished index runs of a file system whose
// restore point still exists (the backup or a copy), newest first, within
// the window of fq.
func (s *Server) indexedRuns(r *http.Request, f *Files, fq fileSystemQuery) ([]*engine.IndexRun, error) {
	ctx := r.Context()
	loc := engine.Loc{Account: fq.account, Region: fq.region}
	if loc.Account == "" || loc.Region == "" {
		found := false
		_, err := s.walkPoints(r, pointFilter{fileSystem: fq.fileSystem, account: fq.account}, pointCursor{}, func(p RestorePoint) bool {
			if fq.region != "" && p.Region != fq.region && (p.Source == nil || p.Source.Region != fq.region) {
				return true
			}
			loc.Account, loc.Region = p.Account, p.Region
			if p.Source != nil {
				loc.Region = p.Source.Region
			}
			found = true
			return false
		})
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, engine.Errorf(engine.ENOTFOUND, "no restore point of %s exists; check the id, or name its account and region", fq.fileSystem)
		}
	}
	var runs []*engine.IndexRun
	cursor := ""
	for {
		page, next, err := f.Runs.FileSystemIndexRuns(ctx, engine.IndexRunQuery{Loc: loc, FileSystem: fq.fileSystem, DoneOnly: true, Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("list the indexes of %s in %s: %w", fq.fileSystem, loc, err)
		}
		for _, run := range page {
			if !fq.from.IsZero() && run.BackupCreatedAt.Before(fq.from) || !fq.to.IsZero() && !run.BackupCreatedAt.Before(fq.to) {
				continue
			}
			t, err := s.Engine.Store.GetTask(ctx, run.TaskID)
			if engine.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("read task %s: %w", run.TaskID, err)
			}
			if len(restorePoints(t)) > 0 {
				runs = append(runs, run)
			}
		}
		if next == "" {
			return runs, nil
		}
		cursor = next
	}
}

// searchCursor is where a search page stopped: the index run, and how
// many of its matches were returned already.
type searchCursor struct {
	Run  string `json:"r"`
	Skip int    `json:"n"`
}

var runIDPattern = regexp.MustCompile(`^ix-[0-9a-f]{32}$`)

func (s *Server) searchFiles(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "fileSystem", "account", "region", "pattern", "path", "from", "to", "cursor", "limit")
	fq := readFileSystemQuery(q)
	pattern := q.v.Get("pattern")
	contains := q.v.Get("path")
	if pattern == "" && contains == "" {
		q.bad("pattern", "give a name pattern (find -name syntax, such as *.conf), a path substring (path), or both")
	}
	var glob *index.Glob
	if pattern != "" {
		g, err := index.CompileGlob(pattern)
		if err != nil {
			q.bad("pattern", "a pattern matches names, which never contain '/'; use path= to match part of the path")
		}
		glob = g
	}
	limit := q.int("limit", 500, 1, 5000)
	var c searchCursor
	if cur := q.v.Get("cursor"); cur != "" {
		if err := store.DecodeCursor(cur, &c); err != nil || !runIDPattern.MatchString(c.Run) || c.Skip < 0 {
			q.bad("cursor", "not a cursor this API returned for this search")
		}
	}
	if err := q.err(); err != nil {
		return err
	}
	f, runs, err := s.runsFor(r, fq)
	if err != nil {
		return err
	}
	start := 0
	if c.Run != "" {
		start = slices.IndexFunc(runs, func(run *engine.IndexRun) bool { return run.ID == c.Run })
		if start < 0 {
			return engine.Errorf(engine.ENOTFOUND, "the restore point this search cursor continues from is gone; search again")
		}
	}
	out := FileSearch{FileSystem: fq.fileSystem, Pattern: pattern, Matches: []FileMatch{}}
	for i := start; i < len(runs) && out.NextCursor == ""; i++ {
		run := runs[i]
		ix, err := s.openIndex(r.Context(), f, run)
		if err != nil {
			return err
		}
		skip := 0
		if i == start {
			skip = c.Skip
		}
		n := 0
		info := indexInfoDoc(run)
		for e, err := range ix.Search(index.Query{Name: glob, PathContains: contains}) {
			if err != nil {
				return indexError(err, run)
			}
			n++
			if n <= skip {
				continue
			}
			if len(out.Matches) == limit {
				out.NextCursor = store.EncodeCursor(searchCursor{Run: run.ID, Skip: n - 1})
				break
			}
			out.Matches = append(out.Matches, FileMatch{Index: info, Entry: fileEntryDoc(e)})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) fileHistory(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "fileSystem", "account", "region", "path", "from", "to")
	fq := readFileSystemQuery(q)
	p := q.required("path")
	if err := q.err(); err != nil {
		return err
	}
	f, runs, err := s.runsFor(r, fq)
	if err != nil {
		return err
	}
	readers := make([]*index.Reader, len(runs))
	byID := map[[16]byte]*engine.IndexRun{}
	for i, run := range runs {
		if readers[i], err = s.openIndex(r.Context(), f, run); err != nil {
			return err
		}
		byID[readers[i].Info().ID] = run
	}
	points, err := index.History(p, readers)
	if err != nil {
		return fmt.Errorf("history of %s in %s: %w", p, fq.fileSystem, err)
	}
	out := FileHistory{FileSystem: fq.fileSystem, Path: index.CleanDir(p), Versions: []FileVersion{}}
	for _, hp := range points {
		v := FileVersion{Index: indexInfoDoc(byID[hp.Index.ID]), Exists: hp.Exists, Change: string(hp.Change), SizeDelta: hp.SizeDelta}
		if hp.Exists {
			e := fileEntryDoc(hp.Entry)
			v.Entry = &e
		}
		out.Versions = append(out.Versions, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
