package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseExamples(t *testing.T) {
	p := examplePolicy(t, "account-prod.json")
	if p.ID != "account-prod" || p.Source.Mode != ModeAccount || p.Timezone != "Europe/Berlin" {
		t.Errorf("account-prod decoded as %+v", p)
	}
	if got := p.Schedules[0].Days; !reflect.DeepEqual(got, weekdays) {
		t.Errorf("daily schedule without days got days %v, want every day", got)
	}
	if p.Lifecycle != nil {
		t.Errorf("lifecycle = %+v, want nil when absent", p.Lifecycle)
	}
	o := examplePolicy(t, "org-all.json")
	if o.Source.Mode != ModeOrganization || o.Backup.Vaults[0].VaultTag == nil || *o.Backup.Vaults[0].VaultTag != (Tag{"efskeeper:role", "primary"}) {
		t.Errorf("org-all decoded as %+v", o)
	}
}

func TestParseDefaults(t *testing.T) {
	doc := `{
	  "id": "minimal", "name": "Minimal",
	  "source": {"mode": "account", "accounts": ["111122223333"], "regions": ["eu-west-1"], "tags": [{"key": "backup", "value": ""}]},
	  "backup": {"vaults": [{"region": "*", "vault": "Default"}]},
	  "schedules": [{"name": "daily", "kind": "daily", "at": ["02:00"], "retention": {"days": 7}}]
	}`
	p, probs := Parse([]byte(doc))
	if probs != nil {
		t.Fatalf("Parse: %v", probs)
	}
	want := &Policy{
		ID: "minimal", Name: "Minimal", Enabled: true, Timezone: "UTC",
		Source: Source{Mode: ModeAccount, Accounts: []string{"111122223333"}, Regions: []string{"eu-west-1"}, Tags: []Tag{{"backup", ""}}},
		Backup: Backup{Vaults: []VaultRef{{Region: "*", Vault: "Default"}}},
		Schedules: []Schedule{{Name: "daily", Kind: KindDaily, At: []string{"02:00"},
			Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, Retention: Retention{Days: 7}}},
		Retries:       Retries{Count: 0, IntervalMinutes: 10},
		Notifications: Notifications{OnSuccess: false, OnWarning: true, OnFailure: true},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", p, want)
	}
}

func TestParseExplicitValuesOverrideDefaults(t *testing.T) {
	doc := `{
	  "id": "explicit", "name": "Explicit", "enabled": false,
	  "source": {"mode": "account", "accounts": ["111122223333"], "regions": ["eu-west-1"], "fileSystems": ["fs-12345678"]},
	  "backup": {"vaults": [{"region": "*", "vault": "Default"}]},
	  "copies": {"enabled": false, "mappings": [{"sourceRegion": "*", "targetRegion": "us-east-1", "vault": "dr"}]},
	  "schedules": [{"name": "d", "kind": "daily", "at": ["02:00"], "days": ["sat"], "retention": {"count": 3}}],
	  "retries": {"count": 3},
	  "notifications": {"onSuccess": true, "onWarning": false, "onFailure": false}
	}`
	p, probs := Parse([]byte(doc))
	if probs != nil {
		t.Fatalf("Parse: %v", probs)
	}
	if p.Enabled || p.Copies.Enabled || !p.Notifications.OnSuccess || p.Notifications.OnWarning || p.Notifications.OnFailure {
		t.Errorf("explicit booleans lost: %+v", p)
	}
	if p.Retries != (Retries{Count: 3, IntervalMinutes: 10}) {
		t.Errorf("retries = %+v, want count 3 with the default interval", p.Retries)
	}
	if got := p.Schedules[0].Days; !reflect.DeepEqual(got, []string{"sat"}) {
		t.Errorf("days = %v, want [sat]", got)
	}
	if _, ok := p.CopyMapping("eu-west-1"); ok {
		t.Error("CopyMapping resolved a mapping while copies are disabled")
	}
}

func TestParseCopiesEnabledDefault(t *testing.T) {
	base := `{"id": "c", "name": "C",
	  "source": {"mode": "account", "accounts": ["111122223333"], "regions": ["eu-west-1"], "fileSystems": ["fs-12345678"]},
	  "backup": {"vaults": [{"region": "*", "vault": "Default"}]},
	  "schedules": [{"name": "d", "kind": "daily", "at": ["02:00"], "retention": {"days": 3}}]%s}`
	cases := []struct {
		copies string
		want   bool
	}{
		{``, false},
		{`, "copies": {}`, false},
		{`, "copies": {"mappings": [{"sourceRegion": "*", "targetRegion": "us-east-1", "vault": "dr"}]}`, true},
	}
	for _, c := range cases {
		p, probs := Parse([]byte(strings.Replace(base, "%s", c.copies, 1)))
		if probs != nil {
			t.Fatalf("%s: %v", c.copies, probs)
		}
		if p.Copies.Enabled != c.want {
			t.Errorf("copies %q: enabled = %v, want %v", c.copies, p.Copies.Enabled, c.want)
		}
	}
}

