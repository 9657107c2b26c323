package store_test

import (
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store"
)

func TestCheckSession(t *testing.T) {
	at := time.Date(2025, 3, 1, 2, 0, 0, 500, time.UTC)
	ok := &engine.Session{ID: engine.SessionID("p1", at), PolicyID: "p1", ScheduledAt: at}
	if err := store.CheckSession(ok); err != nil {
		t.Fatalf("derived id refused: %v", err)
	}
	for name, s := range map[string]*engine.Session{
		"other instant": {ID: engine.SessionID("p1", at.Add(time.Second)), PolicyID: "p1", ScheduledAt: at},
		"other policy":  {ID: engine.SessionID("p2", at), PolicyID: "p1", ScheduledAt: at},
		"no policy":     {ID: engine.SessionID("", at), ScheduledAt: at},
		"hash":          {ID: engine.SessionID("p#1", at), PolicyID: "p#1", ScheduledAt: at},
	} {
		if code := engine.ErrorCode(store.CheckSession(s)); code != engine.EINVALID {
			t.Errorf("%s: code %q, want %q", name, code, engine.EINVALID)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	in := map[string]string{"pk": "POLICY#p1", "sk": "TASK#p1#2025-03-01T02:00:00Z#a#b#fs-1"}
	var out map[string]string
	if err := store.DecodeCursor(store.EncodeCursor(in), &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out["pk"] != in["pk"] || out["sk"] != in["sk"] {
		t.Fatalf("round trip gave %v", out)
	}
}

// FuzzDecodeCursor feeds cursors from outside (API query strings): they
// must decode or fail with EINVALID, never panic.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(store.EncodeCursor(map[string]string{"pk": "a", "sk": "b"}))
	f.Add("")
	f.Add("%%%")
	f.Add("bnVsbA")      // "null"
	f.Add("eyJwayI6MX0") // {"pk":1}
	f.Fuzz(func(t *testing.T, cursor string) {
		var m map[string]string
		if err := store.DecodeCursor(cursor, &m); err != nil && engine.ErrorCode(err) != engine.EINVALID {
			t.Fatalf("code %q", engine.ErrorCode(err))
		}
	})
}
