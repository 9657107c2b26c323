package sim

import (
	"testing"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// TestHashIndexClash checks that two strings with one hash stay apart. No
// real collision is at hand, so the test plants one: it points "b"'s hash
// at record 0, whose name is "a", as a colliding "a" would have.
func TestHashIndexClash(t *testing.T) {
	names := []string{"a", "b", "c"}
	name := func(i uint32) string { return names[i] }
	x := newHashIndex()
	x.put("a", 0, name)
	x.byHash[strHash("b")] = 0
	x.put("b", 1, name)
	if len(x.clash) != 1 {
		t.Fatalf("clash holds %d strings, want 1 (b)", len(x.clash))
	}
	for s, want := range map[string]uint32{"a": 0, "b": 1} {
		if i, ok := x.get(s, name); !ok || i != want {
			t.Errorf("get(%q) = %d, %v; want %d", s, i, ok, want)
		}
	}
	if _, ok := x.get("c", name); ok {
		t.Error("get(c) found a record that was never put")
	}
	x.del("b", name)
	if _, ok := x.get("b", name); ok || len(x.clash) != 0 {
		t.Errorf("b still found after del (clash %d)", len(x.clash))
	}
	// The planted hash of b now names a, which must not answer for b.
	if i, ok := x.get("a", name); !ok || i != 0 {
		t.Errorf("get(a) = %d, %v after del(b); want 0", i, ok)
	}
	x.del("a", name)
	if _, ok := x.get("a", name); ok {
		t.Error("a still found after del")
	}
}

// TestRegionCache checks that the remembered Region (World.known) never
// answers for another place, and that account changes made after a
// Region was remembered still decide the next call.
func TestRegionCache(t *testing.T) {
	w := testWorld(t, Faults{}, gib)
	b := w.Backup()
	if _, err := b.ListVaults(ctx, locA); err != nil {
		t.Fatal(err)
	}
	vs, err := b.ListVaults(ctx, locDR)
	if err != nil || len(vs) != 1 || vs[0].Name != "dr" {
		t.Fatalf("ListVaults(%v) after %v = %v, %v; want the dr vault", locDR, locA, vs, err)
	}
	if _, err := b.ListVaults(ctx, locA); err != nil {
		t.Fatal(err)
	}
	w.DenyAccess(locA.Account, true)
	if _, err := b.ListVaults(ctx, locA); awsCode(err) != ErrAccessDenied {
		t.Fatalf("after DenyAccess: %v, want %s", err, ErrAccessDenied)
	}
	w.DenyAccess(locA.Account, false)
	w.SetAccountStatus(locA.Account, "SUSPENDED")
	if _, err := b.ListVaults(ctx, locA); awsCode(err) != ErrAccessDenied {
		t.Fatalf("suspended account: %v, want %s", err, ErrAccessDenied)
	}
	unknown := engine.Loc{Account: "999999999999", Region: locA.Region}
	if _, err := b.ListVaults(ctx, unknown); awsCode(err) != ErrAccessDenied {
		t.Fatalf("unknown account: %v, want %s", err, ErrAccessDenied)
	}
}

// TestLastPointCache checks that the point findPoint remembers never
// answers once it is gone, nor for another ARN.
func TestLastPointCache(t *testing.T) {
	w := New(Config{Seed: 1})
	v := &vault{name: "v"}
	a := &recoveryPoint{arn: "arn:a", vault: v}
	b := &recoveryPoint{arn: "arn:b", vault: v}
	w.newPoint(a)
	w.newPoint(b)
	if w.findPoint("arn:a") != a || w.findPoint("arn:a") != a || w.findPoint("arn:b") != b || w.findPoint("arn:a") != a {
		t.Fatal("findPoint does not find the points")
	}
	w.unlist(a)
	if p := w.findPoint("arn:a"); p != nil {
		t.Errorf("findPoint found %s after it was unlisted", p.arn)
	}
	if w.findPoint("arn:c") != nil || w.findPoint("arn:b") != b {
		t.Error("findPoint answered for the wrong ARN")
	}
}
