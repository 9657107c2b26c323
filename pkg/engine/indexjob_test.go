package engine

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func ixJob() WorkerJob {
	rp := "arn:aws:backup:eu-west-1:111122223333:recovery-point:0b7d2ad5-8d35-4c37-a7a7-2b3b0a0e3f11"
	id := IndexRunID("p#2025-01-01T00:00:00Z#111122223333#eu-west-1#fs-0123456789abcdef0")
	return WorkerJob{RunID: id, Account: "111122223333", Region: "eu-west-1", FileSystem: "fs-0123456789abcdef0",
		MountTargetIP: "10.0.1.10", Bucket: "efskeeper-index-111122223333-eu-west-1", BucketRegion: "us-east-1",
		IndexKey: IndexKey(ixLoc, "fs-0123456789abcdef0", rp), ResultKey: ResultKey(id), RecoveryPointArn: rp,
		BackupCreatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), MaxLifetimeSeconds: 3600}
}

func TestIndexKeysAndIDs(t *testing.T) {
	rp := "arn:aws:backup:eu-west-1:111122223333:recovery-point:0b7d2ad5-8d35-4c37-a7a7-2b3b0a0e3f11"
	if got := IndexKey(ixLoc, "fs-0123456789abcdef0", rp); got != "indexes/111122223333/eu-west-1/fs-0123456789abcdef0/0b7d2ad5-8d35-4c37-a7a7-2b3b0a0e3f11.idx" {
		t.Errorf("IndexKey = %s", got)
	}
	odd := IndexKey(ixLoc, "fs-0123456789abcdef0", "arn:aws:backup:eu-west-1:111122223333:recovery-point:../x y")
	if strings.Contains(odd[len("indexes/111122223333/eu-west-1/fs-0123456789abcdef0/"):], "/") || strings.Contains(odd, " ") || !strings.HasSuffix(odd, ".idx") {
		t.Errorf("an odd recovery point id made key %q", odd)
	}
	id := IndexRunID("task-1")
	if id != IndexRunID("task-1") || id == IndexRunID("task-2") || len(id) != 35 || len(id) > 64 {
		t.Errorf("run ids %q", id)
	}
	if got, ok := RunIDFromResultKey(ResultKey(id)); !ok || got != id {
		t.Errorf("RunIDFromResultKey(ResultKey) = %q, %v", got, ok)
	}
	for _, k := range []string{"results/x.json", "indexes/" + id + ".json", "results/" + id, "results/" + id + ".json.tmp", "results/" + strings.ToUpper(id) + ".json"} {
		if _, ok := RunIDFromResultKey(k); ok {
			t.Errorf("%q taken for a result key", k)
		}
	}
}

func TestWorkerJobValidate(t *testing.T) {
	if err := ixJob().Validate(); err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(*WorkerJob){
		"runId":              func(j *WorkerJob) { j.RunID = "x" },
		"account":            func(j *WorkerJob) { j.Account = "1" },
		"region":             func(j *WorkerJob) { j.Region = "mars-1" },
		"bucketRegion":       func(j *WorkerJob) { j.BucketRegion = "" },
		"fileSystem":         func(j *WorkerJob) { j.FileSystem = "fs-x; rm -rf /" },
		"mountTargetIp":      func(j *WorkerJob) { j.MountTargetIP = "fs.example.com" },
		"bucket":             func(j *WorkerJob) { j.Bucket = "Bad_Bucket" },
		"indexKey":           func(j *WorkerJob) { j.IndexKey = "indexes/222233334444/eu-west-1/fs-0123456789abcdef0/a.idx" },
		"baseKey":            func(j *WorkerJob) { j.BaseKey = j.IndexKey },
		"resultKey":          func(j *WorkerJob) { j.ResultKey = ResultKey(IndexRunID("other")) },
		"recoveryPointArn":   func(j *WorkerJob) { j.RecoveryPointArn = "" },
		"maxLifetimeSeconds": func(j *WorkerJob) { j.MaxLifetimeSeconds = 10 },
	}
	for field, change := range tests {
		j := ixJob()
		change(&j)
		err := j.Validate()
		if err == nil || !strings.Contains(err.Error(), field) || ErrorCode(err) != EINVALID {
			t.Errorf("%s: %v", field, err)
		}
	}
	b, _ := json.Marshal(ixJob())
	j, err := ParseWorkerJob(b)
	if err != nil || j != ixJob() {
		t.Errorf("round trip: %+v, %v", j, err)
	}
}

