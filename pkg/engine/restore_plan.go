package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/efskeeper/efskeeper/pkg/policy"
)

// RestoreConfig tunes restores. Zero fields take DefaultRestoreConfig's
// values.
type RestoreConfig struct {
	// MaxItemsPerJob caps the paths of one restore job. AWS's API reference
	// says "one to five strings" for ItemsToRestore while the developer
	// guide says the CLI has no item limit beyond the metadata cap; five is
	// the safe value, raise it once a larger batch is proven in an account.
	MaxItemsPerJob int
	// MaxMetadataBytes caps one job's restore metadata, measured as its
	// JSON encoding (AWS caps the metadata at 200 KB).
	MaxMetadataBytes int
	// MaxPaths and MaxPathBytes cap one restore session, so that its
	// record fits a DynamoDB item (400 KB) with room to spare.
	MaxPaths     int
	MaxPathBytes int
	// MaxItems caps the restore points of one session.
	MaxItems int
	// BackupRoleName is the role AWS Backup restores with (IamRoleArn);
	// MemberRoleName and FunctionRolePrefix name the principals that call
	// StartRestoreJob, whom a vault access policy must not deny.
	BackupRoleName     string
	MemberRoleName     string
	FunctionRolePrefix string
	// StaleAfter is how long a job may go without news before Reconcile
	// reads it back; JobTimeout is when a job that never ends is given up.
	StaleAfter time.Duration
	JobTimeout time.Duration
}

// DefaultRestoreConfig returns the defaults.
func DefaultRestoreConfig() RestoreConfig {
	d := DefaultConfig()
	return RestoreConfig{
		MaxItemsPerJob:     5,
		MaxMetadataBytes:   200_000,
		MaxPaths:           1000,
		MaxPathBytes:       96 << 10,
		MaxItems:           50,
		BackupRoleName:     d.BackupRoleName,
		MemberRoleName:     d.MemberRoleName,
		FunctionRolePrefix: d.FunctionRolePrefix,
		StaleAfter:         30 * time.Minute,
		JobTimeout:         7 * 24 * time.Hour,
	}
}

func (c RestoreConfig) withDefaults() RestoreConfig {
	d := DefaultRestoreConfig()
	pick := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	pick(&c.MaxItemsPerJob, d.MaxItemsPerJob)
	pick(&c.MaxMetadataBytes, d.MaxMetadataBytes)
	pick(&c.MaxPaths, d.MaxPaths)
	pick(&c.MaxPathBytes, d.MaxPathBytes)
	pick(&c.MaxItems, d.MaxItems)
	for _, s := range []struct {
		v   *string
		def string
	}{
		{&c.BackupRoleName, d.BackupRoleName}, {&c.MemberRoleName, d.MemberRoleName}, {&c.FunctionRolePrefix, d.FunctionRolePrefix},
	} {
		if *s.v == "" {
			*s.v = s.def
		}
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = d.StaleAfter
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = d.JobTimeout
	}
	return c
}

// FieldProblem is one thing wrong with a restore request, at its JSON path
// (items[1].paths[0], target.kind).
type FieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// RequestProblems is the cause of the EINVALID error Start returns for a
// request it refuses: every problem at once, so that the caller fixes them
// in one go. errors.As finds it for an API that lists them one by one.
type RequestProblems []FieldProblem

func (ps RequestProblems) Error() string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Field + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

func (ps *RequestProblems) add(field, format string, args ...any) {
	*ps = append(*ps, FieldProblem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (ps RequestProblems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "the restore request is not valid", Err: ps}
}

// ParseRestoreRequest reads a restore request from JSON, strictly: an
// unknown field is an error (a typo must not silently change what is
// restored). It does not validate the contents; Start does.
func ParseRestoreRequest(data []byte) (RestoreRequest, error) {
	var req RestoreRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return RestoreRequest{}, Errorf(EINVALID, "the restore request is not valid JSON of the expected shape: %v", err)
	}
	if dec.More() {
		return RestoreRequest{}, Errorf(EINVALID, "the restore request has data after its JSON object")
	}
	return req, nil
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	azNameRE  = regexp.MustCompile(`^([a-z]{2}(-[a-z]+)+-[0-9]+)[a-z]$`)
)

