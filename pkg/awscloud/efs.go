package awscloud

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/efs/types"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// FileSystems implements engine.FileSystems with Amazon EFS.
type FileSystems struct{ c *Cloud }

var _ engine.FileSystems = (*FileSystems)(nil)

// FileSystems returns the EFS adapter.
func (c *Cloud) FileSystems() *FileSystems { return &FileSystems{c} }

// ListFileSystems lists the file systems of the account in the Region with
// their tags (DescribeFileSystems returns them), mount targets and the
// mount targets' security groups. File systems without mount targets cost
// no further call; the others are described a few at a time.
func (f *FileSystems) ListFileSystems(ctx context.Context, l engine.Loc) ([]engine.FileSystem, error) {
	lc, err := f.c.at(ctx, l)
	if err != nil {
		return nil, wrap(err, "list EFS file systems in %s", l)
	}
	cl := lc.efs
	var out []engine.FileSystem
	var mtCount []int32
	p := efs.NewDescribeFileSystemsPaginator(cl, &efs.DescribeFileSystemsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "list EFS file systems in %s", l)
		}
		for _, d := range page.FileSystems {
			fs := engine.FileSystem{
				ID:        aws.ToString(d.FileSystemId),
				Arn:       aws.ToString(d.FileSystemArn),
				Name:      aws.ToString(d.Name),
				LifeCycle: string(d.LifeCycleState),
			}
			if d.SizeInBytes != nil {
				fs.SizeBytes = d.SizeInBytes.Value
			}
			if len(d.Tags) > 0 {
				fs.Tags = make(map[string]string, len(d.Tags))
				for _, t := range d.Tags {
					fs.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
			out = append(out, fs)
			mtCount = append(mtCount, d.NumberOfMountTargets)
		}
	}

	// Mount targets, a bounded number of file systems at a time; results
	// land at their file system's index, so the order stays the API's.
	errs := make([]error, len(out))
	sem := make(chan struct{}, f.c.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range out {
		if mtCount[i] == 0 {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			out[i].MountTargets, errs[i] = mountTargets(ctx, cl, out[i].ID)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, wrap(err, "list mount targets of %s in %s", out[i].ID, l)
		}
	}
	return out, nil
}

// mountTargets lists one file system's mount targets and their security
// groups.
func mountTargets(ctx context.Context, cl *efs.Client, fsID string) ([]engine.MountTarget, error) {
	var mts []engine.MountTarget
	p := efs.NewDescribeMountTargetsPaginator(cl, &efs.DescribeMountTargetsInput{FileSystemId: aws.String(fsID)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range page.MountTargets {
			if d.LifeCycleState == types.LifeCycleStateDeleting || d.LifeCycleState == types.LifeCycleStateDeleted {
				continue // going away: no use for a worker, and its groups may be gone
			}
			mts = append(mts, engine.MountTarget{
				ID:               aws.ToString(d.MountTargetId),
				SubnetID:         aws.ToString(d.SubnetId),
				VpcID:            aws.ToString(d.VpcId),
				AvailabilityZone: aws.ToString(d.AvailabilityZoneName),
				IPAddress:        aws.ToString(d.IpAddress),
			})
		}
	}
	for i := range mts {
		sg, err := cl.DescribeMountTargetSecurityGroups(ctx, &efs.DescribeMountTargetSecurityGroupsInput{MountTargetId: aws.String(mts[i].ID)})
		if err != nil {
			return nil, err
		}
		mts[i].SecurityGroups = sg.SecurityGroups
	}
	return mts, nil
}
