package awsevent

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// The fast decoder must agree with encoding/json whenever it answers.
func checkAgrees(t *testing.T, b []byte) (fast bool) {
	t.Helper()
	var slow envelope
	slowErr := json.Unmarshal(b, &slow)
	var quick envelope
	if fastDecode(b, &quick) != nil {
		return false
	}
	if slowErr != nil {
		t.Fatalf("fast path accepted what encoding/json rejects (%v): %q", slowErr, b)
	}
	if !reflect.DeepEqual(normal(quick), normal(slow)) {
		t.Fatalf("fast path disagrees on %q:\nfast %+v %+v\nslow %+v %+v", b, quick, quick.Detail, slow, slow.Detail)
	}
	return true
}

// normal makes nil and empty slices compare equal (encoding/json and the
// scanner may differ there, and Parse does not care).
func normal(e envelope) envelope {
	if len(e.Resources) == 0 {
		e.Resources = nil
	}
	return e
}

func TestFastPathOnSamples(t *testing.T) {
	files, _ := filepath.Glob("testdata/eventbridge-*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !checkAgrees(t, b) {
			t.Errorf("%s: the fast path gave up on a real sample", f)
		}
	}
	tricky := []string{
		`{"source":"aws.backup","detail":{"state":"A\u00e9\ud83d\ude00\ud800x","statusMessage":"\"quoted\" \\ \/ \b\f\n\r\t"}}`,
		`{"Source":"aws.backup","SOURCE":"x","detail":null,"detail":{"State":"RUNNING"}}`,
		"{\"source\":\"\xff\xfe ok \xc3\"}",
		`{"detail":{"backupSizeInBytes":"12"},"detail":{"state":"X"}}`,
		`{"detail":{"backupSizeInBytes":1.5e3,"destinationRecoveryPointArn":{}}}`,
		`{"detail":{"destinationRecoveryPointArn":null,"x":[1,{"y":[true,false,null,-0.5E+2]}]}}`,
		`{"resources":null,"resources":["a","b"],"resources":[]}`,
		` {"a":1} `,
		// Keys next to the ones the scanner expects (successors).
		`{"version":"0","versions":"1","id" :"x","detail-type":"y","Detail":{"backupJobId":"a","backupSizeInBytesX":"5","BACKUPVAULTARN":"v","bytesTransferred":{"state":"X"},"iamRoleArn":[1],"resourceArn" : "r","state":"S","startBy":null}}`,
		`{"detail":{"copyJobId":"c","backupSizeInBytes":7,"creationDate":"d","iamRoleArn":"i","percentDone":"p","resourceType":"EFS","status":"s"}}`,
	}
	for _, s := range tricky {
		if !checkAgrees(t, []byte(s)) {
			t.Errorf("fast path gave up on %q", s)
		}
	}
	reject := []string{`{"a":01}`, `{"a":1,}`, `{"a":"x` + "\x01" + `"}`, `{"a":1} x`, `[1]`, `{"detail":{"destinationRecoveryPointArn":{"a":1}}}`, `{"detail":{"backupSizeInBytes":"lots"}}`}
	for _, s := range reject {
		var e envelope
		if fastDecode([]byte(s), &e) == nil {
			t.Errorf("fast path accepted %q", s)
		}
	}
}

func FuzzFastPathAgrees(f *testing.F) {
	files, _ := filepath.Glob("testdata/eventbridge-*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"detail":{"state":"\ud800\udc00\u0041"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAgrees(t, b)
	})
}

// Parse's strings must not share the event's bytes, which the caller may
// reuse (the simulator renders every event into one buffer).
func TestParseCopiesWhatItKeeps(t *testing.T) {
	files, _ := filepath.Glob("testdata/eventbridge-*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := Parse(bytes.Clone(b))
		got, err := Parse(b)
		for i := range b {
			b[i] = 'x'
		}
		if !reflect.DeepEqual(got, want) || (err == nil) != (wantErr == nil) {
			t.Errorf("%s: after the input changed: %+v, want %+v", f, got, want)
		}
	}
}

