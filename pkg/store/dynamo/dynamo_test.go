package dynamo_test

import (
	"testing"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store/dynamo"
	"github.com/efskeeper/efskeeper/pkg/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store { return dynamo.New(client, newTable(t)) })
}
