package apiclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

func TestRegionFromHost(t *testing.T) {
	for host, want := range map[string]string{
		"abc123.execute-api.eu-west-1.amazonaws.com":     "eu-west-1",
		"ABC123.execute-api.us-gov-west-1.amazonaws.com": "us-gov-west-1",
		"x1y2.execute-api.cn-north-1.amazonaws.com.cn":   "cn-north-1",
		"api.example.com": "",
		"abc.execute-api.eu-west-1.amazonaws.com.evil.test": "",
	} {
		if got := RegionFromHost(host); got != want {
			t.Errorf("RegionFromHost(%q) = %q, want %q", host, got, want)
		}
	}
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "127.8.9.10": true, "10.0.0.1": false, "example.com": false} {
		if IsLoopback(host) != want {
			t.Errorf("IsLoopback(%q) = %v", host, !want)
		}
	}
}

// verifySigV4 re-signs what the server received with the same key, time
// and Region, and compares: the client's signature is the one SigV4
// prescribes for execute-api over this exact request.
func verifySigV4(t *testing.T, r *http.Request, payloadHash string, creds aws.Credentials, region string) {
	t.Helper()
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+creds.AccessKeyID+"/") || !strings.Contains(auth, "/"+region+"/execute-api/aws4_request") {
		t.Fatalf("Authorization %q", auth)
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatal(err)
	}
	clone := r.Clone(context.Background())
	clone.URL = &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	clone.Header = r.Header.Clone()
	clone.Header.Del("Authorization")
	clone.Header.Del("Accept-Encoding") // added by the transport after signing
	clone.Header.Del("Content-Length")
	clone.Header.Del("User-Agent")
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, clone, payloadHash, "execute-api", region, at); err != nil {
		t.Fatal(err)
	}
	if clone.Header.Get("Authorization") != auth {
		t.Fatalf("signature differs:\n got %s\nwant %s", auth, clone.Header.Get("Authorization"))
	}
}

func TestSignsRequestsForExecuteAPI(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}
	var seen *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"session":{"id":"p#2026-01-05T02:00:00Z"},"regionRuns":[],"tasks":[]}`))
	}))
	defer srv.Close()
	c, err := New(t.Context(), srv.URL+"/prod", Options{Signed: true, Region: "eu-west-1", Credentials: credentials.StaticCredentialsProvider{Value: creds}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.GetSession(t.Context(), "p#2026-01-05T02:00:00Z")
	if err != nil || d.Session.ID != "p#2026-01-05T02:00:00Z" {
		t.Fatalf("%+v %v", d, err)
	}
	if seen.URL.EscapedPath() != "/prod/sessions/p%232026-01-05T02:00:00Z" {
		t.Fatalf("path %q", seen.URL.EscapedPath())
	}
	verifySigV4(t, seen, sha256Hex(""), creds, "eu-west-1")
}

// TestDefaultCredentialChain: credentials and Region come from the
// environment, as the default chain reads them, for an API Gateway URL.
func TestDefaultCredentialChain(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_REGION", "us-east-1") // the host's Region wins
	var seen *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		b := make([]byte, 1024)
		n, _ := r.Body.Read(b)
		body = string(b[:n])
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"sessionId":"p#x"}`))
	}))
	defer srv.Close()
	// Send what is addressed to API Gateway to the test server.
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}}
	c, err := New(t.Context(), "http://abc123.execute-api.eu-west-1.amazonaws.com/prod", Options{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Signed() {
		t.Fatal("a client of API Gateway must sign")
	}
	if _, err := c.RunPolicy(t.Context(), "p", []string{"daily"}); err != nil {
		t.Fatal(err)
	}
	if body != `{"schedules":["daily"]}` {
		t.Fatalf("body %q", body)
	}
	verifySigV4(t, seen, sha256Hex(body), aws.Credentials{AccessKeyID: "AKIDFROMENV", SecretAccessKey: "envsecret"}, "eu-west-1")
}

func TestLocalIsUnsignedAndErrorsAreRead(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("a loopback request was signed")
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/policies/p":
			w.WriteHeader(http.StatusPreconditionFailed)
			w.Write([]byte(`{"code":"precondition","message":"policy p is at version 3, not 2"}`))
		case "/policies/q":
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"code":"invalid","message":"bad","errors":[{"path":"id","message":"x"}]}`))
		default:
			w.Header().Set("x-amzn-ErrorType", "IncompleteSignatureException")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"message":"Missing Authentication Token"}`))
		}
	}))
	defer srv.Close()
	c, err := New(t.Context(), srv.URL, Options{})
	if err != nil || c.Signed() {
		t.Fatalf("%v signed=%v", err, c.Signed())
	}
	_, _, _, err = c.PutPolicy(t.Context(), "p", []byte(`{}`), Condition{IfMatch: `"2"`})
	if StatusOf(err) != 412 || !strings.Contains(err.Error(), "version 3") {
		t.Fatalf("412: %v", err)
	}
	_, _, _, err = c.PutPolicy(t.Context(), "q", []byte(`{}`), Condition{})
	var e *Error
	if !errorsAs(err, &e) || len(e.Problems) != 1 || e.Problems[0].Path != "id" {
		t.Fatalf("400: %#v", err)
	}
	_, err = c.Health(t.Context())
	if StatusOf(err) != 403 || !strings.Contains(err.Error(), "Missing Authentication Token") || !strings.Contains(err.Error(), "execute-api:Invoke") {
		t.Fatalf("403: %v", err)
	}
}

func TestResolveURL(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	t.Setenv("EFSKEEPER_API", "")
	if _, _, err := ResolveURL("", cfg); err == nil || !strings.Contains(err.Error(), "--api") {
		t.Fatalf("no URL anywhere: %v", err)
	}
	os.WriteFile(cfg, []byte(`{"api":"https://from-file"}`), 0o600)
	if u, where, _ := ResolveURL("", cfg); u != "https://from-file" || where != cfg {
		t.Fatalf("file: %s %s", u, where)
	}
	t.Setenv("EFSKEEPER_API", "https://from-env")
	if u, _, _ := ResolveURL("", cfg); u != "https://from-env" {
		t.Fatalf("env: %s", u)
	}
	if u, _, _ := ResolveURL("https://from-flag", cfg); u != "https://from-flag" {
		t.Fatalf("flag: %s", u)
	}
	t.Setenv("EFSKEEPER_API", "")
	os.WriteFile(cfg, []byte(`{"url":"https://typo"}`), 0o600)
	if _, _, err := ResolveURL("", cfg); err == nil {
		t.Fatal("a config file with an unknown field must be refused")
	}
	if _, err := New(t.Context(), "ftp://x", Options{}); err == nil {
		t.Fatal("ftp URL accepted")
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
