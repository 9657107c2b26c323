// Package dynamo is the DynamoDB implementation of engine.Store: one table,
// single-table design, conditional writes for every versioned record.
//
// # Table
//
// Key schema: partition key pk (S), sort key sk (S). Three global secondary
// indexes, each keyed by two string attributes and projecting ALL:
//
//	gsi1 (gsi1pk, gsi1sk)  work lists: due policies, due tasks, running sessions
//	gsi2 (gsi2pk, gsi2sk)  task by backup job id; sessions of all policies by time
//	gsi3 (gsi3pk, gsi3sk)  task by source recovery point ARN
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
//
//	(1) only while the policy is enabled and has a NextRunAt
//	(2) only while the session is Running
//	(3) only while the task's phase is not terminal; n = FNV-1a(id) mod 8,
//	    so that the open tasks of a large session spread over eight
//	    partitions; DueTasks queries the eight in parallel
//	(4) only once the task has a backup job id
//	(5) only once the task has a source recovery point ARN
//
// Besides the record's own fields (attributevalue with the records' json
// tags, so that names match the API's JSON), items carry type (policy,
// session, unit, task), live (BOOL, tasks: Task.Live, for ListTasks
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
// queues redeliver).
package dynamo