// TestParseShapeProblems covers the rules about the JSON itself: unknown
// fields, wrong types, repeated keys, and documents that are not JSON.
func TestParseShapeProblems(t *testing.T) {
	valid, err := os.ReadFile(filepath.Join("..", "..", "testdata", "policies", "account-prod.json"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string {
		if !strings.Contains(string(valid), old) {
			t.Fatalf("the example has no %q", old)
		}
		return strings.Replace(string(valid), old, new, 1)
	}
	cases := []struct {
		name, doc string
		want      []Problem // Message compared by substring
	}{
		{"unknown top-level field with suggestion", edit(`"timezone"`, `"timeZone"`),
			[]Problem{{"timeZone", `Unknown field "timeZone"; did you mean "timezone"?`}}},
		{"unknown nested field without suggestion", edit(`"vault": "prod-vault"`, `"vault": "prod-vault", "colour": "red"`),
			[]Problem{{"backup.vaults[0].colour", `the fields here are "region", "vault", "vaultTag"`}}},
		{"unknown field in retention", edit(`"retention": {"count": 4}`, `"retention": {"count": 4, "weeks": 2}`),
			[]Problem{{"schedules[1].retention.weeks", `Unknown field "weeks"`}}},
		{"odd key is quoted in the path", edit(`"id"`, `"my key": 1, "id"`),
			[]Problem{{`["my key"]`, `Unknown field "my key"`}}},
		{"string where a boolean belongs", edit(`"enabled": true,`, `"enabled": "yes",`),
			[]Problem{{"enabled", `Must be true or false, not the string "yes".`}}},
		{"number where a string belongs", edit(`"eu-west-1", "us-east-1"`, `"eu-west-1", 7`),
			[]Problem{{"source.regions[1]", "Must be a string, not the number 7."}}},
		{"null is not a default", edit(`"indexing": {"enabled": true}`, `"indexing": null`),
			[]Problem{{"indexing", "Must be an object, not null; leave the field out to use its default."}}},
		{"fraction where a whole number belongs", edit(`"intervalMinutes": 10`, `"intervalMinutes": 10.5`),
			[]Problem{{"retries.intervalMinutes", "Must be a whole number, not 10.5."}}},
		{"huge number", edit(`"intervalMinutes": 10`, `"intervalMinutes": 1e300`),
			[]Problem{{"retries.intervalMinutes", "far too large"}}},
		{"object where a list belongs", edit(`"at": ["03:00"]`, `"at": {"t": "03:00"}`),
			[]Problem{{"schedules[1].at", "Must be a list, not an object."}}},
		{"repeated key", edit(`"enabled": true,`, `"enabled": true, "enabled": false,`),
			[]Problem{{"enabled", `The field "enabled" appears more than once`}}},
		{"empty days list of a daily schedule", edit(`"kind": "daily",`, `"kind": "daily", "days": [],`),
			[]Problem{{"schedules[0].days", "The list of days is empty"}}},
		{"empty time zone", edit(`"Europe/Berlin"`, `""`),
			[]Problem{{"timezone", "The time zone is empty"}}},
		{"not an object", `[1, 2]`, []Problem{{"", "Must be an object, not a list."}}},
		{"syntax error with position", "{\n  \"id\": \"x\",\n  \"name\" \"y\"\n}",
			[]Problem{{"", "The document is not valid JSON: invalid character '\"' after object key at line 3, column 10."}}},
		{"truncated", `{"id": "x"`, []Problem{{"", "it ends before the policy object is closed"}}},
		{"empty", "  \n", []Problem{{"", "The document is empty"}}},
		{"trailing data", `{} {}`, []Problem{{"", "Unexpected data after the policy object at line 1, column 4"}}},
		{"too deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), []Problem{{"", "nested too deeply"}}},
		{"too large", `{"id": "` + strings.Repeat("a", MaxDocumentSize) + `"}`, []Problem{{"", "a policy may be at most"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, probs := Parse([]byte(c.doc))
			if p != nil {
				t.Errorf("Parse returned a policy together with problems")
			}
			if len(probs) != len(c.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(probs), len(c.want), probs)
			}
			for i, w := range c.want {
				if probs[i].Path != w.Path || !strings.Contains(probs[i].Message, w.Message) {
					t.Errorf("problem %d = %q, want path %q and message containing %q", i, probs[i], w.Path, w.Message)
				}
			}
		})
	}
}

// TestParseReportsAllProblemsInDocumentOrder checks that shape and meaning
// problems from all over the document come back together, sorted as the
// fields appear, and that a value that failed to decode is not reported a
// second time for being empty.
func TestParseReportsAllProblemsInDocumentOrder(t *testing.T) {
	doc := `{
	  "lifecycle": {"coldAfterDays": 0},
	  "id": "Bad ID",
	  "schedules": [{"name": "d", "kind": "hourly", "at": ["25:00", 3], "retention": {"days": "7"}}],
	  "source": {"mode": "account", "accounts": ["1"], "regions": ["eu-west-9"], "tags": [{"key": "aws:x", "value": "y"}]},
	  "name": "ok",
	  "backup": {"vaults": [{"region": "*", "vault": "Default"}]},
	  "colour": 1
	}`
	_, probs := Parse([]byte(doc))
	var paths []string
	for _, p := range probs {
		paths = append(paths, p.Path)
	}
	want := []string{
		"id",
		"source.accounts[0]",
		"source.regions[0]",
		"source.tags[0].key",
		"schedules[0].kind",
		"schedules[0].at[0]",
		"schedules[0].at[1]",
		"schedules[0].retention.days",
		"lifecycle.coldAfterDays",
		"colour",
	}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("problem paths:\n got %q\nwant %q\n%v", paths, want, probs)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, name := range []string{"account-prod.json", "org-all.json"} {
		p := examplePolicy(t, name)
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, probs := Parse(data)
		if probs != nil {
			t.Fatalf("%s: marshalled policy does not parse:\n%v\n%s", name, probs, data)
		}
		if !reflect.DeepEqual(p, q) {
			t.Errorf("%s: round trip changed the policy:\n got %+v\nwant %+v", name, q, p)
		}
	}
}

func TestProblemsError(t *testing.T) {
	var none Problems
	if none.Err() != nil {
		t.Error("Err of no problems is not nil")
	}
	ps := Problems{{"", "The document is empty."}, {"id", "Give the policy an id."}}
	if got, want := ps.Error(), "The document is empty.\nid: Give the policy an id."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if ps.Err() == nil {
		t.Error("Err of problems is nil")
	}
}

// TestInvalidGolden runs the invalid example documents and compares their
// problem lists with golden files, so that a change of wording is reviewed.
func TestInvalidGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid examples: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, probs := Parse(data)
			if len(probs) == 0 {
				t.Fatal("the invalid example parses without problems")
			}
			golden(t, strings.TrimSuffix(strings.TrimPrefix(f, "testdata"+string(filepath.Separator)), ".json")+".golden", []byte(probs.Error()+"\n"))
		})
	}
}

