// Package dynamo is the DynamoDB implementation of engine.Store,
// IndexStore, WorkerConfigStore and RestoreStore: one table, single-table
// design, conditional writes for every versioned record.
//
// # Table
//
// Key schema: partition key pk (S), sort key sk (S). Four global secondary
// indexes, each keyed by two string attributes and projecting ALL:
//
//	gsi1 (gsi1pk, gsi1sk)  work lists: due policies, due tasks, running sessions,
//	                       retention's work list, due index runs, running restores
//	gsi2 (gsi2pk, gsi2sk)  task by backup job id; sessions of all policies by time;
//	                       index runs of a file system; restores by time
//	gsi3 (gsi3pk, gsi3sk)  task by source recovery point ARN; done index runs of
//	                       a file system
//	gsi4 (gsi4pk, gsi4sk)  live tasks of one file system (retention's groups)
//
// Every index entry is sparse: an item carries an index's key attributes
// only while it belongs in that list, so a due query reads due items only,
// never the whole history. The time to live attribute is expiresAt (epoch
// seconds). Billing is on demand.
//
// # Items
//
// T is a time as UTC "2006-01-02T15:04:05.000000000Z" (fixed width, so that
// strings sort as times). <p> is the policy id, which for sessions, units and
// tasks is the part of their id before the first '#' (engine.SessionID,
// UnitID and TaskID all start with it; store.CheckSession and friends refuse
// records that break this).
//
//	record   pk          sk                 gsi1pk / gsi1sk                     gsi2pk / gsi2sk           gsi3pk / gsi3sk
//	policy   POLICIES    POLICY#<id>        DUEPOLICY / T(nextRunAt)#<id> (1)   -                         -
//	session  POLICY#<p>  SESSION#<id>       RUNNING / T(scheduledAt)#<id> (2)   SESSIONS / T(scheduledAt)#<id>   -
//	unit     POLICY#<p>  UNIT#<id>          -                                   -                         -
//	task     POLICY#<p>  TASK#<id>          DUETASK#<n> / T(nextCheckAt)#<id> (3)  JOB#<backup job id> / <id> (4)  RP#<arn> / <id> (5)
//	                                        or RETAIN#<p> / T(retainAt)#<id> (6)
//
//	(1) only while the policy is enabled and has a NextRunAt
//	(2) only while the session is Running
//	(3) only while the task's phase is not terminal; n = FNV-1a(id) mod 8,
//	    so that the open tasks of a large session spread over eight
//	    partitions; DueTasks queries the eight in parallel
//	(4) only once the task has a backup job id
//	(5) only once the task has a source recovery point ARN
//	(6) only while the task is engine.Task.InRetention (terminal, a live
//	    point, a RetainAt): ListTasks with RetainBy reads it up to T(RetainBy)
//
// A live task (engine.Task.Live) also carries gsi4pk FS#<p>#<fs> (<fs> as
// above: account#region#file system id) and gsi4sk
// <id>: ListTasks of one file system reads that partition, so that
// retention decides on a file system's points with one Query.
//
// The records that came after engine.Store (engine.IndexStore,
// WorkerConfigStore and RestoreStore, all on the same Store) overload the
// same three indexes with partition keys of their own. <fs> is
// <account>#<region>#<file system id>; B is T(backupCreatedAt)#<run id>;
// R is T(createdAt)#<restore id>; <r>#<a> is region#account ("" for the
// configuration of every account).
//
//	record         pk                   sk                     gsi1pk / gsi1sk                  gsi2pk / gsi2sk    gsi3pk / gsi3sk
//	index run      INDEXRUN#<id>        INDEXRUN               DUEINDEX / T(deadline)#<id> (6)  IXFS#<fs> / B      IXDONE#<fs> / B (7)
//	index slot     IXLOCK#<fs>          IXLOCK                 -                                -                  -
//	worker config  WORKERCONFIGS        WORKERCONFIG#<r>#<a>   -                                -                  -
//	restore        RESTORE#<id>         RESTORE                RUNNINGRESTORES / R (8)          RESTORES / R       -
//	job pointer    RESTOREJOB#<job id>  RESTOREJOB             -                                -                  -
//
//	(6) only while the run is not terminal and has a Deadline
//	(7) only while the run is done (its index is in the bucket)
//	(8) only while the restore is Running
//
// Index runs: GetIndexRun is a GetItem (the run id, derived from the task
// id, is all a result object names); FileSystemIndexRuns reads gsi2
// IXFS#<fs> backwards, or with DoneOnly the sparse gsi3 IXDONE#<fs> (so
// that finding a delta's base never reads failed runs); DueIndexRuns reads
// gsi1 DUEINDEX up to now. A run's update is conditional on its version and
// on its stored gsi2pk, so that a run cannot move to another file system.
// Done runs never expire (they name the indexes restores browse); failed
// and skipped runs expire like ended tasks.
//
// Index slots: one item per file system, attributes runId and until (T).
// LockFileSystem is one PutItem on "attribute_not_exists(pk) OR runId =
// :me OR until < :now" returning ALL_OLD (an expired holder becomes
// Previous); UnlockFileSystem one DeleteItem on "runId = :me". A slot
// item expires the retention of ended records after its until.
//
// Worker configurations: one partition, sorted by Region then account
// ('#' sorts before every character of a Region name; the Region-wide
// configuration, account "", comes first); listing is one Query.
//
// Restores: ListRestores reads gsi2 RESTORES (or, RunningOnly, gsi1
// RUNNINGRESTORES) backwards, from T(Since) when set. RestoreByJob needs
// the session of any of its (up to a few hundred) AWS job ids, more than
// one item's index keys can hold, so every started job gets a pointer
// item naming its session; RestoreByJob is a GetItem of the pointer and a
// GetItem of the session (both strongly consistent), and finds nothing
// unless the session carries the job id, so pointers left by a write that
// lost its race, or by a replaced job id, are harmless and never deleted
// (they expire with the retention of ended records, counted from the
// session's creation). A restore item carries jobsKey, a digest of its job
// ids; PutRestore is conditional on version and jobsKey, so a write that
// adds no job id is one PutItem. When the job ids change, the failed
// condition yields the stored item (or a GetItem against emulators), the
// new ids' pointers are written (BatchWriteItem, 25 a call) and then the
// session at the same version: a stored session never carries a job id
// without its pointer. Ended restores expire like ended sessions.
//
// After a failed condition, index run, slot, worker configuration and
// restore writes ask DynamoDB for the stored item
// (ReturnValuesOnConditionCheckFailure, no read capacity) to tell a stale
// version from another cause; dynalite ignores the option, so there it
// costs one GetItem.
//
// Besides the record's own fields (attributevalue with the records' json
// tags, so that names match the API's JSON), items carry type (policy,
// session, unit, task, indexrun, indexlock, workerconfig, restore,
// restorejob), live (BOOL, tasks: Task.Live, for ListTasks
// LiveOnly) and expiresAt.
//
// Queries: ListPolicies reads partition POLICIES. A policy's sessions,
// units and tasks share partition POLICY#<p>: ListSessions of one policy
// reads it backwards between SESSION#<p>#<From> and SESSION#<p>#<To>
// (session ids carry their instant in RFC 3339, so they sort by time);
// SessionUnits reads UNIT#<session id>#...; ListTasks of a session reads
// TASK#<session id>#..., of a policy TASK#... (so tasks come in id order,
// which is session order). ListSessions across policies reads gsi2
// partition SESSIONS backwards. Reads of the main table are strongly
// consistent; index reads are eventually consistent, so a due list or a
// lookup may lag a write by a moment (the engine re-reads and writes
// conditionally, so a stale list costs a retry, never a lost update).
//
// Writes: create is PutItem with attribute_not_exists(pk); update is
// PutItem with version = :read, writing version+1; a failed condition is
// ECONFLICT. AdjustSession is one UpdateItem that adds to the counters and
// the version (SET with +, since ADD cannot reach nested attributes) and
// returns ALL_NEW. DeletePolicy is a conditional DeleteItem (a GetItem
// follows a failed condition, to tell ENOTFOUND from ECONFLICT).
// Throttling (ProvisionedThroughputExceeded, RequestLimitExceeded,
// ThrottlingException) that survives the SDK's retries is ETHROTTLED.
//
// Expiry: a terminal session (from EndedAt), a terminal unit (from
// UpdatedAt) and a terminal task that holds no live restore point (from
// UpdatedAt) get expiresAt = that time + the retention of ended records
// (default 400 days, WithEndedRetention). A task that still holds a
// restore point never expires: retention reads it to delete the point.
//
// Hot keys: all of a policy's sessions, units and tasks share one partition
// key. The table has no local secondary index, so DynamoDB may split that
// item collection by sort key under load; the open tasks, which take most
// of the writes of a running session, are spread over eight gsi1
// partitions. One session item takes every AdjustSession of its session:
// one item cannot exceed 1,000 writes per second, which bounds how fast a
// session's job events can be applied (the SDK retries throttling; the
// queues redeliver). A policy's retention work list is one gsi1
// partition, RETAIN#<p>: each task enters it once when it ends and moves
// when retention looks at it, a few writes per backup spread over the day. The open index runs share one gsi1 partition,
// DUEINDEX: a run is written a handful of times and launches are paced by
// EC2, far below a partition's 1,000 writes per second. A restore item
// holds its paths twice (items and jobs) and can reach a few hundred KB;
// gsi2 and, while it runs, gsi1 project all of it, so each of its writes
// costs about three times its size in write units. Most restores are a
// few KB; the large ones are rare and short.
package dynamo
