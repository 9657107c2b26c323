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
	"github.com/efskeeper/efskeeper/pkg/notify"
	"github.com/efskeeper/efskeeper/pkg/store/dynamo"
)

// Wire builds the engine a function runs: the AWS configuration of the
// function's role (config.LoadDefaultConfig: the Region and credentials
// Lambda provides), the awscloud adapters, the DynamoDB store on env.Table,
// a JSON logger on stdout at env.LogLevel, and the wall clock. It makes no
// AWS call, so a cold start costs no round trip before the first event.
func Wire(ctx context.Context, env Env) (*engine.Engine, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: load the AWS configuration: %w", env.Function, err)
	}
	cloud, err := awscloud.New(cfg, awscloud.Config{
		BackupRoleName: env.BackupRoleName,
		MemberRoleName: env.MemberRoleName,
		Function:       env.Function,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: set up the AWS clients: %w", env.Function, err)
	}
	notifier := cloud.Notifier(env.TopicARN)
	notifier.Render = notify.Session
	return engine.New(engine.Engine{
		Store:       dynamo.New(dynamodb.NewFromConfig(cfg), env.Table),
		Backup:      cloud.Backup(),
		FileSystems: cloud.FileSystems(),
		Org:         cloud.Organization(),
		Queue:       cloud.Queue(env.RegionQueueURL, env.IndexQueueURL),
		Notifier:    notifier,
		Clock:       engine.ClockFunc(time.Now),
		Log:         NewLogger(os.Stdout, env),
		Config:      EngineConfig(env),
	}), nil
}

// EngineConfig is the part of the engine's configuration that comes from
// the environment; zero fields take the engine's defaults.
func EngineConfig(env Env) engine.Config {
	return engine.Config{
		BackupRoleName:   env.BackupRoleName,
		MemberRoleName:   env.MemberRoleName,
		MaxDeletesPerRun: env.MaxDeletes,
		DryRun:           env.DryRun,
	}
}

// MustWire is LoadEnv and Wire for a function's main: on failure it writes
// the error, which names every bad or missing variable, to stderr (Lambda
// puts it in the function's log and reports Runtime.ExitError) and exits.
func MustWire(function string) *engine.Engine {
	env, err := LoadEnv(function)
	if err == nil {
		var e *engine.Engine
		if e, err = Wire(context.Background(), env); err == nil {
			return e
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
	return nil
}
