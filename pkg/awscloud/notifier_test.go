package awscloud

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

func TestCleanSubject(t *testing.T) {
	long := strings.Repeat("ä", 120)
	for in, want := range map[string]string{
		"efskeeper Success: prod (2024-05-14 02:00 UTC)": "efskeeper Success: prod (2024-05-14 02:00 UTC)",
		"two\nlines\r\nand\ttab":                         "two lines and tab",
		"  spaced   out  ":                               "spaced out",
		"bell\x07 and \x00nul":                           "bell and nul",
		"bad \xff utf8":                                  "bad utf8",
		long:                                             strings.Repeat("ä", 96) + "...",
		"":                                               "",
	} {
		if got := cleanSubject(in); got != want {
			t.Errorf("cleanSubject(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzCleanSubject(f *testing.F) {
	for _, s := range []string{"", "ok", "a\nb", strings.Repeat("x", 200), "\xff\xfe", "ä\u2028b", strings.Repeat("日本", 60)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := cleanSubject(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		if n := utf8.RuneCountInString(got); n >= 100 {
			t.Fatalf("%d runes, SNS wants fewer than 100", n)
		}
		for _, r := range got {
			if unicode.IsControl(r) || r == '\n' || r == '\r' {
				t.Fatalf("control character %U in %q", r, got)
			}
		}
		if got != strings.TrimSpace(got) {
			t.Fatalf("leading or trailing space in %q", got)
		}
	})
}

func TestClipMessage(t *testing.T) {
	if got := clipMessage(""); got == "" {
		t.Error("an empty message must become a line: SNS refuses empty messages")
	}
	short := "all done"
	if got := clipMessage(short); got != short {
		t.Errorf("clipMessage(%q) = %q", short, got)
	}
	big := strings.Repeat("€", maxMessageBytes) // 3 bytes each
	got := clipMessage(big)
	if len(got) > maxMessageBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, "efskeeper API]") {
		t.Errorf("clipped message: %d bytes, valid %v, ends %q", len(got), utf8.ValidString(got), got[len(got)-20:])
	}
}

func FuzzClipMessage(f *testing.F) {
	for _, s := range []string{"", "x", "\xff", strings.Repeat("€", maxMessageBytes/3+5)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := clipMessage(s)
		if got == "" || len(got) > maxMessageBytes || !utf8.ValidString(got) {
			t.Fatalf("clipMessage: %d bytes, valid %v", len(got), utf8.ValidString(got))
		}
		if utf8.ValidString(s) && s != "" && len(s) <= maxMessageBytes && got != s {
			t.Fatalf("a message within the limit must pass unchanged")
		}
	})
}

func TestNotifierRenderAndAttributes(t *testing.T) {
	f := newFake(t)
	n := testCloud(t, f, nil).Notifier(topicArn)
	n.Render = func(s engine.SessionNotice) (string, string) {
		return "custom\nsubject", "body for " + s.Session.ID
	}
	notice := sampleNotice()
	notice.Session.PolicyID = "" // an attribute with no value is left out
	if err := n.SessionFinished(bg(), notice); err != nil {
		t.Fatal(err)
	}
	p := f.callsOf("sns.Publish")[0].Form
	if p.Get("Subject") != "custom subject" || p.Get("Message") != "body for "+notice.Session.ID {
		t.Errorf("Publish form %v", p)
	}
	if attrs := snsAttributes(p); len(attrs) != 1 || attrs["status"] != "String=Failed" {
		t.Errorf("attributes %v, want only status", attrs)
	}

	n.Render = func(engine.SessionNotice) (string, string) { return "", "x" }
	if err := n.SessionFinished(bg(), sampleNotice()); err != nil {
		t.Fatal(err)
	}
	if p := f.callsOf("sns.Publish")[1].Form; p.Has("Subject") {
		t.Errorf("an empty subject must be left out, got %q", p.Get("Subject"))
	}
}

func TestNotifierNeedsTopicAndSession(t *testing.T) {
	f := newFake(t)
	c := testCloud(t, f, nil)
	if err := c.Notifier("").SessionFinished(bg(), sampleNotice()); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("no topic: %v", err)
	}
	if err := c.Notifier(topicArn).SessionFinished(bg(), engine.SessionNotice{}); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("no session: %v", err)
	}
	if err := c.Queue("", "").SendIndexRun(bg(), engine.IndexRunMsg{}); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("no queue: %v", err)
	}
	if len(f.ops()) != 0 {
		t.Errorf("calls made: %v", f.ops())
	}
}

func TestPlainText(t *testing.T) {
	subject, body := PlainText(sampleNotice())
	if subject != "efskeeper Failed: Production EFS (2024-05-14 02:00 UTC)" {
		t.Errorf("subject %q", subject)
	}
	for _, want := range []string{
		"Session:   prod-efs#2024-05-14T02:00:00Z",
		"Schedules: daily",
		"- failure backup-failed [111122223333 us-east-1 fs-0123456789abcdef0]: backup failed",
		"- 111122223333/us-east-1 fs-0123456789abcdef0 failed: backup FAILED (Backup job failed because there was a running job for the same resource.)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	n := sampleNotice()
	n.Policy = nil
	if s, _ := PlainText(n); !strings.Contains(s, ": prod-efs (") {
		t.Errorf("without the policy record the subject names the policy id: %q", s)
	}
}
