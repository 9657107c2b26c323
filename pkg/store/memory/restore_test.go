package memory_test

import (
	"testing"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
	"github.com/efskeeper/efskeeper/pkg/store/storetest"
)

func TestRestoreContract(t *testing.T) {
	storetest.RunRestore(t, func(*testing.T) engine.RestoreStore { return memory.NewRestores() })
}
