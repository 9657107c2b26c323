// Package dynalite starts dynalite (DynamoDB's wire protocol, in memory, from
// the repository's node_modules) for tests of code that talks to DynamoDB.
// Without dynalite the tests must fail, not skip: a skipped store test would
// hide a broken store. `make deps` installs it.
package dynalite

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/efskeeper/efskeeper/pkg/store/dynamo"
)

// Server is a running dynalite.
type Server struct {
	Endpoint string
	Client   *dynamodb.Client
	cmd      *exec.Cmd
	tables   atomic.Int64
}

// Start starts dynalite on a free loopback port and waits until it answers.
func Start() (*Server, error) {
	bin, err := binary()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("find a free port for dynalite: %w", err)
	}
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	stopWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dynalite: %w", err)
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	s.Client = dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		HTTPClient:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	})
	if err := s.waitUntilUp(30 * time.Second); err != nil {
		s.Close()
		return nil, fmt.Errorf("dynalite at %s did not answer: %w", s.Endpoint, err)
	}
	return s, nil
}

// Close stops dynalite.
func (s *Server) Close() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// NewTable creates a fresh efskeeper table for one test and deletes it when
// the test ends.
func (s *Server) NewTable(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("efskeeper-test-%d", s.tables.Add(1))
	if err := dynamo.CreateTable(context.Background(), s.Client, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, err := s.Client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Errorf("delete table %s: %v", name, err)
		}
	})
	return name
}

// binary finds node_modules/.bin/dynalite at the module root.
func binary() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "dynalite")); err == nil {
				break
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("the DynamoDB tests need dynalite at node_modules/.bin/dynalite of the repository: run `make deps` (npm ci) first")
		}
		dir = parent
	}
	return filepath.Join(dir, "node_modules", ".bin", "dynalite"), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) waitUntilUp(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := s.Client.ListTables(ctx, &dynamodb.ListTablesInput{})
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
