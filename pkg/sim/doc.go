// Package sim is a simulated AWS for efskeeper: an Organization with nested
// OUs and accounts, Regions, EFS file systems, backup vaults, AWS Backup jobs
// and recovery points, and the EventBridge events those jobs emit, all on a
// virtual clock.
//
// It implements the engine's ports (engine.Backup, engine.FileSystems,
// engine.Organization, engine.Clock) so that the demo, the chaos soak, the
// benchmark and the end-to-end tests run the real use-cases against it.
//
// Faithfulness goals, in order: the event JSON is byte-for-byte shaped like
// what AWS Backup sends (see testdata/ and DESIGN.md "AWS facts"); the job
// rules that make real runs fail (one job per resource, start windows,
// idempotency tokens, EFS automatic backups, vault locks and access
// policies, DeleteRecoveryPoint answering 200 while only expiring a point)
// hold; faults (lost, duplicated, late, reordered events, throttling, failed
// jobs) are injected with configurable probabilities.
//
// Reproducibility: every random decision draws from a math/rand/v2 PCG
// source seeded with (Config.Seed, a hash of what is being decided: a job
// id, an event id, the n-th call of an operation in one account and Region).
// Two worlds with the same seed that receive the same calls therefore make
// the same decisions, even when independent Regions are driven from
// different goroutines, and no result depends on Go map iteration order.
//
// Cost: job transitions, lifecycle deletions and the daily automatic
// backups run from one timer heap of pointer-free entries; nothing scans
// all jobs per minute. An event is recorded as (job, state, instant) when
// it happens and rendered to JSON with hand-written appends when it is
// delivered (DeliverEventsTo reuses one buffer for all of them).
// BenchmarkSimDay measures a day of 16,000 file systems.
package sim