// Path limits of EFS (NFS): PATH_MAX and NAME_MAX.
const (
	maxPathBytes = 4096
	maxNameBytes = 255
)

// recoveryPointLoc reads the account and Region out of a recovery point
// ARN (arn:<partition>:backup:<region>:<account>:recovery-point:<id>).
func recoveryPointLoc(arn string) (Loc, bool) {
	f := strings.SplitN(arn, ":", 7)
	if len(f) != 7 || f[0] != "arn" || f[2] != "backup" || f[5] != "recovery-point" || f[6] == "" {
		return Loc{}, false
	}
	return Loc{Account: f[4], Region: f[3]}, true
}

// fileSystemOf reads where an EFS file system is and its id from its ARN
// (arn:<partition>:elasticfilesystem:<region>:<account>:file-system/fs-...).
func fileSystemOf(arn string) (Loc, string, bool) {
	f := strings.SplitN(arn, ":", 6)
	const p = "file-system/"
	if len(f) != 6 || f[0] != "arn" || f[2] != "elasticfilesystem" || !strings.HasPrefix(f[5], p) || len(f[5]) == len(p) {
		return Loc{}, "", false
	}
	return Loc{Account: f[4], Region: f[3]}, f[5][len(p):], true
}

// normalizeRestoreRequest checks what can be checked without AWS and
// returns the request with defaults applied and Account and Region filled
// in from the ARNs. The result is what the session records and hashes.
func normalizeRestoreRequest(req RestoreRequest, cfg RestoreConfig) (RestoreRequest, error) {
	var ps RequestProblems
	out := req
	out.Items = make([]RestoreItem, len(req.Items))
	t := &out.Target
	switch t.Kind {
	case TargetOriginal:
		if t.PerformanceMode != "" || t.Encrypted != nil || t.KmsKeyID != "" || t.AvailabilityZone != "" {
			ps.add("target", "performanceMode, encrypted, kmsKeyId and availabilityZone apply to a new file system only; leave them out when restoring into the original file system")
		}
	case TargetNewFileSystem:
		switch t.PerformanceMode {
		case "":
			t.PerformanceMode = PerformanceGeneralPurpose
		case PerformanceGeneralPurpose, PerformanceMaxIO:
		default:
			ps.add("target.performanceMode", "%q is not a performance mode; use %s or %s", t.PerformanceMode, PerformanceGeneralPurpose, PerformanceMaxIO)
		}
		if t.Encrypted == nil {
			on := true
			t.Encrypted = &on
		}
		if t.KmsKeyID != "" {
			if !*t.Encrypted {
				ps.add("target.kmsKeyId", "a KMS key needs encrypted true")
			}
			if len(t.KmsKeyID) > 2048 || strings.ContainsFunc(t.KmsKeyID, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
				ps.add("target.kmsKeyId", "is not a KMS key id, key ARN, alias name or alias ARN")
			}
		}
		if t.AvailabilityZone != "" {
			if !azNameRE.MatchString(t.AvailabilityZone) {
				ps.add("target.availabilityZone", "%q is not an Availability Zone name such as us-west-2a", t.AvailabilityZone)
			}
			if t.PerformanceMode == PerformanceMaxIO {
				ps.add("target.performanceMode", "a One Zone file system (availabilityZone set) must use %s", PerformanceGeneralPurpose)
			}
		}
	case "":
		ps.add("target.kind", "is required: %q (into the file system the point was taken of) or %q", TargetOriginal, TargetNewFileSystem)
	default:
		ps.add("target.kind", "%q is not a target; use %q or %q", t.Kind, TargetOriginal, TargetNewFileSystem)
	}

	if len(req.Items) == 0 {
		ps.add("items", "name at least one restore point to restore from")
	}
	if len(req.Items) > cfg.MaxItems {
		ps.add("items", "%d restore points, more than the %d one restore may use; split the restore", len(req.Items), cfg.MaxItems)
	}
	seenPoint := map[string]int{}
	paths, pathBytes := 0, 0
	for i, in := range req.Items {
		f := "items[" + strconv.Itoa(i) + "]"
		it := RestoreItem{RecoveryPointArn: strings.TrimSpace(in.RecoveryPointArn), Account: in.Account, Region: in.Region, Vault: in.Vault, Paths: in.Paths}
		l, ok := recoveryPointLoc(it.RecoveryPointArn)
		switch {
		case it.RecoveryPointArn == "":
			ps.add(f+".recoveryPointArn", "is required")
		case !ok:
			ps.add(f+".recoveryPointArn", "%q is not an AWS Backup recovery point ARN (arn:aws:backup:<region>:<account>:recovery-point:<id>)", it.RecoveryPointArn)
		default:
			if !accountRE.MatchString(l.Account) {
				ps.add(f+".recoveryPointArn", "the account %q in the ARN is not a 12-digit account id", l.Account)
			}
			if !policy.IsRegion(l.Region) {
				ps.add(f+".recoveryPointArn", "the Region %q in the ARN is not an AWS Region", l.Region)
			}
			if it.Account != "" && it.Account != l.Account {
				ps.add(f+".account", "%q differs from the account %s in recoveryPointArn", it.Account, l.Account)
			}
			if it.Region != "" && it.Region != l.Region {
				ps.add(f+".region", "%q differs from the Region %s in recoveryPointArn; a restore runs in the Region of its restore point", it.Region, l.Region)
			}
			it.Account, it.Region = l.Account, l.Region
			if j, dup := seenPoint[it.RecoveryPointArn]; dup {
				ps.add(f+".recoveryPointArn", "is the restore point of items[%d] again; list all its paths in one item", j)
			} else {
				seenPoint[it.RecoveryPointArn] = i
			}
		}
		if it.Vault == "" {
			ps.add(f+".vault", "is required: the name of the backup vault that holds the restore point")
		}
		if req.Full {
			if len(in.Paths) > 0 {
				ps.add(f+".paths", "a full restore (full: true) restores the whole file system and takes no paths")
			}
		} else {
			if len(in.Paths) == 0 {
				ps.add(f+".paths", "name at least one file or directory, or set full: true to restore the whole file system")
			}
			seen := map[string]int{}
			for j, p := range in.Paths {
				pf := f + ".paths[" + strconv.Itoa(j) + "]"
				if msg := checkRestorePath(p); msg != "" {
					ps.add(pf, "%s", msg)
					continue
				}
				if k, dup := seen[p]; dup {
					ps.add(pf, "repeats paths[%d]", k)
					continue
				}
				seen[p] = j
				paths++
				pathBytes += len(p)
			}
		}
		out.Items[i] = it
	}
	if paths > cfg.MaxPaths {
		ps.add("items", "%d paths in all, more than the %d one restore may name; split the restore or restore a parent directory", paths, cfg.MaxPaths)
	}
	if pathBytes > cfg.MaxPathBytes {
		ps.add("items", "the paths take %d bytes in all, more than the %d one restore may name; split the restore or restore a parent directory", pathBytes, cfg.MaxPathBytes)
	}
	return out, ps.err()
}