func TestParseWorkerResult(t *testing.T) {
	good := `{"runId":"` + IndexRunID("t") + `","fileSystem":"fs-0123456789abcdef0","entries":3,"records":3,"bytes":10,"walkErrors":0,` +
		`"startedAt":"2025-01-01T00:00:00Z","finishedAt":"2025-01-01T00:01:30Z"}`
	r, err := ParseWorkerResult([]byte(good))
	if err != nil || r.Entries != 3 || r.Duration() != 90*time.Second {
		t.Fatalf("ParseWorkerResult = %+v, %v", r, err)
	}
	for _, bad := range []string{``, `[]`, `{"runId":"x"}`, strings.Replace(good, `"entries":3`, `"entries":-1`, 1), `{"runId":` + strings.Repeat(" ", MaxResultBytes) + `"x"}`} {
		if _, err := ParseWorkerResult([]byte(bad)); ErrorCode(err) != EINVALID {
			t.Errorf("%.40q: %v", bad, err)
		}
	}
	many := strings.Replace(good, `"walkErrors":0`, `"walkErrors":90,"errors":[`+strings.Repeat(`"a: x",`, 89)+`"a: x"]`, 1)
	if r, err := ParseWorkerResult([]byte(many)); err != nil || len(r.Errors) != maxResultErrors {
		t.Errorf("90 errors kept as %d (%v), want %d", len(r.Errors), err, maxResultErrors)
	}
}

func TestParseWorkerConfig(t *testing.T) {
	c, err := ParseWorkerConfig([]byte(`{"region":"eu-west-1","subnetId":"subnet-0123456789abcdef0","securityGroupIds":["sg-0123456789abcdef0"],"privateNetwork":true,"instanceType":"t4g.small","maxLifetimeHours":24}`))
	if err != nil || !c.PrivateNetwork || c.SubnetID != "subnet-0123456789abcdef0" || c.InstanceType != "t4g.small" || c.MaxLifetimeHours != 24 {
		t.Fatalf("ParseWorkerConfig = %+v, %v", c, err)
	}
	for doc, want := range map[string]string{
		`{"region":"eu-west-1","subnetID":"subnet-0123456789abcdef0"}`:                              `unknown field "subnetID"`,
		`{"region":"eu-west-1","privateNetwork":"yes"}`:                                             "privateNetwork",
		`{"region":"moon-1","subnetId":"subnet-1","securityGroupIds":["sg-1","sg-1"]}`:              `region: "moon-1" is not an AWS Region; subnetId: "subnet-1" is not a subnet id`,
		`{"region":"eu-west-1","securityGroupIds":["sg-0123456789abcdef0","sg-0123456789abcdef0"]}`: "listed twice",
		`{"region":"eu-west-1","instanceType":"large"}`:                                             "instanceType",
		`{"region":"eu-west-1","account":"12"}`:                                                     "account",
		`{"region":"eu-west-1","maxLifetimeHours":169}`:                                             "maxLifetimeHours: 169 is not between 1 and 168",
		`{"region":"eu-west-1","maxLifetimeHours":-1}`:                                              "maxLifetimeHours",
		`{"region":"eu-west-1","maxLifetimeHours":1.5}`:                                             "maxLifetimeHours",
		`{"region":"eu-west-1"} {}`:                                                                 "more than one",
	} {
		_, err := ParseWorkerConfig([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) || ErrorCode(err) != EINVALID {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}

func FuzzParseWorkerJob(f *testing.F) {
	b, _ := json.Marshal(ixJob())
	f.Add(b)
	f.Add([]byte(`{"runId":"ix-00000000000000000000000000000000","maxLifetimeSeconds":-1}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := ParseWorkerJob(data)
		if err != nil {
			return
		}
		// A job that passes can go into a shell script's heredoc and an
		// S3 key: no newline, and keys under its file system's prefix.
		js, _ := json.Marshal(j)
		if strings.ContainsAny(string(js), "\n\r") || strings.ContainsAny(j.FileSystem+j.MountTargetIP+j.RunID, " \n'\"$`;") {
			t.Fatalf("accepted a job that is unsafe in the user data: %+v", j)
		}
		if !strings.HasPrefix(j.IndexKey, IndexesPrefix+j.Account+"/"+j.Region+"/"+j.FileSystem+"/") {
			t.Fatalf("accepted index key %q", j.IndexKey)
		}
	})
}

func FuzzParseWorkerResult(f *testing.F) {
	f.Add([]byte(`{"runId":"` + IndexRunID("t") + `","entries":1,"errors":["a: b"]}`))
	f.Add([]byte(`{"runId":"` + IndexRunID("t") + `","bytes":-5}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseWorkerResult(data)
		if err != nil {
			return
		}
		if !validRunID(r.RunID) || r.Entries < 0 || r.Bytes < 0 || len(r.Errors) > maxResultErrors || r.Duration() < 0 {
			t.Fatalf("accepted %+v", r)
		}
	})
}

func FuzzParseWorkerConfig(f *testing.F) {
	f.Add([]byte(`{"region":"eu-west-1","subnetId":"subnet-0123456789abcdef0","securityGroupIds":["sg-0123456789abcdef0"],"privateNetwork":true}`))
	f.Add([]byte(`{"region":"eu-west-1","account":"111122223333","instanceType":"m7g.large"}`))
	f.Add([]byte(`{"region":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseWorkerConfig(data)
		if err != nil {
			return
		}
		if c.Validate() != nil || c.Version != 0 {
			t.Fatalf("accepted %+v", c)
		}
	})
}
