package awscloud

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// The index adapters' EC2 and S3 operations join the fake's routes, its
// default answers and the request-shape cases.
func init() {
	sdkPackages["ec2"] = "ec2"
	sdkPackages["s3"] = "s3"
	restRoutes = append(restRoutes,
		struct{ service, method, pattern, op string }{"s3", "GET", "*/*/*", "GetObject"},
		struct{ service, method, pattern, op string }{"s3", "PUT", "*/*/*", "PutObject"},
		struct{ service, method, pattern, op string }{"s3", "DELETE", "*/*/*/*/*/*", "DeleteObject"},
	)
	for op, file := range map[string]string{
		"ec2.DescribeVpcs":             "ec2-describe-vpcs.xml",
		"ec2.DescribeSubnets":          "ec2-describe-subnets.xml",
		"ec2.DescribeRouteTables":      "ec2-describe-route-tables.xml",
		"ec2.DescribeInternetGateways": "ec2-describe-internet-gateways.xml",
		"ec2.DescribeVpcEndpoints":     "ec2-describe-vpc-endpoints.xml",
		"ec2.DescribeSecurityGroups":   "ec2-describe-security-groups.xml",
		"ec2.RunInstances":             "ec2-run-instances.xml",
	} {
		defaultReplies[op] = td(file)
	}
	defaultReplies["s3.GetObject"] = sampleResultJSON
	defaultReplies["s3.PutObject"] = ""
	defaultReplies["s3.DeleteObject"] = ""
	shapeCases = append(shapeCases, indexShapeCases...)
}

const (
	sampleVPC    = "vpc-0a1b2c3d4e5f60001"
	sampleSubnet = "subnet-0a1b2c3d4e5f60001"
	sampleGroup  = "sg-0a1b2c3d4e5f60001"
	indexBucket  = "efskeeper-index-111122223333-eu-west-1"
	assetBucket  = "cdk-hnb659fds-assets-111122223333-eu-west-1"
	assetKey     = "4f2c8d0f8e1b.bin"
	sampleRunID  = "ix-0123456789abcdef0123456789abcdef"
)

var sampleResultJSON = `{"runId":"` + sampleRunID + `","fileSystem":"fs-0123456789abcdef0","recoveryPointArn":"` + sampleRP + `",` +
	`"indexKey":"indexes/111122223333/us-east-1/fs-0123456789abcdef0/8f3b9c4e-2d1a-4c7b-9e6f-0a1b2c3d4e5f.idx","entries":3,"records":3,"bytes":900,` +
	`"walkErrors":0,"startedAt":"2024-05-14T03:12:00Z","finishedAt":"2024-05-14T03:13:00Z"}`

// ec2Attributes answers DescribeVpcAttribute for the attribute asked.
func ec2Attributes(f *fakeAWS) {
	f.on("ec2.DescribeVpcAttribute", func(c call, _ int) reply {
		if c.Form.Get("Attribute") == "enableDnsHostnames" {
			return xmlReply(td("ec2-describe-vpc-attribute-dns-hostnames.xml"))
		}
		return xmlReply(td("ec2-describe-vpc-attribute-dns-support.xml"))
	})
}

