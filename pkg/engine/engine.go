package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/efskeeper/efskeeper/pkg/policy"
)

// Config tunes the use-cases. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// BackupRoleName is the IAM role AWS Backup assumes for our jobs; it
	// has the same name in every account.
	BackupRoleName string
	// MemberRoleName is the role efskeeper assumes in member accounts; vault
	// access policies are checked against it too.
	MemberRoleName string
	// FunctionRolePrefix names the home account's function roles
	// (<prefix><function>), which act in the home account.
	FunctionRolePrefix string
	// StartWindowMinutes and CompleteWindowMinutes go on every backup job.
	// AWS requires a start window of at least 60 minutes.
	StartWindowMinutes    int64
	CompleteWindowMinutes int64
	// StaleAfter is how long a job may go without news before the
	// reconciler reads it back (events come about every 5 minutes).
	StaleAfter time.Duration
	// CopyTimeout bounds a copy job: copy jobs may sit in CREATED for hours
	// while AWS retries, but not forever.
	CopyTimeout time.Duration
	// UnitResendAfter is how long a region run may stay unfinished before
	// the reconciler sends its message again; UnitTimeout, before it gives up.
	UnitResendAfter time.Duration
	UnitTimeout     time.Duration
	// MaxCatchUp is how many missed runs of one policy a tick starts; older
	// missed runs are reported, not run.
	MaxCatchUp int
	// MaxDeletesPerRun caps deletions by one retention run.
	MaxDeletesPerRun int
	// DryRun makes retention report what it would delete without deleting.
	DryRun bool
	// MaxDeleteAttempts is how often retention tries to delete one point.
	MaxDeleteAttempts int
	// Concurrency is how many file systems retention decides on and
	// deletes from, and how many tasks the reconciler reads back, at once
	// (each one's calls in order). A large fleet expires tens of thousands
	// of points a day, three AWS calls each: more than one run could make
	// one after another within its time.
	Concurrency int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		BackupRoleName:        "efskeeper-backup",
		MemberRoleName:        "efskeeper-member",
		FunctionRolePrefix:    "efskeeper-fn-",
		StartWindowMinutes:    60,
		CompleteWindowMinutes: 3 * 24 * 60,
		StaleAfter:            30 * time.Minute,
		CopyTimeout:           48 * time.Hour,
		UnitResendAfter:       20 * time.Minute,
		UnitTimeout:           6 * time.Hour,
		MaxCatchUp:            3,
		MaxDeletesPerRun:      2000,
		MaxDeleteAttempts:     5,
		Concurrency:           8,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.BackupRoleName == "" {
		c.BackupRoleName = d.BackupRoleName
	}
	if c.MemberRoleName == "" {
		c.MemberRoleName = d.MemberRoleName
	}
	if c.FunctionRolePrefix == "" {
		c.FunctionRolePrefix = d.FunctionRolePrefix
	}
	if c.StartWindowMinutes < 60 {
		c.StartWindowMinutes = d.StartWindowMinutes
	}
	if c.CompleteWindowMinutes <= 0 {
		c.CompleteWindowMinutes = d.CompleteWindowMinutes
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = d.StaleAfter
	}
	if c.CopyTimeout <= 0 {
		c.CopyTimeout = d.CopyTimeout
	}
	if c.UnitResendAfter <= 0 {
		c.UnitResendAfter = d.UnitResendAfter
	}
	if c.UnitTimeout <= 0 {
		c.UnitTimeout = d.UnitTimeout
	}
	if c.MaxCatchUp <= 0 {
		c.MaxCatchUp = d.MaxCatchUp
	}
	if c.MaxDeletesPerRun <= 0 {
		c.MaxDeletesPerRun = d.MaxDeletesPerRun
	}
	if c.MaxDeleteAttempts <= 0 {
		c.MaxDeleteAttempts = d.MaxDeleteAttempts
	}
	if c.Concurrency <= 0 {
		c.Concurrency = d.Concurrency
	}
	return c
}

// Engine runs the use-cases against the ports. Build it with New; the
// fields are exported so that tests and wiring code can see what it needs.
type Engine struct {
	Store       Store
	Backup      Backup
	FileSystems FileSystems
	Org         Organization
	Queue       Queue
	Notifier    Notifier
	Clock       Clock
	Log         *slog.Logger
	Config      Config
}

// New returns an Engine with defaults filled in: a discarding logger when
// log is nil and DefaultConfig for zero config fields.
func New(e Engine) *Engine {
	if e.Log == nil {
		e.Log = slog.New(slog.DiscardHandler)
	}
	e.Config = e.Config.withDefaults()
	return &e
}

