package dynamo_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/efskeeper/efskeeper/pkg/store/dynamo/dynalite"
)

// client talks to the dynalite that TestMain starts.
var (
	client *dynamodb.Client
	server *dynalite.Server
)

// TestMain runs the package's tests against dynalite. Without it the tests
// fail: a skipped store test would hide a broken store.
func TestMain(m *testing.M) {
	os.Exit(runWithDynalite(m))
}

func runWithDynalite(m *testing.M) int {
	s, err := dynalite.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	server, client = s, s.Client
	return m.Run()
}

// newTable creates a fresh table for one test and deletes it afterwards.
func newTable(t *testing.T) string { return server.NewTable(t) }
