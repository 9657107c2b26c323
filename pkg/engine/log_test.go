package engine

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// logFor skips the attributes only for a logger that drops everything.
func TestLogForAttributes(t *testing.T) {
	var buf bytes.Buffer
	e := New(Engine{Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	e.logFor("p1", "s1", Loc{Account: "111122223333", Region: "eu-west-1"}, "fs-1").Warn("x")
	for _, want := range []string{"policy=p1", "session=s1", "account=111122223333", "region=eu-west-1", "fileSystem=fs-1"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line %q lacks %s", buf.String(), want)
		}
	}
	quiet := New(Engine{})
	if l := quiet.logFor("p1", "s1", Loc{}, "fs-1"); l != quiet.Log {
		t.Error("a discarding logger got attributes")
	}
}
