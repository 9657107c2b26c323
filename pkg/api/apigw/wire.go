package apigw

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/awscloud"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/lambdafn"
)

// Function is the api function's name in the deployment contract.
const Function = "api"

// VarIndexBucket names the index bucket (without lambdafn.EnvPrefix).
const VarIndexBucket = "INDEX_BUCKET"

// The api function's row of the deployment contract (DESIGN.md): the
// table, the region queue for on-demand runs, the topic (an on-demand run
// that selects nothing, or a restore that AWS refuses at once, ends at once
// and is mailed); the role names have defaults. EFSKEEPER_INDEX_BUCKET is read by Wire.
func init() {
	if _, ok := lambdafn.Contract[Function]; !ok {
		lambdafn.Contract[Function] = []string{lambdafn.VarTable, lambdafn.VarRegionQueueURL, lambdafn.VarTopicARN, lambdafn.VarBackupRoleName, lambdafn.VarMemberRoleName}
	}
}

var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// Wire builds the API from the function's environment: the engine on
// DynamoDB with the AWS adapters (lambdafn.Wire); index runs, worker
// configurations and restore sessions from the same table; index objects
// from the index bucket; restores through AWS Backup; the caller identity
// from API Gateway. It makes no AWS call.
func Wire(ctx context.Context) (*api.Server, error) {
	env, err := lambdafn.LoadEnv(Function)
	if err != nil {
		return nil, err
	}
	bucket := strings.TrimSpace(os.Getenv(lambdafn.EnvPrefix + VarIndexBucket))
	if bucket == "" || !bucketName.MatchString(bucket) {
		return nil, fmt.Errorf("%s: %s%s=%q is not an S3 bucket name: it must hold the name of the index bucket", Function, lambdafn.EnvPrefix, VarIndexBucket, bucket)
	}
	e, err := lambdafn.Wire(ctx, env)
	if err != nil {
		return nil, err
	}
	srv := &api.Server{Engine: e, Caller: Caller, Log: e.Log}
	indexes, ok := e.Store.(engine.IndexStore)
	if !ok {
		return nil, fmt.Errorf("%s: the store %T keeps no index runs", Function, e.Store)
	}
	srv.WorkerConfigs, _ = e.Store.(engine.WorkerConfigStore)
	if rs, ok := e.Store.(engine.RestoreStore); ok {
		if svc, ok := e.Backup.(engine.RestoreService); ok {
			srv.Restores = engine.NewRestorer(engine.Restorer{Store: rs, Service: svc, Clock: e.Clock, Log: e.Log,
				Config: engine.RestoreConfig{BackupRoleName: env.BackupRoleName, MemberRoleName: env.MemberRoleName}})
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: load the AWS configuration: %w", Function, err)
	}
	b := awscloud.NewBucket(s3.NewFromConfig(cfg), bucket)
	srv.Files = &api.Files{Runs: indexes, Open: b.Open}
	return srv, nil
}

// MustWire is Wire for the function's main: on failure it writes the error
// to stderr (Lambda reports it as Runtime.ExitError) and exits.
func MustWire() *api.Server {
	s, err := Wire(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return s
}
