package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/awsevent"
)

// matches evaluates the part of EventBridge's pattern language the rule
// uses: arrays of exact values, {"exists": bool}, nested objects and
// "$or". A field the pattern names must be in the event; an array value in
// the event matches when any of its elements does.
func matches(pattern map[string]interface{}, event map[string]interface{}) bool {
	for k, want := range pattern {
		if k == "$or" {
			any := false
			for _, alt := range want.([]interface{}) {
				any = any || matches(alt.(map[string]interface{}), event)
			}
			if !any {
				return false
			}
			continue
		}
		got, present := event[k]
		switch w := want.(type) {
		case map[string]interface{}:
			sub, ok := got.(map[string]interface{})
			if !present || !ok || !matches(w, sub) {
				return false
			}
		case []interface{}:
			if !matchValue(w, got, present) {
				return false
			}
		}
	}
	return true
}

func matchValue(alts []interface{}, got interface{}, present bool) bool {
	for _, alt := range alts {
		if m, ok := alt.(map[string]interface{}); ok {
			if exists, ok := m["exists"].(bool); ok && exists == present {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		values, isArray := got.([]interface{})
		if !isArray {
			values = []interface{}{got}
		}
		for _, v := range values {
			if v == alt {
				return true
			}
		}
	}
	return false
}

// The synthesized rule passes on exactly the sample events that
// awsevent.Delivered (the simulator's rule) passes, and both pass on every
// terminal job event and no non-terminal Backup or Copy job event.
func TestJobEventPatternAgreesWithDelivered(t *testing.T) {
	tpl := fullFixture(t).template(t, "home")
	var pattern map[string]interface{}
	for _, r := range resources(tpl, "AWS::Events::Rule") {
		props := r["Properties"].(map[string]interface{})
		if p, ok := props["EventPattern"].(map[string]interface{}); ok {
			pattern = p
		}
	}
	if pattern == nil {
		t.Fatal("no event rule with a pattern in the home stack")
	}
	files, err := filepath.Glob("../../testdata/events/eventbridge/*.json")
	if err != nil || len(files) < 20 {
		t.Fatalf("sample events: %d files, %v", len(files), err)
	}
	passed := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev map[string]interface{}
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		detail, _ := ev["detail"].(map[string]interface{})
		state, _ := detail["state"].(string)
		status, _ := detail["status"].(string)
		detailType, _ := ev["detail-type"].(string)
		want := ev["source"] == "aws.backup" && awsevent.Delivered(detailType, state, status)
		if got := matches(pattern, ev); got != want {
			t.Errorf("%s: the rule passes it: %v; awsevent.Delivered: %v", filepath.Base(f), got, want)
		}
		name := filepath.Base(f)
		jobEvent := strings.Contains(name, "backup-job") || strings.Contains(name, "copy-job")
		terminal := strings.Contains(name, "completed") || strings.Contains(name, "failed") || strings.Contains(name, "aborted") || strings.Contains(name, "expired")
		if jobEvent && want != terminal {
			t.Errorf("%s: delivered %v, but terminal %v", name, want, terminal)
		}
		if want {
			passed++
		}
	}
	if passed == 0 || passed == len(files) {
		t.Errorf("the rule passes %d of %d samples", passed, len(files))
	}
}
