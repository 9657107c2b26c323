package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

func TestRestores(t *testing.T) {
	h := simulated(t)
	rs := engine.NewRestorer(engine.Restorer{Store: memory.NewRestores(), Service: h.World.Restores(), Clock: h.World})
	f := newFixture(t, fixtureOptions{engine: h.Engine, restores: rs, caller: "arn:aws:iam::111111111111:user/alice"})

	// Pick a backup and a copy of the account policy from the API.
	r := f.do("GET", "/restore-points?policy=account-prod&limit=50", nil)
	mustStatus(t, r, http.StatusOK)
	var pts api.RestorePointList
	r.decode(t, &pts)
	backup := pts.RestorePoints[slices.IndexFunc(pts.RestorePoints, func(p api.RestorePoint) bool { return p.Kind == "backup" })]
	cp := pts.RestorePoints[slices.IndexFunc(pts.RestorePoints, func(p api.RestorePoint) bool { return p.Kind == "copy" })]

	req := api.RestoreRequest{ClientToken: "t-1", Target: engine.RestoreTarget{Kind: engine.TargetOriginal}, Items: []api.RestoreRequestItem{
		{RecoveryPointArn: backup.RecoveryPointArn, Vault: backup.Vault, Paths: []string{"/etc/app.conf", "/srv/data"}},
	}}
	body, _ := json.Marshal(req)
	r = f.do("POST", "/restores", body)
	mustStatus(t, r, http.StatusAccepted)
	var started api.Restore
	r.decode(t, &started)
	if started.Status != "Running" || len(started.Jobs) != 1 || started.RequestedBy != "arn:aws:iam::111111111111:user/alice" ||
		started.Items[0].FileSystem != backup.FileSystem || r.header.Get("Location") != "/restores/"+started.ID {
		t.Fatalf("started %+v (Location %s)", started, r.header.Get("Location"))
	}
	// The same token gives the same session.
	r = f.do("POST", "/restores", body)
	mustStatus(t, r, http.StatusAccepted)
	var again api.Restore
	r.decode(t, &again)
	if again.ID != started.ID {
		t.Fatalf("same client token, new session %s", again.ID)
	}
	r = f.do("GET", "/restores/"+started.ID, nil)
	mustStatus(t, r, http.StatusOK)
	r = f.do("GET", "/restores?running=true", nil)
	mustStatus(t, r, http.StatusOK)
	var list api.RestoreList
	r.decode(t, &list)
	if len(list.Restores) != 1 || list.Restores[0].ID != started.ID {
		t.Fatalf("running restores %+v", list.Restores)
	}

	// A copy in another Region cannot go back into the original file
	// system, relative paths are refused: every problem at its field.
	bad, _ := json.Marshal(api.RestoreRequest{Target: engine.RestoreTarget{Kind: engine.TargetOriginal}, Items: []api.RestoreRequestItem{
		{RecoveryPointArn: cp.RecoveryPointArn, Vault: cp.Vault, Paths: []string{"relative/path"}},
	}})
	r = f.do("POST", "/restores", bad)
	mustStatus(t, r, http.StatusBadRequest)
	if e := r.errorBody(t); len(e.Errors) == 0 || !slices.ContainsFunc(e.Errors, func(p policy.Problem) bool { return p.Path == "items[0].paths[0]" }) {
		t.Fatalf("problems %+v", e.Errors)
	}
	for _, c := range []struct {
		body   string
		status int
	}{
		{`{"items":[],"target":{"kind":"original"},"extra":1}`, 400},
		{`{"target":{"kind":"original"}}`, 400},
		{`{"items":"x"}`, 400},
	} {
		mustStatus(t, f.do("POST", "/restores", []byte(c.body)), c.status)
	}
	mustStatus(t, f.do("GET", "/restores/nope", nil), http.StatusBadRequest)
	mustStatus(t, f.do("GET", "/restores/rst-000000000000000000000000", nil), http.StatusNotFound)
	mustStatus(t, f.do("GET", "/restores?cursor=zz", nil), http.StatusBadRequest)

	// A deployment without restores says so.
	bare := newFixture(t, fixtureOptions{})
	mustStatus(t, bare.do("POST", "/restores", body), http.StatusNotImplemented)
}

