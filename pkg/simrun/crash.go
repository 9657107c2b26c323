package simrun

import (
	"context"
	"math/rand/v2"
	"sync"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// crashStore makes store writes fail as a function that dies between two
// steps would see them: before the write happened or after it. The engine
// must converge anyway (redelivered messages, retried events, the
// reconciler).
type crashStore struct {
	engine.Store
	mu      sync.Mutex
	rate    float64
	seed    uint64
	rng     *rand.Rand
	crashes int
}

// storeViews is what the in-memory store reads without copies.
type storeViews interface {
	engine.TaskViewer
	engine.SessionHeads
}

// crashViews is a crashStore over a store with views: reads never crash,
// so they pass through.
type crashViews struct {
	*crashStore
	views storeViews
}

func (c crashViews) ViewTasks(ctx context.Context, q engine.TaskQuery, pick func([]*engine.Task) []*engine.Task) ([]*engine.Task, string, error) {
	return c.views.ViewTasks(ctx, q, pick)
}

func (c crashViews) GetSessionHead(ctx context.Context, id string) (*engine.Session, error) {
	return c.views.GetSessionHead(ctx, id)
}

// crash decides the fate of one write: 0 none, 1 before, 2 after.
func (c *crashStore) crash() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rng == nil {
		c.rng = rand.New(rand.NewPCG(c.seed, 0xc7a5))
	}
	if c.rng.Float64() >= c.rate {
		return 0
	}
	c.crashes++
	return 1 + c.rng.IntN(2)
}

// count is how many crashes were simulated.
func (c *crashStore) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crashes
}

func (c *crashStore) write(do func() error) error {
	switch c.crash() {
	case 1:
		return engine.Errorf(engine.EUNAVAIL, "simulated crash before the write")
	case 2:
		if err := do(); err != nil {
			return err
		}
		return engine.Errorf(engine.EUNAVAIL, "simulated crash after the write")
	}
	return do()
}

func (c *crashStore) CreateSession(ctx context.Context, s *engine.Session) error {
	return c.write(func() error { return c.Store.CreateSession(ctx, s) })
}

func (c *crashStore) PutSession(ctx context.Context, s *engine.Session) error {
	return c.write(func() error { return c.Store.PutSession(ctx, s) })
}

func (c *crashStore) AdjustSession(ctx context.Context, id string, d engine.SessionDelta) (*engine.Session, error) {
	var s *engine.Session
	err := c.write(func() error {
		var err error
		s, err = c.Store.AdjustSession(ctx, id, d)
		return err
	})
	return s, err
}

func (c *crashStore) CreateUnit(ctx context.Context, u *engine.Unit) error {
	return c.write(func() error { return c.Store.CreateUnit(ctx, u) })
}

func (c *crashStore) PutUnit(ctx context.Context, u *engine.Unit) error {
	return c.write(func() error { return c.Store.PutUnit(ctx, u) })
}

func (c *crashStore) CreateTask(ctx context.Context, t *engine.Task) error {
	return c.write(func() error { return c.Store.CreateTask(ctx, t) })
}

func (c *crashStore) PutTask(ctx context.Context, t *engine.Task) error {
	return c.write(func() error { return c.Store.PutTask(ctx, t) })
}

func (c *crashStore) PutPolicy(ctx context.Context, p *engine.PolicyRecord) error {
	return c.write(func() error { return c.Store.PutPolicy(ctx, p) })
}