func (e *Engine) now() time.Time { return e.Clock.Now().UTC() }

// roleArn returns the ARN of a role that has the same name in every account.
func roleArn(l Loc, name string) string {
	return "arn:" + policy.Partition(l.Region) + ":iam::" + l.Account + ":role/" + name // every job start: no Sprintf
}

// BackupToken is the IdempotencyToken of attempt n of a task's backup.
func BackupToken(taskID string, n int) string { return token(taskID, "backup", strconv.Itoa(n)) }

// CopyToken is the IdempotencyToken of attempt n of a task's copy to region.
func CopyToken(taskID, region string, n int) string {
	return token(taskID, "copy", region, strconv.Itoa(n))
}

// backupToken is BackupToken(t.ID(), n) without building the id: every
// backup start derives one.
func (t *Task) backupToken(n int) string {
	var buf [256]byte
	b := appendTokenParts(AppendTaskID(buf[:0], t.SessionID, t.Loc, t.FileSystem), "backup")
	return hashToken(strconv.AppendInt(append(b, 0), int64(n), 10))
}

// copyToken is CopyToken(t.ID(), region, n) without building the id: every
// copy start derives one.
func (t *Task) copyToken(region string, n int) string {
	var buf [256]byte
	b := appendTokenParts(AppendTaskID(buf[:0], t.SessionID, t.Loc, t.FileSystem), "copy", region)
	return hashToken(strconv.AppendInt(append(b, 0), int64(n), 10))
}

// token derives an IdempotencyToken. AWS keeps a token for 24 hours: the
// same token and parameters return the same job, so a repeated start (a
// redelivered message, a retried Lambda) never makes a second job.
func token(first string, rest ...string) string {
	var buf [256]byte
	return hashToken(appendTokenParts(append(buf[:0], first...), rest...))
}

// appendTokenParts appends each part to b after a NUL separator.
func appendTokenParts(b []byte, parts ...string) []byte {
	for _, p := range parts {
		b = append(append(b, 0), p...)
	}
	return b
}

// hashToken turns the joined parts into the token.
func hashToken(joined []byte) string {
	h := sha256.Sum256(joined)
	var out [len("efsk-") + 32]byte
	copy(out[:], "efsk-")
	hex.Encode(out[len("efsk-"):], h[:16])
	return string(out[:])
}

// retriable reports whether an error is worth retrying as is (the
// operation may succeed later without anyone changing anything).
func retriable(err error) bool {
	switch ErrorCode(err) {
	case ETHROTTLED, EUNAVAIL, EINTERNAL:
		return true
	}
	return false
}

// logFor returns a logger with the attributes that let one grep follow a
// session (STYLE.md).
func (e *Engine) logFor(policyID, sessionID string, l Loc, fs string) *slog.Logger {
	if !logs(e.Log) {
		// Attributes for a logger that drops everything would only cost
		// allocations on every job event (the simulator's default).
		return e.Log
	}
	args := make([]any, 0, 10)
	if policyID != "" {
		args = append(args, "policy", policyID)
	}
	if sessionID != "" {
		args = append(args, "session", sessionID)
	}
	if l.Account != "" {
		args = append(args, "account", l.Account, "region", l.Region)
	}
	if fs != "" {
		args = append(args, "fileSystem", fs)
	}
	return e.Log.With(args...)
}

// logs reports whether l keeps records of any level the engine writes.
func logs(l *slog.Logger) bool {
	ctx := context.Background()
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if l.Enabled(ctx, level) {
			return true
		}
	}
	return false
}

// update re-reads and re-applies a change until its conditional write wins
// (ECONFLICT means someone else wrote in between). apply may return done to
// skip the write.
func update[T any](ctx context.Context, get func(context.Context) (T, error), apply func(T) (write bool, err error), put func(context.Context, T) error) (T, error) {
	var zero T
	for attempt := 0; attempt < 8; attempt++ {
		rec, err := get(ctx)
		if err != nil {
			return zero, err
		}
		write, err := apply(rec)
		if err != nil || !write {
			return rec, err
		}
		err = put(ctx, rec)
		if err == nil {
			return rec, nil
		}
		if !IsConflict(err) {
			return zero, err
		}
	}
	return zero, Errorf(ECONFLICT, "gave up after repeated concurrent updates")
}

// concurrently calls fn(0) .. fn(n-1), at most limit at a time, and starts
// no further call once one has returned false.
func concurrently(n, limit int, fn func(i int) bool) {
	var next atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range min(max(limit, 1), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n && !stop.Load(); i = int(next.Add(1) - 1) {
				if !fn(i) {
					stop.Store(true)
				}
			}
		}()
	}
	wg.Wait()
}