// checkRestorePath says what is wrong with one path, or "" if nothing.
// AWS Backup takes exact, case-sensitive paths from the file system's
// root, without wildcards or regular expressions.
func checkRestorePath(p string) string {
	switch {
	case p == "":
		return "is empty"
	case !utf8.ValidString(p):
		return "is not valid UTF-8; AWS Backup takes paths as JSON text"
	case strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return "contains a control character"
	case p[0] != '/':
		return fmt.Sprintf("%q must be absolute from the file system's root (start with /), not relative to a mount point or access point", clip(p, 80))
	case p == "/":
		return "is the file system's root; set full: true to restore the whole file system"
	case strings.HasSuffix(p, "/"):
		return fmt.Sprintf("%q must not end with /; name the directory itself", clip(p, 80))
	case strings.ContainsAny(p, "*?"):
		return fmt.Sprintf("%q contains a wildcard (* or ?); AWS Backup restores exact paths only", clip(p, 80))
	case len(p) > maxPathBytes:
		return fmt.Sprintf("is %d bytes long; EFS paths are at most %d", len(p), maxPathBytes)
	}
	for _, name := range strings.Split(p[1:], "/") {
		switch {
		case name == "":
			return fmt.Sprintf("%q has an empty component (//)", clip(p, 80))
		case name == "." || name == "..":
			return fmt.Sprintf("%q must not contain . or .. components; name the path as it is", clip(p, 80))
		case len(name) > maxNameBytes:
			return fmt.Sprintf("has a component of %d bytes; EFS names are at most %d", len(name), maxNameBytes)
		}
	}
	return ""
}

