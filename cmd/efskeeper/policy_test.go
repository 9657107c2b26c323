package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The flag has its own name so that it cannot clash with the golden-file
// flags of the CLI's other command groups in this package.
var updatePolicyGolden = flag.Bool("update-policy", false, "rewrite the golden files under testdata/policy")

const (
	accountProd = "../../testdata/policies/account-prod.json"
	orgAll      = "../../testdata/policies/org-all.json"
	invalidDoc  = "testdata/policy/invalid.json"
)

// runCLI runs the efskeeper command line in-process and returns its output
// and exit status as main would set it.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	var ee exitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &ee):
		code = ee.code
	default:
		code = 1
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}

func policyGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "policy", name)
	if *updatePolicyGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (go test -update-policy creates it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update-policy rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestPolicyValidate(t *testing.T) {
	cases := []struct {
		name, stdin string
		args        []string
		code        int
		golden      string // compared with stdout
		stderr      string // substring of stderr
	}{
		{"valid files", "", []string{accountProd, orgAll}, 0, "validate-ok.golden", ""},
		{"an invalid and a missing file", "", []string{accountProd, invalidDoc, "testdata/policy/missing.json"}, 1, "validate-invalid.golden", ""},
		{"standard input", `{"id": 1}`, []string{"-"}, 1, "validate-stdin.golden", ""},
		{"no files", "", nil, 2, "", "name at least one policy file"},
		{"unknown flag", "", []string{"--strict", accountProd}, 2, "", "unknown flag: --strict"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, c.stdin, append([]string{"policy", "validate"}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errOut)
			}
			if c.golden != "" {
				policyGolden(t, c.golden, out)
			} else if out != "" {
				t.Errorf("stdout on a usage error: %q", out)
			}
			if !strings.Contains(errOut, c.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut, c.stderr)
			}
		})
	}
}

func TestPolicyPlan(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		golden string
		stderr string
	}{
		{"account policy across the DST change", []string{accountProd, "--from", "2025-03-25T00:00:00Z"}, 0, "plan-account-prod.golden", ""},
		{"organization policy as JSON", []string{orgAll, "--from", "2025-06-01T00:00:00Z", "--days", "8", "--json"}, 0, "plan-org-all.json.golden", ""},
		{"no history", []string{orgAll, "--from", "2025-06-01T00:00:00Z", "--days", "9", "--no-history"}, 0, "plan-org-all-no-history.golden", ""},
		{"invalid policy", []string{invalidDoc, "--from", "2025-06-01T00:00:00Z"}, 1, "plan-invalid.golden", ""},
		{"bad --from", []string{accountProd, "--from", "yesterday"}, 2, "", `--from must be an RFC 3339 time`},
		{"bad --days", []string{accountProd, "--days", "0"}, 2, "", "--days must be between 1 and 3660, not 0"},
		{"two files", []string{accountProd, orgAll}, 2, "", "name exactly one policy file, not 2"},
		{"days not a number", []string{accountProd, "--days", "x"}, 2, "", `invalid argument "x" for "--days"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, "", append([]string{"policy", "plan"}, c.args...)...)
			if code != c.code {
				t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errOut)
			}
			if c.golden != "" {
				policyGolden(t, c.golden, out)
			}
			if !strings.Contains(errOut, c.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut, c.stderr)
			}
		})
	}
}

// TestPolicyPlanJSONMatchesText checks that --json carries the same runs
// and expiries as the table.
func TestPolicyPlanJSONMatchesText(t *testing.T) {
	out, _, code := runCLI(t, "", "policy", "plan", accountProd, "--from", "2025-03-25T00:00:00Z", "--json")
	if code != 0 {
		t.Fatalf("exit status %d", code)
	}
	var doc planDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 17 || doc.Expired != 17 || doc.HeldAtEnd != 21 || doc.HistoryFrom == nil {
		t.Errorf("JSON plan: %d runs, %d expired, %d held, history %v; the table says 17, 17, 21", len(doc.Runs), doc.Expired, doc.HeldAtEnd, doc.HistoryFrom)
	}
	dst := doc.Runs[5]
	if dst.Zone != "CEST" || dst.Local != "2025-03-30T03:00:00+02:00" || strings.Join(dst.Schedules, ",") != "daily,weekly" || len(dst.Expires) != 2 {
		t.Errorf("DST run in JSON: %+v", dst)
	}
	if doc.Regions[1].Copy == nil || doc.Regions[1].Copy.SourceRegion != "us-east-1" || doc.Regions[1].Copy.TargetRegion != "us-west-2" {
		t.Errorf("resolved copy of us-east-1: %+v", doc.Regions[1].Copy)
	}
}

func TestPolicyHelp(t *testing.T) {
	for _, args := range [][]string{{"policy", "validate", "--help"}, {"policy", "plan", "--help"}, {"policy"}} {
		out, _, code := runCLI(t, "", args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d, output:\n%s", args, code, out)
		}
	}
	out, _, _ := runCLI(t, "", "policy", "validate", "--help")
	for _, want := range []string{"FILE: PATH: message", "Exit status: 0 when every document is valid, 1", "2 on a usage error"} {
		if !strings.Contains(out, want) {
			t.Errorf("validate --help lacks %q", want)
		}
	}
}
