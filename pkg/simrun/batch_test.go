package simrun

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/awsevent"
)

// Parsing ahead on another goroutine must hand the handler, for each
// event in order, exactly what Parse makes of it: updates, irrelevant
// events and malformed ones alike, over batches of every size, with the
// buffers reused from one batch to the next.
func TestEventBatchParsesAheadInOrder(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	files, err := filepath.Glob("../../testdata/events/eventbridge/*.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("samples: %v (%d)", err, len(files))
	}
	var events [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, raw)
	}
	events = append(events, []byte(`{"detail-type": "Backup Job State Change", "detail": `), []byte(`[]`))
	var b eventBatch
	for round := range 40 {
		b.reset()
		n := round % (2 * len(events))
		for i := range n {
			b.add(events[(i+round)%len(events)])
		}
		b.parseAhead()
		for i := range n {
			raw := events[(i+round)%len(events)]
			if string(b.event(i)) != string(raw) {
				t.Fatalf("round %d: event %d is not the bytes added", round, i)
			}
			u, err := b.parsed(i)
			wu, werr := awsevent.Parse(raw)
			if !reflect.DeepEqual(u, wu) || (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
				t.Fatalf("round %d, event %d: parsed %+v, %v; Parse gives %+v, %v", round, i, u, err, wu, werr)
			}
		}
		b.done()
	}
}