func TestOwnAllKeepsValues(t *testing.T) {
	src := []byte("job-1arn:aws:backup:xyz")
	a, empty, c := string(src[:5]), "", string(src[5:])
	ownAll(&a, &empty, &c)
	for i := range src {
		src[i] = 'x'
	}
	if a != "job-1" || empty != "" || c != "arn:aws:backup:xyz" {
		t.Fatalf("ownAll: %q %q %q", a, empty, c)
	}
	none := ""
	ownAll(&none)
	if none != "" {
		t.Fatalf("ownAll of nothing: %q", none)
	}
}

// fieldOf relies on no two names folding to each other (encoding/json
// would pick either).
func TestFieldNamesDoNotFold(t *testing.T) {
	for f, n := range fieldNames[1:] {
		for g, m := range fieldNames[1:] {
			if f != g && bytes.EqualFold([]byte(n), []byte(m)) {
				t.Errorf("%s and %s fold to each other", n, m)
			}
		}
		if got := exactField([]byte(n)); got != field(f+1) {
			t.Errorf("exactField(%s) = %d, want %d", n, got, f+1)
		}
	}
}

// plainEnd reads words; it must stop where a byte-by-byte scan stops.
func TestPlainEnd(t *testing.T) {
	special := []byte{'"', '\\', 0x00, 0x1f, 0x20, 0x21, 0x5b, 0x7f, 0x80, 0xa2, 0xdc, 0xff, 'a'}
	for n := 0; n <= 24; n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range special {
				for _, from := range []int{0, 1, 5} {
					b := []byte("arn:aws:backup:xarn:aws:backup:x"[:n])
					b[pos] = c
					want := from
					for want < n && b[want] >= 0x20 && b[want] < 0x80 && b[want] != '"' && b[want] != '\\' {
						want++
					}
					if got := plainEnd(b, from); from <= n && got != want {
						t.Fatalf("plainEnd(%q, %d) = %d, want %d", b, from, got, want)
					}
				}
			}
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, v := range []string{"0", "7", "007", "1073741824", "999999999999999", "9999999999999999", "12345678901234567890",
		"1.5", "1e3", "-4", "+4", "0x10", "", "1_000", "lots", "１"} {
		want, wantErr := strconv.ParseFloat(v, 64)
		got, err := parseSize(v)
		gotB, errB := parseSize([]byte(v))
		if got != want || gotB != want || (err == nil) != (wantErr == nil) || (errB == nil) != (wantErr == nil) {
			t.Errorf("parseSize(%q) = %v, %v and %v, %v; ParseFloat: %v, %v", v, got, err, gotB, errB, want, wantErr)
		}
	}
}

// isNext must recognize exactly a field's quoted key and colon.
func TestIsNext(t *testing.T) {
	for f := fVersion; f < fieldCount; f++ {
		key := `"` + fieldNames[f] + `":`
		for _, tail := range []string{`"x","a":1}`, `{}}`, "12345678"} {
			b := []byte(key + tail)
			// Near the end it may leave the key to the slow path.
			if n := (&scanner{b: b}).isNext(f); n != len(key) && (n != 0 || len(tail) >= 8) {
				t.Fatalf("isNext(%s) on %s = %d", fieldNames[f], b, n)
			}
			for i := range key {
				c := bytes.Clone(b)
				c[i] ^= 0x20
				if n := (&scanner{b: c}).isNext(f); n != 0 {
					t.Fatalf("isNext(%s) on %s = %d", fieldNames[f], c, n)
				}
			}
			if n := (&scanner{b: b[:len(key)-1]}).isNext(f); n != 0 {
				t.Fatalf("isNext(%s) on %s = %d", fieldNames[f], b[:len(key)-1], n)
			}
		}
	}
}
