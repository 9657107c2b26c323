package awscloud

import (
	"reflect"
	"strings"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

func TestListFileSystemsPagesAndMountTargets(t *testing.T) {
	f := newFake(t)
	f.pages("elasticfilesystem.DescribeFileSystems", td("efs-describe-file-systems-page1.json"), td("efs-describe-file-systems-page2.json"))
	f.pages("elasticfilesystem.DescribeMountTargets", td("efs-describe-mount-targets-page1.json"), td("efs-describe-mount-targets-page2.json"))
	f.on("elasticfilesystem.DescribeMountTargetSecurityGroups", func(c call, n int) reply {
		return reply{Status: 200, Body: `{"SecurityGroups":["sg-for-` + c.Segments[2] + `"]}`}
	})

	got, err := testCloud(t, f, nil).FileSystems().ListFileSystems(bg(), use1)
	if err != nil {
		t.Fatal(err)
	}
	wantFS := []engine.FileSystem{
		{
			ID: "fs-0123456789abcdef0", Arn: sampleFSArn, Name: "app-data", LifeCycle: "available", SizeBytes: 1073741824,
			Tags: map[string]string{"Name": "app-data", "backup": "gold", "aws:elasticfilesystem:default-backup": "enabled"},
			MountTargets: []engine.MountTarget{
				{ID: "fsmt-0a1b2c3d4e5f60001", SubnetID: "subnet-0aa11bb22cc33dd44", VpcID: "vpc-0123abcd4567ef890", AvailabilityZone: "us-east-1a", IPAddress: "10.0.1.25", SecurityGroups: []string{"sg-for-fsmt-0a1b2c3d4e5f60001"}},
				{ID: "fsmt-0a1b2c3d4e5f60002", SubnetID: "subnet-0ee55ff66aa77bb88", VpcID: "vpc-0123abcd4567ef890", AvailabilityZone: "us-east-1b", IPAddress: "10.0.2.25", SecurityGroups: []string{"sg-for-fsmt-0a1b2c3d4e5f60002"}},
			},
		},
		{ID: "fs-0fedcba9876543210", Arn: "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0fedcba9876543210", LifeCycle: "creating", SizeBytes: 6144},
	}
	if !reflect.DeepEqual(got, wantFS) {
		t.Errorf("ListFileSystems =\n%+v\nwant\n%+v", got, wantFS)
	}
	fsCalls := f.callsOf("elasticfilesystem.DescribeFileSystems")
	if len(fsCalls) != 2 || fsCalls[1].Query.Get("Marker") != "marker-page-2" {
		t.Errorf("second DescribeFileSystems must send Marker=marker-page-2: %v", fsCalls)
	}
	mtCalls := f.callsOf("elasticfilesystem.DescribeMountTargets")
	if len(mtCalls) != 2 || mtCalls[1].Query.Get("Marker") != "mt-marker-2" {
		t.Errorf("mount targets: want two pages for fs-0123456789abcdef0 and none for the file system without any: %v", mtCalls)
	}
	for _, c := range mtCalls {
		if c.Query.Get("FileSystemId") != "fs-0123456789abcdef0" {
			t.Errorf("DescribeMountTargets for %s", c.Query.Get("FileSystemId"))
		}
	}
	if n := len(f.callsOf("elasticfilesystem.DescribeMountTargetSecurityGroups")); n != 2 {
		t.Errorf("%d security group calls, want 2 (the deleting mount target is skipped)", n)
	}
}

func TestListFileSystemsMountTargetError(t *testing.T) {
	f := newFake(t)
	f.ok("elasticfilesystem.DescribeFileSystems", onePage("efs-describe-file-systems-page1.json", `"NextMarker": "marker-page-2"`))
	f.on("elasticfilesystem.DescribeMountTargets", func(call, int) reply {
		return reply{Status: 404, Header: map[string]string{"X-Amzn-Errortype": "FileSystemNotFound"}, Body: `{"ErrorCode":"FileSystemNotFound","Message":"File system 'fs-0123456789abcdef0' does not exist."}`}
	})
	_, err := testCloud(t, f, nil).FileSystems().ListFileSystems(bg(), use1)
	if !engine.IsNotFound(err) || !strings.HasPrefix(err.Error(), "list mount targets of fs-0123456789abcdef0 in 111122223333/us-east-1: ") {
		t.Errorf("err = %v (code %s)", err, engine.ErrorCode(err))
	}
}

// Many file systems: the bounded fan-out keeps every result in its place.
func TestListFileSystemsManyKeepsOrder(t *testing.T) {
	f := newFake(t)
	var b strings.Builder
	b.WriteString(`{"FileSystems":[`)
	const n = 23
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		id := "fs-" + strings.Repeat("0", 15) + string(rune('a'+i))
		b.WriteString(`{"FileSystemId":"` + id + `","LifeCycleState":"available","NumberOfMountTargets":1,"SizeInBytes":{"Value":1},"Tags":[]}`)
	}
	b.WriteString(`]}`)
	f.ok("elasticfilesystem.DescribeFileSystems", b.String())
	f.on("elasticfilesystem.DescribeMountTargets", func(c call, _ int) reply {
		id := c.Query.Get("FileSystemId")
		return reply{Status: 200, Body: `{"MountTargets":[{"MountTargetId":"fsmt-` + id + `","FileSystemId":"` + id + `","LifeCycleState":"available","SubnetId":"subnet-1","VpcId":"vpc-1","AvailabilityZoneName":"us-east-1a","IpAddress":"10.0.0.1"}]}`}
	})
	got, err := testCloud(t, f, func(c *Config) { c.Concurrency = 3 }).FileSystems().ListFileSystems(bg(), use1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d file systems, want %d", len(got), n)
	}
	for _, fs := range got {
		if len(fs.MountTargets) != 1 || fs.MountTargets[0].ID != "fsmt-"+fs.ID {
			t.Errorf("%s got mount targets %+v", fs.ID, fs.MountTargets)
		}
	}
}
