package lambdafn

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/efskeeper/efskeeper/pkg/awscloud"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store/dynamo"
)

// IndexFunction is what indexlaunch and indexdone run with: the Indexer,
// and for indexdone the bucket the results are read from.
type IndexFunction struct {
	Indexer *engine.Indexer
	// Results reads result objects (indexdone).
	Results ResultReader
	// Bucket is the index bucket; indexdone ignores notifications of
	// other buckets.
	Bucket string
}

// ResultReader reads a worker's result object (awscloud.Bucket.Get).
type ResultReader interface {
	Get(ctx context.Context, key string) ([]byte, error)
}

// WireIndex builds an index function on AWS, as Wire does for the others:
// the function role's configuration, the awscloud adapters, the DynamoDB
// store, the JSON logger, the wall clock. The index bucket is in the
// function's (home) Region. indexlaunch gets the network preflight and the
// worker launcher; indexdone the notifier, to announce a session an index
// failure turned to Warning.
func WireIndex(ctx context.Context, env IndexEnv) (*IndexFunction, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: load the AWS configuration: %w", env.Function, err)
	}
	cloud, err := awscloud.New(cfg, awscloud.Config{MemberRoleName: env.MemberRoleName, Function: env.Function})
	if err != nil {
		return nil, fmt.Errorf("%s: set up the AWS clients: %w", env.Function, err)
	}
	st := dynamo.New(dynamodb.NewFromConfig(cfg), env.Table)
	runs, ok := any(st).(engine.IndexStore)
	configs, ok2 := any(st).(engine.WorkerConfigStore)
	if !ok || !ok2 {
		return nil, fmt.Errorf("%s: the DynamoDB store does not keep index runs and worker configurations", env.Function)
	}
	bucket := cloud.Bucket(env.IndexBucket)
	ix := engine.Indexer{Store: st, Runs: runs, Configs: configs, Objects: bucket,
		Clock: engine.ClockFunc(time.Now), Log: NewLogger(os.Stdout, env.Env),
		Config: engine.IndexerConfig{Bucket: env.IndexBucket, BucketRegion: cfg.Region}}
	switch env.Function {
	case FnIndexLaunch:
		ix.Network = cloud.Network()
		ix.Instances = cloud.Instances(awscloud.WorkerSettings{LaunchTemplate: env.WorkerLaunchTemplate, InstanceProfile: env.WorkerProfileName,
			AssetBucket: env.WorkerAssetBucket, AssetKey: env.WorkerAssetKey})
	case FnIndexDone:
		ix.Notifier = cloud.Notifier(env.TopicARN)
	}
	return &IndexFunction{Indexer: engine.NewIndexer(ix), Results: bucket, Bucket: env.IndexBucket}, nil
}

// MustWireIndex is LoadIndexEnv and WireIndex for a function's main; on
// failure it writes the error to stderr and exits.
func MustWireIndex(function string) *IndexFunction {
	env, err := LoadIndexEnv(function)
	if err == nil {
		var f *IndexFunction
		if f, err = WireIndex(context.Background(), env); err == nil {
			return f
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
	return nil
}
