package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
)

// Synthesizing an app takes seconds (a Node process behind jsii), so each
// configuration is synthesized once per test binary and shared.

// jsii starts its Node process while packages initialize, before TestMain,
// so its environment (JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION,
// JSII_DEPRECATED) can only come from the caller: mk/infra.mk exports both.
func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// fullContext exercises every option: Organization mode, listed member
// accounts, two extra Regions, two mail addresses.
var fullContext = map[string]interface{}{
	CtxHomeRegion:         "eu-west-1",
	CtxRegions:            []interface{}{"eu-west-1", "us-east-1", "ap-southeast-2"},
	CtxNotificationEmails: []interface{}{"ops@example.com", "oncall@example.com"},
	CtxOrganizationID:     "o-a1b2c3d4e5",
	CtxMemberAccounts:     "444455556666", // as `-c memberAccounts=...` delivers it
	CtxLogRetentionDays:   float64(90),
}

const fullAccount = "111122223333"

// minimalContext is a single-account deployment with nothing optional set,
// Region-agnostic, and a report time given as -c would.
var minimalContext = map[string]interface{}{
	CtxReportTime:       "21:30",
	CtxLogRetentionDays: "30",
}

type synthesized struct {
	cfg       Config
	d         Deployment
	asm       cxapi.CloudAssembly
	templates map[string]map[string]interface{} // by stack: "home", "member", "region:<r>"
	err       error
}

var (
	fullOnce, minimalOnce sync.Once
	fullSynth, minSynth   *synthesized
)

func fullFixture(t *testing.T) *synthesized {
	t.Helper()
	fullOnce.Do(func() { fullSynth = synthesize(fullContext, fullAccount) })
	if fullSynth.err != nil {
		t.Fatalf("synthesize full configuration: %v", fullSynth.err)
	}
	return fullSynth
}

func minimalFixture(t *testing.T) *synthesized {
	t.Helper()
	minimalOnce.Do(func() { minSynth = synthesize(minimalContext, "") })
	if minSynth.err != nil {
		t.Fatalf("synthesize minimal configuration: %v", minSynth.err)
	}
	return minSynth
}

// synthesize builds the app the way main does, from context, with dummy
// build outputs in a temporary asset directory.
func synthesize(context map[string]interface{}, account string) (s *synthesized) {
	s = &synthesized{templates: map[string]map[string]interface{}{}}
	defer func() {
		if r := recover(); r != nil {
			s.err = fmt.Errorf("panic: %v", r)
		}
	}()
	dir, err := os.MkdirTemp("", "efskeeper-infra-assets-")
	if err != nil {
		s.err = err
		return s
	}
	if err := writeDummyAssets(dir); err != nil {
		s.err = err
		return s
	}
	ctx := map[string]interface{}{CtxAssetDir: dir}
	for k, v := range context {
		ctx[k] = v
	}
	app := NewApp(ctx)
	s.cfg, err = ConfigFromContext(app.Node(), account, "")
	if err != nil {
		s.err = err
		return s
	}
	s.d = Build(app, s.cfg)
	s.asm = app.Synth(nil)
	for _, st := range *s.asm.StacksRecursively() {
		raw, err := os.ReadFile(*st.TemplateFullPath())
		if err != nil {
			s.err = err
			return s
		}
		var tpl map[string]interface{}
		if err := json.Unmarshal(raw, &tpl); err != nil {
			s.err = err
			return s
		}
		s.templates[stackKey(*st.StackName())] = tpl
	}
	return s
}

func writeDummyAssets(dir string) error {
	for _, p := range AssetPaths(dir) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte("not a real binary: infra tests only synthesize\n"), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func stackKey(stackName string) string {
	switch {
	case stackName == HomeStackName:
		return "home"
	case strings.HasPrefix(stackName, RegionStackPrefix):
		return "region:" + strings.TrimPrefix(stackName, RegionStackPrefix)
	default:
		return "member"
	}
}

func (s *synthesized) template(t *testing.T, key string) map[string]interface{} {
	t.Helper()
	tpl, ok := s.templates[key]
	if !ok {
		t.Fatalf("no stack %q synthesized; have %v", key, keys(s.templates))
	}
	return tpl
}

// assertTemplate wraps a synthesized template for the assertions module.
func (s *synthesized) assertTemplate(t *testing.T, key string) assertions.Template {
	t.Helper()
	tpl := s.template(t, key)
	return assertions.Template_FromJSON(&tpl, nil)
}

// check runs an assertions call, which panics on mismatch, as a test error.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// resources returns the resources of one type, by logical id.
func resources(tpl map[string]interface{}, typ string) map[string]map[string]interface{} {
	out := map[string]map[string]interface{}{}
	for id, r := range tpl["Resources"].(map[string]interface{}) {
		res := r.(map[string]interface{})
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

func props(res map[string]interface{}) map[string]interface{} {
	p, _ := res["Properties"].(map[string]interface{})
	return p
}

// logicalIDRE matches the logical id CDK gives a construct: its path
// without separators plus an 8-hex-digit hash.
func logicalIDOf(tpl map[string]interface{}, typ, prefix string) (string, bool) {
	re := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + "[0-9A-F]{8}$")
	for id := range resources(tpl, typ) {
		if re.MatchString(id) {
			return id, true
		}
	}
	return "", false
}

// refersTo reports whether a CloudFormation value references logical id
// (Ref or Fn::GetAtt, anywhere inside).
func refersTo(v interface{}, id string) bool {
	switch t := v.(type) {
	case map[string]interface{}:
		if t["Ref"] == id {
			return true
		}
		if ga, ok := t["Fn::GetAtt"].([]interface{}); ok && len(ga) > 0 && ga[0] == id {
			return true
		}
		for _, x := range t {
			if refersTo(x, id) {
				return true
			}
		}
	case []interface{}:
		for _, x := range t {
			if refersTo(x, id) {
				return true
			}
		}
	}
	return false
}

// flat renders a CloudFormation value as a string, with references as
// <LogicalId> and <LogicalId.Attr>, for readable comparisons.
func flat(v interface{}) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]interface{}:
		if r, ok := t["Ref"].(string); ok {
			return "<" + r + ">"
		}
		if ga, ok := t["Fn::GetAtt"].([]interface{}); ok && len(ga) == 2 {
			return fmt.Sprintf("<%v.%v>", ga[0], ga[1])
		}
		if j, ok := t["Fn::Join"].([]interface{}); ok && len(j) == 2 {
			var parts []string
			for _, p := range j[1].([]interface{}) {
				parts = append(parts, flat(p))
			}
			return strings.Join(parts, j[0].(string))
		}
		if sub, ok := t["Fn::Sub"].(string); ok {
			return sub
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func list(v interface{}) []interface{} {
	switch t := v.(type) {
	case nil:
		return nil
	case []interface{}:
		return t
	default:
		return []interface{}{t}
	}
}

func strs(v interface{}) []string {
	var out []string
	for _, x := range list(v) {
		out = append(out, flat(x))
	}
	return out
}
