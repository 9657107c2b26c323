package awscloud

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Tag keys on every worker instance and its volume.
const (
	TagRun        = "efskeeper:run"
	TagFileSystem = "efskeeper:fileSystem"
)

// WorkerSettings say how workers are launched (the indexlaunch function's
// environment; DESIGN.md, "Deployment contract").
type WorkerSettings struct {
	// LaunchTemplate and InstanceProfile exist under these names in every
	// account and Region (default efskeeper-worker).
	LaunchTemplate  string
	InstanceProfile string
	// AssetBucket and AssetKey hold the worker binary, in the home
	// Region. Instances download it through a presigned URL, so that a
	// member account's worker needs no access to the home account's asset
	// bucket.
	AssetBucket, AssetKey string
	// AssetURLLifetime is how long the presigned URL works (default 3 h:
	// long enough for a slow boot, short enough not to linger).
	AssetURLLifetime time.Duration
	// WatchdogMargin is added to the job's lifetime for the shutdown the
	// user data schedules before anything else, which powers the instance
	// off even if the worker never starts (default 15 minutes).
	WatchdogMargin time.Duration
}

func (s WorkerSettings) withDefaults() WorkerSettings {
	if s.LaunchTemplate == "" {
		s.LaunchTemplate = "efskeeper-worker"
	}
	if s.InstanceProfile == "" {
		s.InstanceProfile = "efskeeper-worker"
	}
	if s.AssetURLLifetime <= 0 {
		s.AssetURLLifetime = 3 * time.Hour
	}
	if s.WatchdogMargin <= 0 {
		s.WatchdogMargin = 15 * time.Minute
	}
	return s
}

// Instances implements engine.Instances with EC2 RunInstances.
type Instances struct {
	c   *Cloud
	ec2 *ec2Clients
	cfg WorkerSettings
	s3  *s3.PresignClient
}

var _ engine.Instances = (*Instances)(nil)

// Instances returns the worker launcher.
func (c *Cloud) Instances(s WorkerSettings) *Instances {
	return &Instances{c: c, ec2: &ec2Clients{c: c}, cfg: s.withDefaults(), s3: s3.NewPresignClient(c.homeS3())}
}

// RunWorker launches one worker: the launch template by name, in the
// chosen subnet with the chosen groups, terminating on shutdown, IMDSv2
// only, tagged with its run, and with the run id as ClientToken, so that a
// repeated launch returns the first instance.
func (in *Instances) RunWorker(ctx context.Context, l engine.WorkerLaunch) (string, error) {
	step := fmt.Sprintf("launch the index worker of %s in %s (subnet %s)", l.FileSystem, l.Loc, l.SubnetID)
	if in.cfg.AssetBucket == "" || in.cfg.AssetKey == "" {
		return "", engine.Errorf(engine.EINVALID, "%s: no worker binary location configured", step)
	}
	cl, err := in.ec2.at(ctx, l.Loc)
	if err != nil {
		return "", wrap(err, "%s", step)
	}
	url, err := in.s3.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(in.cfg.AssetBucket), Key: aws.String(in.cfg.AssetKey)},
		s3.WithPresignExpires(in.cfg.AssetURLLifetime))
	if err != nil {
		return "", wrap(err, "%s: presign the worker binary s3://%s/%s", step, in.cfg.AssetBucket, in.cfg.AssetKey)
	}
	userData, err := WorkerUserData(l.Job, url.URL, l.Job.MaxLifetime()+in.cfg.WatchdogMargin)
	if err != nil {
		return "", engine.Errorf(engine.EINVALID, "%s: %v", step, err)
	}
	tags := []types.Tag{
		{Key: aws.String("Name"), Value: aws.String("efskeeper-worker " + l.FileSystem)},
		{Key: aws.String(TagRun), Value: aws.String(l.RunID)},
		{Key: aws.String(TagFileSystem), Value: aws.String(l.FileSystem)},
	}
	in0 := &ec2.RunInstancesInput{
		MinCount:                          aws.Int32(1),
		MaxCount:                          aws.Int32(1),
		ClientToken:                       aws.String(l.RunID),
		LaunchTemplate:                    &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String(in.cfg.LaunchTemplate), Version: aws.String("$Default")},
		IamInstanceProfile:                &types.IamInstanceProfileSpecification{Name: aws.String(in.cfg.InstanceProfile)},
		SubnetId:                          aws.String(l.SubnetID),
		SecurityGroupIds:                  l.SecurityGroupIDs,
		UserData:                          aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
		InstanceInitiatedShutdownBehavior: types.ShutdownBehaviorTerminate,
		MetadataOptions: &types.InstanceMetadataOptionsRequest{
			HttpTokens:              types.HttpTokensStateRequired,
			HttpEndpoint:            types.InstanceMetadataEndpointStateEnabled,
			HttpPutResponseHopLimit: aws.Int32(1),
		},
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: tags},
			{ResourceType: types.ResourceTypeVolume, Tags: tags},
		},
	}
	if l.InstanceType != "" {
		in0.InstanceType = types.InstanceType(l.InstanceType)
	}
	out, err := cl.RunInstances(ctx, in0)
	if err != nil {
		return "", wrapEC2(err, "%s", step)
	}
	if len(out.Instances) == 0 {
		return "", engine.Errorf(engine.EINTERNAL, "%s: RunInstances answered no instance", step)
	}
	return aws.ToString(out.Instances[0].InstanceId), nil
}

