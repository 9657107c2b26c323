// Command efskeeper-worker is the EFS indexing worker. indexlaunch starts it
// on a short-lived EC2 instance whose user data writes the job (JSON) to a
// file, downloads this binary and runs it with -job. It mounts the file
// system read-only over NFS 4.1, writes the index to the index bucket,
// puts its result under results/ (which triggers indexdone) and powers the
// instance off; the instance terminates on shutdown. All of it is
// package worker; this file only wires the instance's side: the job file,
// the mount command, S3 with the instance profile's credentials, the
// instance id and the shutdown.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efskeeper/efskeeper/pkg/awscloud"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/worker"
)

func main() {
	jobPath := flag.String("job", awscloud.JobPath, "the job file the user data wrote")
	mountDir := flag.String("mount", "/mnt/efskeeper", "where to mount the file system")
	noShutdown := flag.Bool("no-shutdown", false, "leave the instance running at the end (debugging)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("program", "efskeeper-worker")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	shutdown := func() {
		if !*noShutdown {
			powerOff(log)
		}
	}

	raw, err := os.ReadFile(*jobPath)
	if err != nil {
		// Without a job there is no result key to report to; the run
		// expires at its deadline with its own warning.
		log.Error("read the job", "path", *jobPath, "error", err.Error())
		shutdown()
		os.Exit(1)
	}
	// A job that fails validation still goes to Run, which reports the
	// problem if the job names a usable result key.
	job, perr := engine.ParseWorkerJob(raw)
	if perr != nil {
		log.Error("job is not valid", "error", perr.Error())
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(job.BucketRegion))
	if err != nil {
		log.Error("load the AWS configuration", "error", err.Error())
		shutdown()
		os.Exit(1)
	}
	res := worker.Run(ctx, job, worker.Deps{
		Mounter:    worker.NFS{Dir: *mountDir},
		Objects:    awscloud.NewBucket(s3.NewFromConfig(cfg), job.Bucket),
		Shutdown:   shutdown,
		Log:        log,
		InstanceID: instanceID(ctx, log),
	})
	if res.Error != "" {
		os.Exit(1)
	}
}

// instanceID asks the instance metadata service (IMDSv2) for the
// instance's id, for the result; "" if it does not answer quickly.
func instanceID(ctx context.Context, log *slog.Logger) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := imds.New(imds.Options{}).GetMetadata(ctx, &imds.GetMetadataInput{Path: "instance-id"})
	if err != nil {
		log.Warn("instance id unknown", "error", err.Error())
		return ""
	}
	defer out.Content.Close()
	b, _ := io.ReadAll(io.LimitReader(out.Content, 64))
	return string(b)
}

// powerOff halts the instance, which the launch made terminate on
// shutdown. If the orderly shutdown cannot be started (or hangs on a hung
// NFS mount), a forced power-off follows.
func powerOff(log *slog.Logger) {
	for _, cmd := range [][]string{{"shutdown", "-h", "now", "efskeeper worker done"}, {"systemctl", "poweroff", "--force", "--force"}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, cmd[0], cmd[1:]...).CombinedOutput()
		cancel()
		if err == nil {
			// The shutdown is under way; give it time before forcing.
			time.Sleep(2 * time.Minute)
		}
		log.Warn("power-off did not happen", "command", fmt.Sprint(cmd), "error", fmt.Sprint(err), "output", string(out))
	}
}
