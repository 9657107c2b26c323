package stacks

import (
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// Every stack of both configurations passes the AwsSolutions pack: no
// unsuppressed error.
func TestNagClean(t *testing.T) {
	for name, s := range map[string]*synthesized{"full": fullFixture(t), "minimal": minimalFixture(t)} {
		if errs := Errors(s.asm); len(errs) > 0 {
			for _, e := range errs {
				t.Errorf("%s: %s", name, e)
			}
		}
		for _, st := range s.d.Stacks() {
			found := assertions.Annotations_FromStack(st).FindError(jsii.String("*"),
				assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
			for _, m := range *found {
				t.Errorf("%s %s: %s %v", name, *st.StackName(), *m.Id, m.Entry.Data)
			}
		}
	}
}

// The nag pack must actually run: a stack with an unencrypted queue without
// DLQ or TLS policy fails, through the same Errors the app uses.
func TestNagFindsErrors(t *testing.T) {
	app := NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Careless"), nil)
	awssqs.NewQueue(stack, jsii.String("Queue"), &awssqs.QueueProps{Encryption: awssqs.QueueEncryption_UNENCRYPTED})
	ApplyNag(stack)
	errs := Errors(app.Synth(nil))
	var rules []string
	for _, e := range errs {
		if m := regexp.MustCompile(`AwsSolutions-[A-Z0-9]+`).FindString(e.Message); m != "" {
			rules = append(rules, m)
		}
	}
	got := strings.Join(rules, ",")
	for _, want := range []string{"AwsSolutions-SQS2", "AwsSolutions-SQS3", "AwsSolutions-SQS4"} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %v lack %s", errs, want)
		}
	}
}

// Suppressions sit on resources, name their rule, give a real reason, and
// wildcard (IAM5) and managed-policy (IAM4) suppressions name exactly what
// they allow. No stack-wide suppression.
func TestSuppressionsAreNarrowAndExplained(t *testing.T) {
	granular := map[string]bool{"AwsSolutions-IAM4": true, "AwsSolutions-IAM5": true}
	allowed := map[string]bool{
		"AwsSolutions-IAM4": true, "AwsSolutions-IAM5": true, "AwsSolutions-COG4": true, "AwsSolutions-APIG3": true,
	}
	s := fullFixture(t)
	for _, key := range keys(s.templates) {
		tpl := s.templates[key]
		if md, ok := tpl["Metadata"].(obj); ok && md["cdk_nag"] != nil {
			t.Errorf("%s: stack-wide nag suppression %v", key, md["cdk_nag"])
		}
		for id, r := range tpl["Resources"].(obj) {
			md, _ := r.(obj)["Metadata"].(obj)
			nag, _ := md["cdk_nag"].(obj)
			for _, x := range list(nag["rules_to_suppress"]) {
				sup := x.(obj)
				rule, _ := sup["id"].(string)
				reason, _ := sup["reason"].(string)
				if !allowed[rule] {
					t.Errorf("%s %s: suppression of %s is not on the reviewed list", key, id, rule)
				}
				if len(reason) < 60 {
					t.Errorf("%s %s: %s reason %q is too short to convince a reviewer", key, id, rule, reason)
				}
				if granular[rule] && len(list(sup["applies_to"])) == 0 {
					t.Errorf("%s %s: %s suppressed without applies_to", key, id, rule)
				}
				for _, a := range list(sup["applies_to"]) {
					if as, ok := a.(string); ok && regexp.MustCompile(`^Action::`).MatchString(as) {
						t.Errorf("%s %s: wildcard action suppressed: %s", key, id, as)
					}
				}
			}
		}
	}
}