// FuzzParse checks that Parse never panics, that what it accepts validates
// again, and that it survives json.Marshal and Parse unchanged.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{filepath.Join("..", "..", "testdata", "policies"), filepath.Join("testdata", "invalid")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(`{"id": "x", "enabled": null, "schedules": [{"at": [1e2]}]}`))
	f.Add([]byte(`{"a":{"a":{"a":[[[[]]]]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, probs := Parse(data)
		if probs != nil {
			if p != nil {
				t.Fatal("policy returned together with problems")
			}
			for _, pr := range probs {
				if pr.Message == "" {
					t.Fatalf("problem without a message at %q", pr.Path)
				}
			}
			return
		}
		if again := p.Validate(); again != nil {
			t.Fatalf("parsed policy does not validate: %v", again)
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, probs := Parse(out)
		if probs != nil {
			t.Fatalf("marshalled policy does not parse: %v\n%s", probs, out)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the policy:\n got %+v\nwant %+v", q, p)
		}
	})
}

// TestParseManyProblems parses a document with tens of thousands of bad
// values: every one is reported, and matching shape and meaning problems
// must stay linear for that to finish at once.
func TestParseManyProblems(t *testing.T) {
	const n = 20000
	items := strings.TrimSuffix(strings.Repeat(`1,`, n), ",")
	vaults := strings.TrimSuffix(strings.Repeat(`{"region": "*", "vault": 1},`, 2000), ",")
	doc := `{"source": {"regions": [` + items + `]}, "backup": {"vaults": [` + vaults + `]}}`
	_, probs := Parse([]byte(doc))
	got := map[string]int{}
	for _, p := range probs {
		switch {
		case strings.HasPrefix(p.Path, "source.regions["):
			got["regions"]++
		case strings.HasSuffix(p.Path, ".vault"):
			got["vault"]++
		}
	}
	if got["regions"] != n || got["vault"] != 2000 {
		t.Errorf("got %d region and %d vault problems, want %d and 2000", got["regions"], got["vault"], n)
	}
}
