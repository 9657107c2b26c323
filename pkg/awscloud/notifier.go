package awscloud

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// SNS limits: a Subject is UTF-8 without line breaks or control characters
// and "less than 100 characters"; a message at most 256 KiB.
const (
	maxSubjectRunes = 99
	maxMessageBytes = 256 * 1024
)

// Message attribute names on every session notice, so that a subscription
// filter policy can pick a policy or only failures.
const (
	AttrPolicy = "policy"
	AttrStatus = "status"
)

// Notifier implements engine.Notifier by publishing to an SNS topic of the
// home account.
type Notifier struct {
	c        *Cloud
	TopicArn string
	// Render makes the mail's subject and body; nil means PlainText.
	// pkg/notify provides the real rendering.
	Render func(engine.SessionNotice) (subject, body string)
}

var _ engine.Notifier = (*Notifier)(nil)

// Notifier returns the SNS adapter for a topic.
func (c *Cloud) Notifier(topicArn string) *Notifier {
	return &Notifier{c: c, TopicArn: topicArn}
}

// SessionFinished publishes one notice with the attributes policy and
// status. The call goes to the topic's own Region (from its ARN).
func (n *Notifier) SessionFinished(ctx context.Context, notice engine.SessionNotice) error {
	if notice.Session == nil {
		return engine.Errorf(engine.EINVALID, "notify: no session")
	}
	step := "publish the result of session " + notice.Session.ID + " to " + n.TopicArn
	if n.TopicArn == "" {
		return engine.Errorf(engine.EINVALID, "%s: no topic configured", step)
	}
	region := n.c.cfg.HomeRegion
	if a, err := arn.Parse(n.TopicArn); err == nil && a.Region != "" {
		region = a.Region
	}
	render := n.Render
	if render == nil {
		render = PlainText
	}
	subject, body := render(notice)
	attrs := map[string]types.MessageAttributeValue{}
	// SNS refuses empty attribute values; leave such attributes out.
	for name, v := range map[string]string{AttrPolicy: notice.Session.PolicyID, AttrStatus: string(notice.Session.Status)} {
		if v != "" {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	in := &sns.PublishInput{
		TopicArn:          aws.String(n.TopicArn),
		Message:           aws.String(clipMessage(body)),
		MessageAttributes: attrs,
	}
	if s := cleanSubject(subject); s != "" {
		in.Subject = aws.String(s)
	}
	_, err := n.c.snsIn(region).Publish(ctx, in)
	return wrap(err, "%s", step)
}

// cleanSubject makes a subject SNS accepts: control characters (line
// breaks included) become spaces, runs of spaces shrink to one, invalid
// UTF-8 is dropped, and the result is cut to 99 runes with "..." marking
// the cut.
func cleanSubject(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= maxSubjectRunes {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:maxSubjectRunes-3])) + "..."
}

// clipMessage keeps a message under SNS's size limit, at a rune boundary,
// saying that it was cut. An empty message becomes one line: SNS refuses
// empty messages.
func clipMessage(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if s == "" {
		return "(empty notice)"
	}
	if len(s) <= maxMessageBytes {
		return s
	}
	const note = "\n\n[cut: the full result is in the efskeeper API]"
	cut := maxMessageBytes - len(note)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + note
}

// PlainText is the default rendering of a session notice: a subject with
// the policy, status and scheduled time, and a body that lists the
// reasons and each task's outcome.
func PlainText(n engine.SessionNotice) (subject, body string) {
	s := n.Session
	name := s.PolicyID
	if n.Policy != nil && n.Policy.Policy != nil && n.Policy.Policy.Name != "" {
		name = n.Policy.Policy.Name
	}
	when := s.ScheduledAt.UTC().Format("2006-01-02 15:04 UTC")
	subject = fmt.Sprintf("efskeeper %s: %s (%s)", s.Status, name, when)

	var b strings.Builder
	fmt.Fprintf(&b, "Policy:    %s (%s)\nSession:   %s\nScheduled: %s\nStatus:    %s\n", name, s.PolicyID, s.ID, when, s.Status)
	if len(s.Schedules) > 0 {
		fmt.Fprintf(&b, "Schedules: %s\n", strings.Join(s.Schedules, ", "))
	}
	reasons := append([]engine.Reason(nil), s.Reasons...)
	for _, u := range n.Units {
		reasons = append(reasons, u.Reasons...)
	}
	if len(reasons) > 0 {
		b.WriteString("\nNotes:\n")
		for _, r := range reasons {
			where := strings.Trim(strings.Join([]string{r.Account, r.Region, r.FileSystem}, " "), " ")
			if where != "" {
				where = " [" + where + "]"
			}
			fmt.Fprintf(&b, "- %s %s%s: %s\n", r.Severity, r.Code, where, r.Message)
		}
	}
	if len(n.Tasks) > 0 {
		b.WriteString("\nFile systems:\n")
		for _, t := range n.Tasks {
			fmt.Fprintf(&b, "- %s %s %s: backup %s", t.Loc, t.FileSystem, t.Phase, stateText(t.Backup.State))
			for _, c := range t.Copies {
				fmt.Fprintf(&b, ", copy to %s %s", c.TargetRegion, stateText(c.Job.State))
			}
			if t.Backup.Message != "" {
				fmt.Fprintf(&b, " (%s)", t.Backup.Message)
			}
			b.WriteString("\n")
		}
	}
	return subject, b.String()
}

func stateText(s engine.JobState) string {
	if s == engine.JobNotStarted {
		return "not started"
	}
	return string(s)
}
