package policy

import "sort"

// Partition names of the AWS partitions efskeeper knows. A policy's source
// Regions and copy targets must stay in one partition: an account lives in
// exactly one, and AWS Backup cannot copy across partitions.
const (
	PartitionAWS      = "aws"
	PartitionGovCloud = "aws-us-gov"
	PartitionChina    = "aws-cn"
)

// regions maps every Region code a policy may name to its partition. The table
// is kept by hand because a Region code that AWS does not know would only
// fail much later, at the first backup, in an account the admin may not watch.
var regions = map[string]string{
	"af-south-1":     PartitionAWS,
	"ap-east-1":      PartitionAWS,
	"ap-east-2":      PartitionAWS,
	"ap-northeast-1": PartitionAWS,
	"ap-northeast-2": PartitionAWS,
	"ap-northeast-3": PartitionAWS,
	"ap-south-1":     PartitionAWS,
	"ap-south-2":     PartitionAWS,
	"ap-southeast-1": PartitionAWS,
	"ap-southeast-2": PartitionAWS,
	"ap-southeast-3": PartitionAWS,
	"ap-southeast-4": PartitionAWS,
	"ap-southeast-5": PartitionAWS,
	"ap-southeast-6": PartitionAWS,
	"ap-southeast-7": PartitionAWS,
	"ca-central-1":   PartitionAWS,
	"ca-west-1":      PartitionAWS,
	"eu-central-1":   PartitionAWS,
	"eu-central-2":   PartitionAWS,
	"eu-north-1":     PartitionAWS,
	"eu-south-1":     PartitionAWS,
	"eu-south-2":     PartitionAWS,
	"eu-west-1":      PartitionAWS,
	"eu-west-2":      PartitionAWS,
	"eu-west-3":      PartitionAWS,
	"il-central-1":   PartitionAWS,
	"me-central-1":   PartitionAWS,
	"me-south-1":     PartitionAWS,
	"mx-central-1":   PartitionAWS,
	"sa-east-1":      PartitionAWS,
	"us-east-1":      PartitionAWS,
	"us-east-2":      PartitionAWS,
	"us-west-1":      PartitionAWS,
	"us-west-2":      PartitionAWS,
	"us-gov-east-1":  PartitionGovCloud,
	"us-gov-west-1":  PartitionGovCloud,
	"cn-north-1":     PartitionChina,
	"cn-northwest-1": PartitionChina,
}

// IsRegion reports whether code is a real AWS Region code (commercial,
// GovCloud or China) that a policy may name.
func IsRegion(code string) bool {
	_, ok := regions[code]
	return ok
}

// Regions returns every Region code IsRegion accepts, sorted.
func Regions() []string {
	out := make([]string, 0, len(regions))
	for r := range regions {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// Partition returns the partition ("aws", "aws-us-gov" or "aws-cn") of a
// Region code, or "" when the code is not a known Region.
func Partition(region string) string {
	return regions[region]
}
