package awsevent

import "testing"

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"eventbridge-backup-job-state-change-running.json", "eventbridge-copy-job-state-change-completed-efs-cross-region.json"} {
		raw := read(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