func describeSample(t *testing.T, c *Cloud) engine.NetworkView {
	t.Helper()
	v, err := c.Network().DescribeNetwork(bg(), use1, engine.NetworkQuery{VpcIDs: []string{sampleVPC},
		SubnetIDs: []string{sampleSubnet}, SecurityGroupIDs: []string{sampleGroup, "sg-00000000000000fff"}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantQuery checks an EC2 Query call: POST /, the action, the API version
// and the given form fields.
func wantQuery(t *testing.T, c call, action string, fields map[string]string) {
	t.Helper()
	if c.Method != "POST" || c.Form.Get("Action") != action || c.Form.Get("Version") != "2016-11-15" {
		t.Errorf("%s: %s Action=%s Version=%s, want POST %s 2016-11-15", c.Op, c.Method, c.Form.Get("Action"), c.Form.Get("Version"), action)
	}
	if c.Region != "us-east-1" {
		t.Errorf("%s went to %s, want the file system's Region us-east-1", c.Op, c.Region)
	}
	for k, v := range fields {
		if got := c.Form.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q (form %v)", c.Op, k, got, v, c.Form)
		}
	}
}

func filterCase(op, action, name string, values ...string) shapeCase {
	fields := map[string]string{"Filter.1.Name": name}
	for i, v := range values {
		fields["Filter.1.Value."+strconv.Itoa(i+1)] = v
	}
	return shapeCase{
		op:    op,
		setup: ec2Attributes,
		run:   func(t *testing.T, c *Cloud) { describeSample(t, c) },
		check: func(t *testing.T, calls []call) { wantQuery(t, calls[0], action, fields) },
	}
}

var indexShapeCases = []shapeCase{
	filterCase("ec2.DescribeVpcs", "DescribeVpcs", "vpc-id", sampleVPC),
	filterCase("ec2.DescribeRouteTables", "DescribeRouteTables", "vpc-id", sampleVPC),
	filterCase("ec2.DescribeInternetGateways", "DescribeInternetGateways", "internet-gateway-id", "igw-0a1b2c3d4e5f60001"),
	filterCase("ec2.DescribeVpcEndpoints", "DescribeVpcEndpoints", "vpc-id", sampleVPC),
	filterCase("ec2.DescribeSecurityGroups", "DescribeSecurityGroups", "group-id", sampleGroup, "sg-00000000000000fff"),
	{
		op:    "ec2.DescribeSubnets",
		setup: ec2Attributes,
		run:   func(t *testing.T, c *Cloud) { describeSample(t, c) },
		check: func(t *testing.T, calls []call) {
			if len(calls) != 2 {
				t.Fatalf("%d DescribeSubnets calls, want 2 (the configured subnet, then the VPC's)", len(calls))
			}
			wantQuery(t, calls[0], "DescribeSubnets", map[string]string{"Filter.1.Name": "subnet-id", "Filter.1.Value.1": sampleSubnet})
			wantQuery(t, calls[1], "DescribeSubnets", map[string]string{"Filter.1.Name": "vpc-id", "Filter.1.Value.1": sampleVPC})
		},
	},
	{
		op:    "ec2.DescribeVpcAttribute",
		setup: ec2Attributes,
		run: func(t *testing.T, c *Cloud) {
			v := describeSample(t, c)
			if len(v.VPCs) != 1 || !v.VPCs[0].DNSSupport || v.VPCs[0].DNSHostnames {
				t.Errorf("VPCs %+v; want DNS support on, hostnames off, as the samples say", v.VPCs)
			}
		},
		check: func(t *testing.T, calls []call) {
			if len(calls) != 2 {
				t.Fatalf("%d DescribeVpcAttribute calls, want one per attribute", len(calls))
			}
			wantQuery(t, calls[0], "DescribeVpcAttribute", map[string]string{"VpcId": sampleVPC, "Attribute": "enableDnsSupport"})
			wantQuery(t, calls[1], "DescribeVpcAttribute", map[string]string{"VpcId": sampleVPC, "Attribute": "enableDnsHostnames"})
		},
	},
	{
		op: "ec2.RunInstances",
		run: func(t *testing.T, c *Cloud) {
			id, err := c.Instances(sampleWorkerSettings()).RunWorker(bg(), sampleLaunch())
			if err != nil || id != "i-0a1b2c3d4e5f60001" {
				t.Fatalf("RunWorker = %q, %v", id, err)
			}
		},
		check: func(t *testing.T, calls []call) {
			wantQuery(t, calls[0], "RunInstances", map[string]string{
				"MinCount": "1", "MaxCount": "1", "ClientToken": sampleRunID,
				"LaunchTemplate.LaunchTemplateName": "efskeeper-worker", "LaunchTemplate.Version": "$Default",
				"IamInstanceProfile.Name": "efskeeper-worker",
				"SubnetId":                sampleSubnet, "SecurityGroupId.1": sampleGroup, "InstanceType": "c7g.large",
				"InstanceInitiatedShutdownBehavior": "terminate",
				"MetadataOptions.HttpTokens":        "required", "MetadataOptions.HttpEndpoint": "enabled",
				"TagSpecification.1.ResourceType": "instance", "TagSpecification.2.ResourceType": "volume",
			})
			f := calls[0].Form
			tags := map[string]string{}
			for i := 1; f.Has("TagSpecification.1.Tag." + strconv.Itoa(i) + ".Key"); i++ {
				tags[f.Get("TagSpecification.1.Tag."+strconv.Itoa(i)+".Key")] = f.Get("TagSpecification.1.Tag." + strconv.Itoa(i) + ".Value")
			}
			wantTags := map[string]string{"Name": "efskeeper-worker fs-0123456789abcdef0", "efskeeper:run": sampleRunID, "efskeeper:fileSystem": "fs-0123456789abcdef0"}
			if !reflect.DeepEqual(tags, wantTags) {
				t.Errorf("instance tags %v, want %v", tags, wantTags)
			}
			raw, err := base64.StdEncoding.DecodeString(f.Get("UserData"))
			if err != nil {
				t.Fatalf("UserData is not base64: %v", err)
			}
			script := string(raw)
			jobJSON := between(script, "<<'EFSKEEPER_JOB'\n", "\nEFSKEEPER_JOB\n")
			job, err := engine.ParseWorkerJob([]byte(jobJSON))
			if err != nil || !reflect.DeepEqual(job, sampleLaunch().Job) {
				t.Errorf("job in the user data %+v (%v), want %+v", job, err, sampleLaunch().Job)
			}
			u, err := url.Parse(between(script, "curl -fsS --max-time 300 -o \"$bin.tmp\" '", "'"))
			if err != nil || u.Path != "/"+assetBucket+"/"+assetKey || u.Query().Get("X-Amz-Signature") == "" || u.Query().Get("X-Amz-Expires") != "10800" {
				t.Errorf("worker binary URL %v (%v): want a presigned GET of the asset, valid 3 hours", u, err)
			}
			if !strings.Contains(script, "shutdown -h +495 ") {
				t.Errorf("watchdog: want a shutdown in 8 h + 15 min = 495 minutes:\n%s", script)
			}
		},
	},
	{
		op: "s3.GetObject",
		run: func(t *testing.T, c *Cloud) {
			b, err := c.Bucket(indexBucket).Get(bg(), "results/"+sampleRunID+".json")
			if err != nil || string(b) != sampleResultJSON {
				t.Fatalf("Get = %q, %v", b, err)
			}
		},
		check: func(t *testing.T, calls []call) {
			wantSegments(t, calls[0], "GET", indexBucket, "results", sampleRunID+".json")
			if calls[0].Region != "eu-west-1" {
				t.Errorf("the index bucket is in the home Region; the call went to %s", calls[0].Region)
			}
		},
	},
	{
		op: "s3.PutObject",
		run: func(t *testing.T, c *Cloud) {
			if err := c.Bucket(indexBucket).Put(bg(), "results/"+sampleRunID+".json", []byte(sampleResultJSON)); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			wantSegments(t, calls[0], "PUT", indexBucket, "results", sampleRunID+".json")
			if !strings.Contains(string(calls[0].Body), `"runId":"`+sampleRunID+`"`) || calls[0].Header.Get("Content-Type") != "application/json" {
				t.Errorf("PutObject body %q content type %q", calls[0].Body, calls[0].Header.Get("Content-Type"))
			}
		},
	},
	{
		// Prune deletes one index object (the key of engine.IndexKey); S3
		// answers 204 whether or not it existed.
		op: "s3.DeleteObject",
		run: func(t *testing.T, c *Cloud) {
			key := engine.IndexKey(use1, "fs-0123456789abcdef0", sampleRP)
			if err := c.Bucket(indexBucket).DeleteIndex(bg(), key); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			wantSegments(t, calls[0], "DELETE", indexBucket, "indexes", homeAccount, "us-east-1", "fs-0123456789abcdef0", "8f3b9c4e-2d1a-4c7b-9e6f-0a1b2c3d4e5f.idx")
			if calls[0].Region != "eu-west-1" || calls[0].Query.Has("versionId") {
				t.Errorf("DeleteObject went to %s with query %v: want the home Region and no version id (a delete marker, so the bucket keeps the version)", calls[0].Region, calls[0].Query)
			}
		},
	},
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	out, _, _ := strings.Cut(rest, to)
	return out
}

func sampleWorkerSettings() WorkerSettings {
	return WorkerSettings{AssetBucket: assetBucket, AssetKey: assetKey}
}

func sampleLaunch() engine.WorkerLaunch {
	l := engine.Loc{Account: homeAccount, Region: "us-east-1"}
	return engine.WorkerLaunch{Loc: l, RunID: sampleRunID, FileSystem: "fs-0123456789abcdef0", SubnetID: sampleSubnet,
		SecurityGroupIDs: []string{sampleGroup}, InstanceType: "c7g.large",
		Job: engine.WorkerJob{RunID: sampleRunID, Account: l.Account, Region: l.Region, FileSystem: "fs-0123456789abcdef0",
			MountTargetIP: "10.0.1.25", Bucket: indexBucket, BucketRegion: "eu-west-1",
			IndexKey:  engine.IndexKey(l, "fs-0123456789abcdef0", sampleRP),
			ResultKey: engine.ResultKey(sampleRunID), RecoveryPointArn: sampleRP,
			BackupCreatedAt: time.Date(2024, 5, 14, 2, 0, 0, 0, time.UTC), MaxLifetimeSeconds: 8 * 3600}}
}

// The network as the samples describe it, mapped field by field.
func TestDescribeNetworkMapsTheSamples(t *testing.T) {
	f := newFake(t)
	ec2Attributes(f)
	v := describeSample(t, testCloud(t, f, nil))
	want := engine.NetworkView{
		VPCs: []engine.VPC{{ID: sampleVPC, CIDR: "10.0.0.0/16", DNSSupport: true}},
		Subnets: []engine.Subnet{
			{ID: sampleSubnet, VpcID: sampleVPC, AvailabilityZone: "us-east-1a", CIDR: "10.0.1.0/24", MapPublicIPOnLaunch: true},
			{ID: "subnet-0a1b2c3d4e5f60002", VpcID: sampleVPC, AvailabilityZone: "us-east-1b", CIDR: "10.0.2.0/24"},
		},
		RouteTables: []engine.RouteTable{
			{ID: "rtb-0a1b2c3d4e5f60001", VpcID: sampleVPC, Main: true, Routes: []engine.Route{
				{Destination: "10.0.0.0/16", Target: "local"}, {Destination: "0.0.0.0/0", Target: "igw-0a1b2c3d4e5f60001"}}},
			{ID: "rtb-0a1b2c3d4e5f60002", VpcID: sampleVPC, SubnetIDs: []string{"subnet-0a1b2c3d4e5f60002"}, Routes: []engine.Route{
				{Destination: "10.0.0.0/16", Target: "local"}, {Destination: "pl-63a5400a", Target: "vpce-0a1b2c3d4e5f60001"},
				{Destination: "0.0.0.0/0", Target: "nat-0a1b2c3d4e5f60001", Blackhole: true}}},
		},
		InternetGateways: []engine.InternetGateway{{ID: "igw-0a1b2c3d4e5f60001", AttachedVpcIDs: []string{sampleVPC}}},
		Endpoints: []engine.VPCEndpoint{
			{ID: "vpce-0a1b2c3d4e5f60001", VpcID: sampleVPC, ServiceName: "com.amazonaws.us-east-1.s3", Type: "Gateway", State: "available",
				RouteTableIDs: []string{"rtb-0a1b2c3d4e5f60002"}},
			{ID: "vpce-0a1b2c3d4e5f60002", VpcID: sampleVPC, ServiceName: "com.amazonaws.us-east-1.sts", Type: "Interface", State: "available",
				PrivateDNS: true, SubnetIDs: []string{"subnet-0a1b2c3d4e5f60002"}},
		},
		SecurityGroups: []engine.SecurityGroup{{ID: sampleGroup, VpcID: sampleVPC, Egress: []engine.SecurityGroupRule{
			{Protocol: "tcp", FromPort: 2049, ToPort: 2049, GroupIDs: []string{sampleGroup}},
			{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}, PrefixListIDs: []string{"pl-63a5400a"}},
		}}},
	}
	if !reflect.DeepEqual(normalize(v), normalize(want)) {
		g, _ := json.MarshalIndent(v, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("network\n%s\nwant\n%s", g, w)
	}
	// The view is what the preflight needs: the sample's first subnet can
	// run a worker on the public path.
	mt := engine.MountTarget{ID: "fsmt-0a1b2c3d4e5f60001", SubnetID: sampleSubnet, VpcID: sampleVPC, AvailabilityZone: "us-east-1a",
		IPAddress: "10.0.1.25", SecurityGroups: []string{sampleGroup}}
	p, err := engine.Preflight(engine.PreflightInput{Loc: use1, FileSystem: "fs-0123456789abcdef0", MountTargets: []engine.MountTarget{mt}, Network: v, BucketRegion: "us-east-1"})
	if err != nil || p.SubnetID != sampleSubnet || p.PrivateNetwork {
		t.Errorf("preflight on the samples: %+v, %v", p, err)
	}
}

// normalize makes nil and empty slices equal, as JSON does not tell them
// apart either.
func normalize(v engine.NetworkView) string {
	b, _ := json.Marshal(v)
	return strings.ReplaceAll(string(b), "null", "[]")
}

func TestDescribeNetworkInMemberAccountAndWithoutVPCs(t *testing.T) {
	f := newFake(t)
	ec2Attributes(f)
	c := testCloud(t, f, nil)
	member := engine.Loc{Account: memberAccount, Region: "eu-central-1"}
	v, err := c.Network().DescribeNetwork(bg(), member, engine.NetworkQuery{SecurityGroupIDs: []string{sampleGroup}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.VPCs) != 0 || len(v.SecurityGroups) != 1 {
		t.Errorf("groups only: %+v", v)
	}
	if n := len(f.callsOf("ec2.DescribeVpcs")) + len(f.callsOf("ec2.DescribeSubnets")); n != 0 {
		t.Errorf("no VPC asked, %d VPC or subnet calls made", n)
	}
	for _, cl := range f.callsOf("ec2.DescribeSecurityGroups") {
		if cl.AccessKey != memberKey || cl.Region != "eu-central-1" {
			t.Errorf("member account call signed with %s in %s", cl.AccessKey, cl.Region)
		}
	}
}

func TestRunWorkerErrors(t *testing.T) {
	ec2Error := func(code string) reply {
		return reply{Status: 400, Body: `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>` + code + `</Code><Message>` + code + ` happened</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>`}
	}
	for code, want := range map[string]string{
		"IdempotentParameterMismatch":  engine.ECONFLICT,
		"InsufficientInstanceCapacity": engine.EUNAVAIL,
		"InvalidSubnetID.NotFound":     engine.EINVALID,
		"InvalidGroup.NotFound":        engine.EINVALID,
		"UnauthorizedOperation":        engine.EDENIED,
		"RequestLimitExceeded":         engine.ETHROTTLED,
	} {
		t.Run(code, func(t *testing.T) {
			f := newFake(t)
			f.on("ec2.RunInstances", func(call, int) reply { return ec2Error(code) })
			c := testCloud(t, f, func(c *Config) { c.MaxAttempts = 1 })
			_, err := c.Instances(sampleWorkerSettings()).RunWorker(bg(), sampleLaunch())
			if got := engine.ErrorCode(err); got != want {
				t.Errorf("code %s (%v), want %s", got, err, want)
			}
			if err != nil && !strings.Contains(err.Error(), "launch the index worker of fs-0123456789abcdef0") {
				t.Errorf("error does not name the step: %v", err)
			}
		})
	}
	t.Run("no worker binary configured", func(t *testing.T) {
		f := newFake(t)
		_, err := testCloud(t, f, nil).Instances(WorkerSettings{}).RunWorker(bg(), sampleLaunch())
		if engine.ErrorCode(err) != engine.EINVALID || len(f.callsOf("ec2.RunInstances")) != 0 {
			t.Errorf("err %v, calls %v", err, f.ops())
		}
	})
}

// The user data is a bash script that bash accepts, and it refuses what
// cannot go into it safely.
func TestWorkerUserData(t *testing.T) {
	job := sampleLaunch().Job
	s, err := WorkerUserData(job, "https://example-bucket.s3.eu-west-1.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Expires=10", 8*time.Hour+15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, "#!/bin/bash\n") || !strings.Contains(s, "exec \"$bin\" -job "+JobPath) {
		t.Errorf("script:\n%s", s)
	}
	if _, err := exec.LookPath("bash"); err == nil {
		p := filepath.Join(t.TempDir(), "userdata.sh")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("bash", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("bash -n: %v\n%s", err, out)
		}
	}
	if _, err := WorkerUserData(job, "https://x/'; rm -rf /; '", time.Hour); err == nil {
		t.Error("a URL with a quote was accepted")
	}
	bad := job
	bad.MountTargetIP = "10.0.0.1\nrm -rf /"
	if _, err := WorkerUserData(bad, "https://x/y", time.Hour); err == nil {
		t.Error("an invalid job was accepted")
	}
}
