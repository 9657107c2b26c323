package dynamo

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store"
)

// Attribute and index names of the table. The CDK stack defines the same
// table; keep the two in step (infra can import these).
const (
	AttrPK        = "pk"
	AttrSK        = "sk"
	AttrExpiresAt = "expiresAt" // the table's TTL attribute, epoch seconds

	IndexWork     = "gsi1" // due policies, due tasks, running sessions
	AttrGSI1PK    = "gsi1pk"
	AttrGSI1SK    = "gsi1sk"
	IndexByJob    = "gsi2" // task by backup job id; sessions by time
	AttrGSI2PK    = "gsi2pk"
	AttrGSI2SK    = "gsi2sk"
	IndexByPoint  = "gsi3" // task by source recovery point ARN
	AttrGSI3PK    = "gsi3pk"
	AttrGSI3SK    = "gsi3sk"
	IndexByFS     = "gsi4" // live tasks of one file system
	AttrGSI4PK    = "gsi4pk"
	AttrGSI4SK    = "gsi4sk"
	DueTaskShards = 8
)

// Short names for the code in this package.
const (
	attrPK      = AttrPK
	attrSK      = AttrSK
	attrVersion = "version" // the records' json name of Version
	attrType    = "type"
	attrLive    = "live"
)

// Partition keys and sort key prefixes.
const (
	pkPolicies     = "POLICIES"
	pkPolicyPrefix = "POLICY#"
	skPolicyPrefix = "POLICY#"
	skSession      = "SESSION#"
	skUnit         = "UNIT#"
	skTask         = "TASK#"
	gsiDuePolicy   = "DUEPOLICY"
	gsiRunning     = "RUNNING"
	gsiDueTask     = "DUETASK#"
	gsiSessions    = "SESSIONS"
	gsiJob         = "JOB#"
	gsiPoint       = "RP#"
	gsiRetain      = "RETAIN#"
	gsiFileSystem  = "FS#"
)

// Key attributes of each query's cursor: the table's key, plus the index's.
var (
	mainKey = []string{AttrPK, AttrSK}
	gsi1Key = []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}
	gsi2Key = []string{AttrPK, AttrSK, AttrGSI2PK, AttrGSI2SK}
	gsi4Key = []string{AttrPK, AttrSK, AttrGSI4PK, AttrGSI4SK}
)

// ts writes a time so that strings sort as times do: UTC, fixed width,
// nanoseconds.
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// upTo is the sort key bound below which every "T(t')#id" with t' <= t
// lies: '$' follows '#'.
func upTo(t time.Time) string { return ts(t) + "$" }

// policyPartition is the partition of a policy's sessions, units and tasks,
// found from the front of their ids.
func policyPartition(id string) string { return pkPolicyPrefix + store.PolicyOf(id) }

func policyKey(id string) (pk, sk string)  { return pkPolicies, skPolicyPrefix + id }
func sessionKey(id string) (pk, sk string) { return policyPartition(id), skSession + id }
func unitKey(id string) (pk, sk string)    { return policyPartition(id), skUnit + id }
func taskKey(id string) (pk, sk string)    { return policyPartition(id), skTask + id }

// fileSystemTasks is the gsi4 partition of a policy's live tasks of one
// file system.
func fileSystemTasks(policyID string, l engine.Loc, fs string) string {
	return gsiFileSystem + policyID + "#" + fileSystemName(l, fs)
}

// dueTaskShard spreads open tasks over the due-task partitions.
func dueTaskShard(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return dueTaskPartition(h.Sum32() % DueTaskShards)
}

func dueTaskPartition(n uint32) string { return fmt.Sprintf("%s%d", gsiDueTask, n) }

// attrs builds the extra attributes of an item, leaving out empty values:
// an index key that is absent keeps the item out of that index.
func attrs(kv ...string) item {
	m := item{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = str(kv[i+1])
		}
	}
	return m
}

func policyAttrs(p *engine.PolicyRecord) item {
	id := p.Policy.ID
	pk, sk := policyKey(id)
	var duePK, dueSK string
	if p.Policy.Enabled && !p.NextRunAt.IsZero() {
		duePK, dueSK = gsiDuePolicy, ts(p.NextRunAt)+"#"+id
	}
	return attrs(attrPK, pk, attrSK, sk, attrType, "policy", AttrGSI1PK, duePK, AttrGSI1SK, dueSK)
}

func (s *Store) sessionAttrs(ss *engine.Session) item {
	pk, sk := sessionKey(ss.ID)
	byTime := ts(ss.ScheduledAt) + "#" + ss.ID
	var runPK, runSK string
	if ss.Status == engine.StatusRunning {
		runPK, runSK = gsiRunning, byTime
	}
	m := attrs(attrPK, pk, attrSK, sk, attrType, "session",
		AttrGSI1PK, runPK, AttrGSI1SK, runSK, AttrGSI2PK, gsiSessions, AttrGSI2SK, byTime)
	if ss.Status.Terminal() {
		end := ss.EndedAt
		if end.IsZero() {
			end = ss.UpdatedAt
		}
		s.setExpiry(m, end)
	}
	return m
}

func (s *Store) unitAttrs(u *engine.Unit) item {
	pk, sk := unitKey(u.ID())
	m := attrs(attrPK, pk, attrSK, sk, attrType, "unit")
	if u.State.Terminal() {
		s.setExpiry(m, u.UpdatedAt)
	}
	return m
}

func (s *Store) taskAttrs(t *engine.Task) item {
	id := t.ID()
	pk, sk := taskKey(id)
	var duePK, dueSK, jobPK, jobSK, pointPK, pointSK, fsPK, fsSK string
	live := t.Live()
	switch {
	case !t.Phase.Terminal():
		duePK, dueSK = dueTaskShard(id), ts(t.NextCheckAt)+"#"+id
	case t.InRetention():
		duePK, dueSK = gsiRetain+t.PolicyID, ts(t.RetainAt)+"#"+id
	}
	if live {
		fsPK, fsSK = fileSystemTasks(t.PolicyID, t.Loc, t.FileSystem), id
	}
	if t.Backup.ID != "" {
		jobPK, jobSK = gsiJob+t.Backup.ID, id
	}
	if t.RecoveryPointArn != "" {
		pointPK, pointSK = gsiPoint+t.RecoveryPointArn, id
	}
	m := attrs(attrPK, pk, attrSK, sk, attrType, "task",
		AttrGSI1PK, duePK, AttrGSI1SK, dueSK, AttrGSI2PK, jobPK, AttrGSI2SK, jobSK, AttrGSI3PK, pointPK, AttrGSI3SK, pointSK,
		AttrGSI4PK, fsPK, AttrGSI4SK, fsSK)
	m[attrLive] = &types.AttributeValueMemberBOOL{Value: live}
	if t.Phase.Terminal() && !live {
		s.setExpiry(m, t.UpdatedAt)
	}
	return m
}

func (s *Store) setExpiry(m item, end time.Time) {
	if v := s.expiry(end); v != nil {
		m[AttrExpiresAt] = v
	}
}