// clip shortens s to n runes for an error message.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// requestHash is a digest of what a request asks for (not who asked or
// its token), so that a repeated request is recognized.
func requestHash(req RestoreRequest) string {
	// Only what was asked for, in a form of its own, so that fields Start
	// fills in (or new ones) never change the hash of a request.
	type item struct {
		Arn, Account, Region, Vault string
		Paths                       []string
	}
	canon := struct {
		Full   bool
		Items  []item
		Target RestoreTarget
	}{Full: req.Full, Target: req.Target}
	for _, it := range req.Items {
		canon.Items = append(canon.Items, item{it.RecoveryPointArn, it.Account, it.Region, it.Vault, it.Paths})
	}
	b, err := json.Marshal(canon)
	if err != nil {
		panic("engine: hash restore request: " + err.Error())
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// restoreID derives a session id: from the client token when there is
// one, else from the request's hash; generation n > 1 follows an ended
// session of an identical token-less request.
func restoreID(req RestoreRequest, hash string, n int) string {
	var base string
	if req.ClientToken != "" {
		h := sha256.Sum256([]byte("token\x00" + req.ClientToken))
		base = "rst-" + hex.EncodeToString(h[:12])
	} else {
		base = "rst-" + hash[:24]
	}
	if n > 1 {
		base += "-" + strconv.Itoa(n)
	}
	return base
}

// RestoreJobToken is the IdempotencyToken of job i of a session; a new
// file system also gets it as its CreationToken (EFS allows 64 characters).
func RestoreJobToken(restoreID string, i int) string {
	return token(restoreID, "restore", strconv.Itoa(i))
}

// EFS restore metadata keys, as AWS Backup documents them.
const (
	MetaFileSystemID  = "file-system-id"
	MetaNewFileSystem = "newFileSystem"
	MetaCreationToken = "CreationToken"
	MetaEncrypted     = "Encrypted"
	MetaKmsKeyID      = "KmsKeyId"
	MetaPerformance   = "PerformanceMode"
	MetaItems         = "ItemsToRestore"
	MetaSingleAZ      = "singleAzFilesystem"
	MetaAZName        = "availabilityZoneName"
)

// RestoreMetadata is the StartRestoreJob metadata of job i of r: every
// value a string, ItemsToRestore a JSON array encoded in a string.
func RestoreMetadata(r *Restore, i int) map[string]string {
	j := r.Jobs[i]
	return restoreMetadata(r.Target, r.Items[j.Item].FileSystem, j.Token, j.Paths)
}

func restoreMetadata(t RestoreTarget, fsID, tok string, paths []string) map[string]string {
	md := baseMetadata(t, fsID, tok)
	if len(paths) > 0 {
		md[MetaItems] = itemsJSON(paths)
	}
	return md
}

// baseMetadata is the metadata without ItemsToRestore. file-system-id goes
// along for a new file system too, as the console sends it (AWS ignores it
// there).
func baseMetadata(t RestoreTarget, fsID, tok string) map[string]string {
	md := map[string]string{MetaFileSystemID: fsID}
	if t.Kind != TargetNewFileSystem {
		md[MetaNewFileSystem] = "false"
		return md
	}
	md[MetaNewFileSystem] = "true"
	md[MetaCreationToken] = tok
	md[MetaEncrypted] = strconv.FormatBool(t.Encrypted == nil || *t.Encrypted)
	if t.KmsKeyID != "" {
		md[MetaKmsKeyID] = t.KmsKeyID
	}
	pm := t.PerformanceMode
	if pm == "" {
		pm = PerformanceGeneralPurpose
	}
	md[MetaPerformance] = pm
	if t.AvailabilityZone != "" {
		md[MetaSingleAZ] = "true"
		md[MetaAZName] = t.AvailabilityZone
	}
	return md
}

// itemsJSON encodes paths as a compact JSON array, without escaping
// < > & (AWS decodes the JSON; the escapes would only cost bytes).
func itemsJSON(paths []string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(paths); err != nil {
		panic("engine: encode ItemsToRestore: " + err.Error())
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// MetadataSize is the size of restore metadata as RestoreConfig's
// MaxMetadataBytes counts it: its JSON encoding.
func MetadataSize(md map[string]string) int {
	b, err := json.Marshal(md)
	if err != nil {
		panic("engine: measure restore metadata: " + err.Error())
	}
	return len(b)
}

// escapedLen is how many bytes s takes inside a JSON string (json.Marshal's
// escaping, without the quotes). It is additive over concatenation, which
// lets splitPaths measure a growing ItemsToRestore without re-encoding it.
func escapedLen(s string) int {
	b, err := json.Marshal(s)
	if err != nil {
		panic("engine: measure path: " + err.Error())
	}
	return len(b) - 2
}

// splitPaths cuts paths, in order, into chunks of at most maxItems paths
// each, such that base metadata plus the chunk's ItemsToRestore encodes in
// at most maxBytes. A path that does not fit alone is an error.
func splitPaths(base map[string]string, paths []string, maxItems, maxBytes int) ([][]string, error) {
	// size(chunk) = MetadataSize(base) + len(`,"ItemsToRestore":""`) +
	// escaped("[" + enc(p1) + "," + ... + enc(pn) + "]").
	fixed := MetadataSize(base) + escapedLen(MetaItems) + len(`,"":""`) + escapedLen("[]")
	var chunks [][]string
	var cur []string
	size := fixed
	for _, p := range paths {
		cost := escapedLen(itemsJSON([]string{p})) - escapedLen("[]")
		if len(cur) > 0 {
			cost += escapedLen(",")
		}
		if len(cur) > 0 && (len(cur) >= maxItems || size+cost > maxBytes) {
			chunks = append(chunks, cur)
			cur, size = nil, fixed
			cost -= escapedLen(",")
		}
		if size+cost > maxBytes {
			return nil, fmt.Errorf("the path %q alone makes restore metadata of %d bytes, more than the %d allowed", clip(p, 80), size+cost, maxBytes)
		}
		cur = append(cur, p)
		size += cost
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks, nil
}

// planRestoreJobs splits a checked session's items into restore jobs:
// one per point for a full restore; otherwise each point's paths in
// request order, cut by the item and metadata limits. A new file system
// per job means a point whose paths need several jobs would scatter them
// over several new file systems: that is refused.
func planRestoreJobs(r *Restore, cfg RestoreConfig) ([]RestoreJob, error) {
	var ps RequestProblems
	var jobs []RestoreJob
	for i, it := range r.Items {
		l := it.Loc()
		if r.Full {
			jobs = append(jobs, RestoreJob{Item: i, Loc: l, RecoveryPointArn: it.RecoveryPointArn})
			continue
		}
		// Tokens have a fixed length, so any token measures the base.
		base := baseMetadata(r.Target, it.FileSystem, RestoreJobToken(r.ID, 0))
		chunks, err := splitPaths(base, it.Paths, cfg.MaxItemsPerJob, cfg.MaxMetadataBytes)
		if err != nil {
			ps.add("items["+strconv.Itoa(i)+"].paths", "%v", err)
			continue
		}
		if r.Target.Kind == TargetNewFileSystem && len(chunks) > 1 {
			ps.add("items["+strconv.Itoa(i)+"].paths", "%d paths need %d restore jobs (at most %d paths per job), and every job restoring to a new file system creates its own file system; "+
				"name at most %d paths per restore point (a parent directory restores everything below it) or restore into the original file system",
				len(it.Paths), len(chunks), cfg.MaxItemsPerJob, cfg.MaxItemsPerJob)
			continue
		}
		for _, c := range chunks {
			jobs = append(jobs, RestoreJob{Item: i, Loc: l, RecoveryPointArn: it.RecoveryPointArn, Paths: c})
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	for i := range jobs {
		jobs[i].Token = RestoreJobToken(r.ID, i)
	}
	return jobs, nil
}
