package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index/walk"
	"github.com/efskeeper/efskeeper/pkg/worker"
)

// Instances implements engine.Instances: RunWorker records an instance the
// way EC2 RunInstances would (subnet and security groups must exist, the
// ClientToken makes a repeat return the same instance, a repeat with other
// parameters fails with IdempotentParameterMismatch), and RunPending runs
// the real worker code (package worker) for the instances launched since,
// in-process, against a Mounter and Objects the caller chooses: in the demo
// and the tests, local directory trees as file systems and an S3 server in
// the process.
type Instances struct {
	w   *World
	cfg InstancesConfig

	mu      sync.Mutex
	byToken map[string]*Instance
	list    []*Instance
}

// InstancesConfig says what the in-process workers work on.
type InstancesConfig struct {
	// Mounter makes file systems available (worker.Trees maps ids to
	// directories).
	Mounter worker.Mounter
	// Objects is the index bucket.
	Objects worker.Objects
	// Walk tunes the workers' walks (small trees need few workers).
	Walk walk.Options
}

// Instance is one launched worker.
type Instance struct {
	ID         string
	Launch     engine.WorkerLaunch
	LaunchedAt time.Time
	// State is pending (launched, not yet run), running, or terminated
	// (the worker shut down: the launch template terminates on shutdown).
	State string
	// ShutDown says the worker called its shutdown at the end.
	ShutDown bool
	// Result is what the worker reported, once it ran.
	Result *engine.WorkerResult
}

var _ engine.Instances = (*Instances)(nil)

// NewInstances returns the EC2 side of the world for index workers.
func (w *World) NewInstances(cfg InstancesConfig) *Instances {
	return &Instances{w: w, cfg: cfg, byToken: map[string]*Instance{}}
}

// RunWorker launches a worker instance (RunInstances).
func (in *Instances) RunWorker(ctx context.Context, l engine.WorkerLaunch) (string, error) {
	w := in.w
	w.mu.Lock()
	_, err := w.call(ctx, "RunInstances", l.Loc)
	if err == nil {
		err = in.checkPlacement(l)
	}
	now := w.now
	w.mu.Unlock()
	if err != nil {
		return "", err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if prev, ok := in.byToken[l.Loc.String()+"/"+l.RunID]; ok {
		if !reflect.DeepEqual(prev.Launch, l) {
			return "", &engine.Error{Code: engine.ECONFLICT, Message: "run instances for " + l.RunID,
				Err: &APIError{Code: "IdempotentParameterMismatch", Message: "The client token " + l.RunID + " was used with other parameters"}}
		}
		return prev.ID, nil
	}
	h := sha256.Sum256([]byte(l.Loc.String() + "/" + l.RunID))
	inst := &Instance{ID: "i-" + hex.EncodeToString(h[:])[:17], Launch: cloneLaunch(l), LaunchedAt: now, State: "pending"}
	in.byToken[l.Loc.String()+"/"+l.RunID] = inst
	in.list = append(in.list, inst)
	return inst.ID, nil
}

// checkPlacement refuses what EC2 refuses: a subnet or group that does
// not exist, or a group of another VPC.
func (in *Instances) checkPlacement(l engine.WorkerLaunch) error {
	n := in.w.net(l.Loc)
	sub, ok := n.subnets[l.SubnetID]
	if !ok {
		return apiError(ErrInvalidParameterValue, "run instances in "+l.Loc.String(), "The subnet ID '%s' does not exist", l.SubnetID)
	}
	for _, g := range l.SecurityGroupIDs {
		sg, ok := n.sgs[g]
		if !ok {
			return apiError(ErrInvalidParameterValue, "run instances in "+l.Loc.String(), "The security group '%s' does not exist", g)
		}
		if sg.VpcID != sub.VpcID {
			return apiError(ErrInvalidParameterValue, "run instances in "+l.Loc.String(), "Security group %s and subnet %s belong to different networks.", g, l.SubnetID)
		}
	}
	return nil
}

func cloneLaunch(l engine.WorkerLaunch) engine.WorkerLaunch {
	l.SecurityGroupIDs = slices.Clone(l.SecurityGroupIDs)
	return l
}

// RunPending runs the worker of every pending instance, in launch order,
// and returns their results. Each worker reports by putting its result
// object in Objects; the caller plays the S3 notification (indexdone).
func (in *Instances) RunPending(ctx context.Context) []engine.WorkerResult {
	var out []engine.WorkerResult
	for {
		in.mu.Lock()
		var next *Instance
		for _, i := range in.list {
			if i.State == "pending" {
				next = i
				break
			}
		}
		if next != nil {
			next.State = "running"
		}
		in.mu.Unlock()
		if next == nil {
			return out
		}
		d := worker.Deps{Mounter: in.cfg.Mounter, Objects: in.cfg.Objects, Clock: in.w, InstanceID: next.ID, Walk: in.cfg.Walk}
		d.Shutdown = func() {
			in.mu.Lock()
			next.ShutDown = true
			in.mu.Unlock()
		}
		res := worker.Run(ctx, next.Launch.Job, d)
		in.mu.Lock()
		next.State, next.Result = "terminated", &res
		in.mu.Unlock()
		out = append(out, res)
	}
}

// List returns copies of every instance launched, in launch order.
func (in *Instances) List() []Instance {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Instance, len(in.list))
	for i, inst := range in.list {
		out[i] = *inst
		out[i].Launch = cloneLaunch(inst.Launch)
	}
	return out
}
