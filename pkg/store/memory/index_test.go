package memory_test

import (
	"testing"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
	"github.com/efskeeper/efskeeper/pkg/store/storetest"
)

func TestIndexContract(t *testing.T) {
	storetest.RunIndex(t, func(*testing.T) engine.IndexStore { return memory.NewIndexes() })
}

func TestWorkerConfigContract(t *testing.T) {
	storetest.RunWorkerConfigs(t, func(*testing.T) engine.WorkerConfigStore { return memory.NewIndexes() })
}

func TestSessionFence(t *testing.T) {
	storetest.RunSessionFence(t, func(*testing.T) engine.Store { return memory.New() })
}
