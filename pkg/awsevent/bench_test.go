package awsevent

import (
	"bytes"
	"encoding/json"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"eventbridge-backup-job-state-change-running.json", "eventbridge-copy-job-state-change-completed-efs-cross-region.json"} {
		raw := read(b, name)
		// EventBridge delivers events compact; the samples are indented.
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name string
			raw  []byte
		}{{name, raw}, {name + "/compact", compact.Bytes()}} {
			b.Run(c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Parse(c.raw); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
