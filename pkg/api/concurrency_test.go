package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/store/dynamo"
	"github.com/efskeeper/efskeeper/pkg/store/dynamo/dynalite"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

// concurrentWriters has 16 admins add tags to one policy at once, each
// with read, change, PUT If-Match and a fresh read on 412: optimistic
// concurrency must lose no update.
func concurrentWriters(t *testing.T, st engine.Store) {
	const writers, updates = 16, 4
	f := newFixture(t, fixtureOptions{store: st})
	mustStatus(t, f.do("PUT", "/policies/account-prod", readPolicy(t, "account-prod.json")), http.StatusCreated)

	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range updates {
				for attempt := 0; ; attempt++ {
					if attempt > 200 {
						t.Errorf("writer %d gave up on update %d", w, u)
						return
					}
					r := f.do("GET", "/policies/account-prod", nil)
					if r.status != http.StatusOK {
						t.Errorf("GET: %d %s", r.status, r.body)
						return
					}
					var rec api.PolicyRecord
					if err := json.Unmarshal(r.body, &rec); err != nil {
						t.Error(err)
						return
					}
					rec.Policy.Source.Tags = append(rec.Policy.Source.Tags, policy.Tag{Key: fmt.Sprintf("w%02d", w), Value: fmt.Sprint(u)})
					doc, _ := json.Marshal(rec.Policy)
					r = f.do("PUT", "/policies/account-prod", doc, "If-Match", r.header.Get("ETag"))
					if r.status == http.StatusPreconditionFailed {
						mu.Lock()
						conflicts++
						mu.Unlock()
						continue
					}
					if r.status != http.StatusOK {
						t.Errorf("PUT: %d %s", r.status, r.body)
						return
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	rec, err := st.GetPolicy(t.Context(), "account-prod")
	if err != nil {
		t.Fatal(err)
	}
	have := map[policy.Tag]bool{}
	for _, tag := range rec.Policy.Source.Tags {
		have[tag] = true
	}
	for w := range writers {
		for u := range updates {
			if tag := (policy.Tag{Key: fmt.Sprintf("w%02d", w), Value: fmt.Sprint(u)}); !have[tag] {
				t.Errorf("update %v was lost", tag)
			}
		}
	}
	if want := int64(1 + writers*updates); rec.Version != want || len(rec.Policy.Source.Tags) != 1+writers*updates {
		t.Fatalf("version %d and %d tags, want %d and %d", rec.Version, len(rec.Policy.Source.Tags), want, 1+writers*updates)
	}
	if conflicts == 0 {
		t.Fatal("16 concurrent writers never met a 412: the test did not test concurrency")
	}
	t.Logf("%d updates, %d answered 412 and were retried", writers*updates, conflicts)
}

func TestConcurrentWritersMemoryStore(t *testing.T) {
	concurrentWriters(t, memory.New())
}

func TestConcurrentWritersDynamoDBStore(t *testing.T) {
	srv, err := dynalite.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	concurrentWriters(t, dynamo.New(srv.Client, srv.NewTable(t)))
}
