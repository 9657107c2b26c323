// Package sim is a simulated AWS for efskeeper: an Organization with nested
// OUs and accounts, Regions, EFS file systems, backup vaults, AWS Backup jobs
// and recovery points, and the EventBridge events those jobs emit, all on a
// virtual clock.
//
// It implements the engine's ports (engine.Backup, engine.FileSystems,
// engine.Organization, engine.Clock) so that the demo, the chaos soak, the
// benchmark and the end-to-end tests run the real use-cases against it.
//
// Faithfulness goals, in order: the event JSON is shaped exactly like what
// AWS Backup sends (testdata/ holds AWS's examples; events_test.go compares
// keys, types and order); the job rules that make real runs fail hold (one
// backup or copy job per file system at a time, start windows, idempotency
// tokens, EFS automatic backups at 05:00 UTC, vault locks and access
// policies, DeleteRecoveryPoint answering success while only expiring a
// point); faults (lost, duplicated, late, reordered events, throttling,
// failed jobs) are injected with configurable probabilities.
//
// Where AWS does not document a behaviour, the simulator picks one and says
// so on the method: a reused idempotency token with other parameters returns
// the existing job (and is recorded, see TokenMismatches); StartBackupJob
// with EFS not opted in fails with InvalidRequestException; a backup that
// runs past its completion window ends ABORTED; cross-account copies need
// an Allow of backup:CopyIntoBackupVault in the destination vault policy.
//
// Reproducibility: every random decision draws from a math/rand/v2 PCG
// source seeded with (Config.Seed, a hash of what is being decided: a job,
// an event, the n-th call of an operation in one account and Region), and
// job ids derive from idempotency tokens. The same seed and the same calls
// give the same world; when independent Regions are driven from several
// goroutines, decisions and ids still do not depend on the interleaving,
// only the order of things that happen at the same virtual instant does.
// No result depends on Go map iteration order.
//
// Cost: job transitions, lifecycle deletions and the daily automatic
// backups run from one timer heap of pointer-free entries; nothing scans
// all jobs per minute. An event is recorded as (job, state, instant) when
// it happens and rendered to JSON with hand-written appends when it is
// delivered (DeliverEventsTo reuses one buffer for all of them).
// BenchmarkSimDay measures a day of 16,000 file systems.
package sim