func TestWorkerConfigs(t *testing.T) {
	f := newFixture(t, fixtureOptions{workerConfigs: memory.NewIndexes()})
	doc := `{"region":"eu-west-1","subnetId":"subnet-0123456789abcdef0","securityGroupIds":["sg-0123456789abcdef0"],"privateNetwork":true}`
	r := f.do("PUT", "/worker-configs/eu-west-1", []byte(doc))
	mustStatus(t, r, http.StatusCreated)
	if r.header.Get("ETag") != `"1"` {
		t.Fatalf("ETag %q", r.header.Get("ETag"))
	}
	r = f.do("PUT", "/worker-configs/eu-west-1?account=222222222222", []byte(`{"account":"222222222222","region":"eu-west-1","instanceType":"m7g.large","maxLifetimeHours":36}`))
	mustStatus(t, r, http.StatusCreated)
	var own api.WorkerConfig
	r.decode(t, &own)
	if own.MaxLifetimeHours != 36 || own.InstanceType != "m7g.large" {
		t.Fatalf("account's config %+v", own)
	}
	r = f.do("GET", "/worker-configs/eu-west-1", nil)
	mustStatus(t, r, http.StatusOK)
	var c api.WorkerConfig
	r.decode(t, &c)
	if !c.PrivateNetwork || c.SubnetID != "subnet-0123456789abcdef0" || c.Version != 1 || !c.UpdatedAt.Equal(t0) {
		t.Fatalf("config %+v", c)
	}
	mustStatus(t, f.do("PUT", "/worker-configs/eu-west-1", []byte(doc), "If-Match", `"7"`), http.StatusPreconditionFailed)
	mustStatus(t, f.do("PUT", "/worker-configs/eu-west-1", []byte(doc), "If-Match", `"1"`), http.StatusOK)
	r = f.do("GET", "/worker-configs", nil)
	mustStatus(t, r, http.StatusOK)
	var list api.WorkerConfigList
	r.decode(t, &list)
	if len(list.WorkerConfigs) != 2 || list.WorkerConfigs[0].Account != "" || list.WorkerConfigs[1].Account != "222222222222" {
		t.Fatalf("list %+v", list)
	}
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"PUT", "/worker-configs/eu-west-1", `{"region":"eu-west-2"}`, 400},
		{"PUT", "/worker-configs/eu-west-1", `{"region":"eu-west-1","subnetId":"net-1"}`, 400},
		{"PUT", "/worker-configs/eu-west-1", `{"region":"eu-west-1","subnet":"subnet-0123456789abcdef0"}`, 400},
		{"PUT", "/worker-configs/eu-west-1", `{"region":"eu-west-1","privateNetwork":"yes"}`, 400},
		{"PUT", "/worker-configs/eu-west-1", `{"region":"eu-west-1","maxLifetimeHours":500}`, 400},
		{"PUT", "/worker-configs/eu-west-1?account=1", `{"region":"eu-west-1"}`, 400},
		{"GET", "/worker-configs/moon-1", ``, 400},
		{"GET", "/worker-configs/us-east-1", ``, 404},
		{"DELETE", "/worker-configs/eu-west-1", ``, 412}, // the header below is stale
	} {
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		r := f.do(c.method, c.path, body, "If-Match", `"1"`)
		mustStatus(t, r, c.status)
		r.errorBody(t)
	}
	mustStatus(t, f.do("DELETE", "/worker-configs/eu-west-1", nil, "If-Match", `"2"`), http.StatusNoContent)
	mustStatus(t, f.do("GET", "/worker-configs/eu-west-1", nil), http.StatusNotFound)
}
