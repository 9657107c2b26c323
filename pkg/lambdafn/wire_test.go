package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/efskeeper/efskeeper/pkg/awscloud"
	"github.com/efskeeper/efskeeper/pkg/store/dynamo"
)

// Wire builds the production engine from the environment without calling
// AWS: every adapter is the real one, configured from Env.
func TestWire(t *testing.T) {
	// Any request to AWS would land here (and fail the test), not on the
	// network: the SDK's endpoint for every service.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "no AWS here", http.StatusForbidden)
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "TESTKEYIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	vars := fullEnv()
	vars["EFSKEEPER_MAX_DELETES"] = "25"
	vars["EFSKEEPER_DRY_RUN"] = "true"
	vars["EFSKEEPER_MEMBER_ROLE_NAME"] = "org-backup"
	env, err := ParseEnv(FnRetention, lookupIn(vars))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Wire(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Store.(*dynamo.Store); !ok {
		t.Errorf("store is %T, want *dynamo.Store", e.Store)
	}
	if _, ok := e.Backup.(*awscloud.Backup); !ok {
		t.Errorf("backup is %T", e.Backup)
	}
	if _, ok := e.FileSystems.(*awscloud.FileSystems); !ok {
		t.Errorf("file systems is %T", e.FileSystems)
	}
	if _, ok := e.Org.(*awscloud.Organization); !ok {
		t.Errorf("organization is %T", e.Org)
	}
	if q, ok := e.Queue.(*awscloud.Queue); !ok || q.RegionQueueURL != "" || q.IndexQueueURL != "" {
		t.Errorf("queue %#v: retention sends nothing, so it gets no queue URLs", e.Queue)
	}
	if n, ok := e.Notifier.(*awscloud.Notifier); !ok || n.TopicArn != "" {
		t.Errorf("notifier %#v", e.Notifier)
	}
	if c := e.Config; c.MaxDeletesPerRun != 25 || !c.DryRun || c.MemberRoleName != "org-backup" || c.BackupRoleName != "efskeeper-backup" || c.StaleAfter == 0 {
		t.Errorf("engine config %+v", c)
	}
	if now := e.Clock.Now(); now.IsZero() {
		t.Error("no clock")
	}
	if calls.Load() != 0 {
		t.Errorf("Wire made %d AWS calls; a cold start must not wait for any", calls.Load())
	}

	env, err = ParseEnv(FnJobEvents, lookupIn(fullEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if e, err = Wire(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	if q := e.Queue.(*awscloud.Queue); q.IndexQueueURL != indexQueue {
		t.Errorf("jobevents queue %+v", q)
	}
	if n := e.Notifier.(*awscloud.Notifier); n.TopicArn != topic {
		t.Errorf("jobevents topic %q", n.TopicArn)
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, Env{Function: "regionrun", LogLevel: slog.LevelInfo}).With("policy", "p")
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "r-1"})
	log.DebugContext(ctx, "hidden at info")
	log.InfoContext(ctx, "with request")
	log.Info("without request")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", lines)
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first["msg"] != "with request" || first["requestId"] != "r-1" || first["function"] != "regionrun" || first["policy"] != "p" {
		t.Errorf("first line %v", first)
	}
	if _, ok := second["requestId"]; ok || second["function"] != "regionrun" {
		t.Errorf("second line %v", second)
	}
}
