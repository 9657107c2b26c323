package stacks

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type mapContext map[string]interface{}

func (m mapContext) TryGetContext(key *string) interface{} { return m[*key] }

func TestConfigFromContext(t *testing.T) {
	cases := []struct {
		name    string
		ctx     mapContext
		account string
		region  string
		want    Config
		errs    []string // substrings of the error; nil means no error
	}{
		{
			name: "defaults",
			ctx:  mapContext{},
			want: Config{ReportHour: 7, LogRetentionDays: 90, AssetDir: "build"},
		},
		{
			name:    "home Region from the environment",
			ctx:     mapContext{},
			account: "111122223333",
			region:  "eu-central-1",
			want:    Config{Account: "111122223333", HomeRegion: "eu-central-1", ReportHour: 7, LogRetentionDays: 90, AssetDir: "build"},
		},
		{
			name: "JSON values from cdk.context.json",
			ctx: mapContext{
				CtxHomeRegion: "eu-west-1", CtxRegions: []interface{}{"eu-west-1", "us-east-1"},
				CtxNotificationEmails: []interface{}{"a@example.com"}, CtxOrganizationID: "o-abcdefghij",
				CtxReportTime: "06:45", CtxLogRetentionDays: float64(365), CtxAssetDir: "out",
			},
			region: "us-west-2",
			want: Config{HomeRegion: "eu-west-1", Regions: []string{"eu-west-1", "us-east-1"},
				NotificationEmails: []string{"a@example.com"}, OrganizationID: "o-abcdefghij",
				ReportHour: 6, ReportMinute: 45, LogRetentionDays: 365, AssetDir: "out"},
		},
		{
			name: "strings from -c",
			ctx: mapContext{
				CtxHomeRegion: "eu-west-1", CtxRegions: "eu-west-1, us-east-1", CtxMemberAccounts: `["444455556666"]`,
				CtxLogRetentionDays: "14",
			},
			want: Config{HomeRegion: "eu-west-1", Regions: []string{"eu-west-1", "us-east-1"},
				MemberAccounts: []string{"444455556666"}, ReportHour: 7, LogRetentionDays: 14, AssetDir: "build"},
		},
		{
			name: "every mistake at once",
			ctx: mapContext{
				CtxHomeRegion: "europe", CtxRegions: []interface{}{"us-east-1", "us-east-1", "mars-1"},
				CtxNotificationEmails: "not-an-address", CtxOrganizationID: "org-1",
				CtxMemberAccounts: "12345", CtxReportTime: "7:00", CtxLogRetentionDays: float64(91),
			},
			errs: []string{`homeRegion "europe"`, `regions[1] "us-east-1": listed twice`, `regions[2] "mars-1"`,
				`notificationEmails[0]`, `organizationId "org-1"`, `memberAccounts[0] "12345"`, `logRetentionDays 91`},
		},
		{
			name: "report time is checked",
			ctx:  mapContext{CtxReportTime: "24:00"},
			errs: []string{"reportTime"},
		},
		{
			name: "extra Regions need a home Region",
			ctx:  mapContext{CtxRegions: []interface{}{"us-east-1"}},
			errs: []string{"homeRegion: required"},
		},
		{
			name: "wrong JSON types",
			ctx:  mapContext{CtxRegions: float64(3), CtxHomeRegion: []interface{}{"eu-west-1"}, CtxLogRetentionDays: true},
			errs: []string{"context regions: is float64", "context homeRegion: is []interface {}", "context logRetentionDays: is bool"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ConfigFromContext(c.ctx, c.account, c.region)
			if c.errs == nil {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Fatalf("config\n got %+v\nwant %+v", got, c.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, config %+v", got)
			}
			for _, want := range c.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestExtraRegions(t *testing.T) {
	c := Config{HomeRegion: "eu-west-1", Regions: []string{"us-east-1", "eu-west-1", "ap-south-1"}}
	if got := c.ExtraRegions(); !reflect.DeepEqual(got, []string{"us-east-1", "ap-south-1"}) {
		t.Fatalf("ExtraRegions = %v", got)
	}
}

func TestContextList(t *testing.T) {
	cases := []struct {
		in   interface{}
		want []string
		err  bool
	}{
		{nil, nil, false},
		{"", nil, false},
		{"a,b , ,c", []string{"a", "b", "c"}, false},
		{`["a", "b"]`, []string{"a", "b"}, false},
		{`[1]`, nil, true},
		{`[`, nil, true},
		{[]interface{}{"a", " "}, []string{"a"}, false},
		{[]interface{}{"a", 2.0}, nil, true},
		{map[string]interface{}{}, nil, true},
	}
	for _, c := range cases {
		got, err := ContextList(c.in)
		if (err != nil) != c.err || (!c.err && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("ContextList(%#v) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestParseClock(t *testing.T) {
	good := map[string][2]int{"00:00": {0, 0}, "07:00": {7, 0}, "23:59": {23, 59}}
	for in, want := range good {
		h, m, err := ParseClock(in)
		if err != nil || h != want[0] || m != want[1] {
			t.Errorf("ParseClock(%q) = %d, %d, %v", in, h, m, err)
		}
	}
	for _, in := range []string{"", "7:00", "24:00", "12:60", "-1:00", "+1:00", "12:+5", "ab:cd", "12-00", "12:000"} {
		if _, _, err := ParseClock(in); err == nil {
			t.Errorf("ParseClock(%q) accepted", in)
		}
	}
}

func TestCheckAssets(t *testing.T) {
	dir := t.TempDir()
	err := CheckAssets(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "functions", "tick", "bootstrap")) ||
		!strings.Contains(err.Error(), "make build") {
		t.Fatalf("CheckAssets(empty) = %v", err)
	}
	if err := writeDummyAssets(dir); err != nil {
		t.Fatal(err)
	}
	if err := CheckAssets(dir); err != nil {
		t.Fatalf("CheckAssets(complete) = %v", err)
	}
	os.Remove(filepath.Join(dir, "worker", "efskeeper-worker"))
	if err := CheckAssets(dir); err == nil || !strings.Contains(err.Error(), "efskeeper-worker") {
		t.Fatalf("CheckAssets(no worker) = %v", err)
	}
}

// Context values come from users' files and command lines.
func FuzzContextList(f *testing.F) {
	for _, s := range []string{"", "a,b", `["eu-west-1"]`, `[1,2]`, `["a",`, " , ,", `[""]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ContextList(s)
		if err != nil {
			return
		}
		for _, item := range got {
			if item == "" || strings.TrimSpace(item) != item {
				t.Fatalf("ContextList(%q) returned blank or untrimmed item %q", s, item)
			}
		}
	})
}

func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"07:00", "23:59", "24:00", "7:00", "-1:-1", "+0:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, m, err := ParseClock(s)
		if err != nil {
			return
		}
		if h < 0 || h > 23 || m < 0 || m > 59 || len(s) != 5 {
			t.Fatalf("ParseClock(%q) = %d, %d", s, h, m)
		}
		if back := ReportSchedule(h, m); !strings.HasPrefix(back, "cron(") {
			t.Fatalf("ReportSchedule(%d, %d) = %q", h, m, back)
		}
	})
}