// MaxUserData is EC2's limit on user data before base64.
const MaxUserData = 16 << 10

// JobPath is where the user data puts the job for the worker.
const JobPath = "/run/efskeeper/job.json"

// userDataScript is the user data, a bash script with %[n] verbs for
// fmt.Sprintf (not text/template: its reflection keeps every method of the
// EC2 client in the binary, 40 MB of them).
const userDataScript = `#!/bin/bash
# efskeeper index worker for %[1]s, run %[2]s.
# First of all, power off at the end of the worker's lifetime whatever
# happens next (the instance terminates on shutdown).
shutdown -h +%[3]d "efskeeper worker: maximum lifetime reached"
set -u
mkdir -p /run/efskeeper
cat > %[4]s <<'EFSKEEPER_JOB'
%[5]s
EFSKEEPER_JOB
bin=/usr/local/bin/efskeeper-worker
for attempt in 1 2 3 4 5 6; do
  curl -fsS --max-time 300 -o "$bin.tmp" '%[6]s' && break
  sleep 10
done
if [ ! -s "$bin.tmp" ]; then
  echo "efskeeper: the worker binary could not be downloaded" >&2
  shutdown -h now
  exit 1
fi
chmod 0755 "$bin.tmp" && mv "$bin.tmp" "$bin"
# The NFS client, in case the image lacks it (Amazon Linux 2023 has it).
command -v mount.nfs4 >/dev/null || dnf install -y -q nfs-utils
exec "$bin" -job %[4]s
`

// WorkerUserData renders the instance's user data: a script that schedules
// the watchdog shutdown, writes the job (JSON) to JobPath, downloads the
// worker binary from binaryURL, makes sure the NFS client is there and runs
// the worker on the job.
func WorkerUserData(job engine.WorkerJob, binaryURL string, watchdog time.Duration) (string, error) {
	if err := job.Validate(); err != nil {
		return "", err
	}
	if strings.ContainsAny(binaryURL, "'\n\r") || !strings.HasPrefix(binaryURL, "https://") && !strings.HasPrefix(binaryURL, "http://") {
		return "", fmt.Errorf("worker binary URL %q cannot go into the script", binaryURL)
	}
	js, err := json.Marshal(job)
	if err != nil {
		return "", err
	}
	out := fmt.Sprintf(userDataScript, job.FileSystem, job.RunID, int((watchdog+time.Minute-1)/time.Minute), JobPath, js, binaryURL)
	if len(out) > MaxUserData {
		return "", fmt.Errorf("user data of %d bytes is over EC2's %d", len(out), MaxUserData)
	}
	return out, nil
}
