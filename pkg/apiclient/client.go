// Package apiclient is the Go client of efskeeper's admin API (pkg/api),
// which the CLI uses. Against a deployed API (API Gateway with IAM
// authorization) it signs every request with SigV4 for the service
// execute-api, with credentials from the AWS SDK's default chain
// (environment, shared config and SSO, container or instance role);
// against `efskeeper serve --local` on a loopback address it sends
// requests unsigned.
package apiclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

// Client talks to one admin API.
type Client struct {
	base *url.URL
	http *http.Client
	// sign signs a request whose body hashes to payloadHash; nil sends
	// requests unsigned.
	sign func(ctx context.Context, r *http.Request, payloadHash string) error
}

// Options tune New.
type Options struct {
	// HTTPClient defaults to one with a 60-second timeout.
	HTTPClient *http.Client
	// Unsigned sends requests without SigV4 even to a non-loopback host;
	// Signed signs them even to a loopback one (a local proxy in front of
	// API Gateway).
	Unsigned, Signed bool
	// Region is the signing Region; by default it comes from the host
	// (<id>.execute-api.<region>.amazonaws.com) or the AWS configuration
	// (AWS_REGION, the profile).
	Region string
	// Credentials override the default credential chain (tests).
	Credentials aws.CredentialsProvider
}

// New returns a client of the API at baseURL (for example
// https://abc123.execute-api.eu-west-1.amazonaws.com/prod or
// http://127.0.0.1:8080). Requests to a loopback host are unsigned; others
// are signed, and New loads the AWS configuration for that, without
// calling AWS.
func New(ctx context.Context, baseURL string, o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the API URL %q is not an http(s) URL such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod", baseURL)
	}
	c := &Client{base: u, http: o.HTTPClient}
	if c.http == nil {
		c.http = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Unsigned || IsLoopback(u.Hostname()) && !o.Signed {
		return c, nil
	}
	region := o.Region
	if region == "" {
		region = RegionFromHost(u.Hostname())
	}
	creds := o.Credentials
	if creds == nil || region == "" {
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
		if err != nil {
			return nil, fmt.Errorf("load the AWS configuration to sign requests to %s: %w", u.Host, err)
		}
		if creds == nil {
			creds = cfg.Credentials
		}
		if region == "" {
			region = cfg.Region
		}
	}
	if region == "" {
		return nil, fmt.Errorf("cannot tell the Region of %s to sign requests: set AWS_REGION", u.Host)
	}
	signer := v4.NewSigner()
	c.sign = func(ctx context.Context, r *http.Request, payloadHash string) error {
		cr, err := creds.Retrieve(ctx)
		if err != nil {
			return fmt.Errorf("get AWS credentials to sign the request (configure them as for the AWS CLI): %w", err)
		}
		return signer.SignHTTP(ctx, cr, r, payloadHash, "execute-api", region, time.Now().UTC())
	}
	return c, nil
}

// Signed reports whether the client signs its requests.
func (c *Client) Signed() bool { return c.sign != nil }

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var executeAPIHost = regexp.MustCompile(`^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// RegionFromHost returns the Region of an API Gateway host name, "" for
// other hosts (custom domains).
func RegionFromHost(host string) string {
	if m := executeAPIHost.FindStringSubmatch(strings.ToLower(host)); m != nil {
		return m[1]
	}
	return ""
}

// Error is an error answer of the API.
type Error struct {
	Status  int
	Code    string
	Message string
	// Problems lists each problem of an invalid document or query.
	Problems []policy.Problem
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d %s)", e.Message, e.Status, e.Code)
}

// StatusOf returns the HTTP status of an API error, 0 for other errors.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// request is one call. path holds the path's segments, unescaped (a
// session id holds '#').
type request struct {
	method string
	path   []string
	query  url.Values
	body   []byte
	header http.Header
}

func (rq request) name() string { return rq.method + " /" + strings.Join(rq.path, "/") }

// do sends the request and decodes a 2xx JSON answer into out (unless nil).
func (c *Client) do(ctx context.Context, rq request, out any) (http.Header, int, error) {
	u := *c.base
	raw := make([]string, len(rq.path))
	for i, seg := range rq.path {
		raw[i] = url.PathEscape(seg)
	}
	u.Path = c.base.Path + "/" + strings.Join(rq.path, "/")
	u.RawPath = c.base.EscapedPath() + "/" + strings.Join(raw, "/")
	u.RawQuery = rq.query.Encode()
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, u.String(), body)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", rq.name(), err)
	}
	for k, v := range rq.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if rq.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.sign != nil {
		sum := sha256.Sum256(rq.body)
		if err := c.sign(ctx, req, hex.EncodeToString(sum[:])); err != nil {
			return nil, 0, err
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", rq.method, u.String(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%s: read the answer: %w", rq.name(), err)
	}
	if resp.StatusCode >= 300 {
		return resp.Header, resp.StatusCode, apiError(resp, data)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.Header, resp.StatusCode, fmt.Errorf("%s: the answer is not the JSON expected: %w", rq.name(), err)
		}
	}
	return resp.Header, resp.StatusCode, nil
}

// apiError reads an error answer: the API's {code, message}, or what API
// Gateway itself says ({"message": ...} for a refused signature).
func apiError(resp *http.Response, data []byte) error {
	e := &Error{Status: resp.StatusCode}
	var body api.ErrorBody
	if json.Unmarshal(data, &body) == nil && body.Message != "" {
		e.Code, e.Message, e.Problems = body.Code, body.Message, body.Errors
	}
	if e.Message == "" {
		var gw struct{ Message string }
		if json.Unmarshal(data, &gw) == nil && gw.Message != "" {
			e.Message = gw.Message
		} else {
			e.Message = strings.TrimSpace(string(data))
		}
	}
	if e.Code == "" {
		e.Code = http.StatusText(resp.StatusCode)
		if resp.StatusCode == http.StatusForbidden && resp.Header.Get("x-amzn-ErrorType") != "" {
			e.Message += " (API Gateway refused the request: check your AWS credentials and that they may call execute-api:Invoke on this API)"
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// Base is the API's base URL.
func (c *Client) Base() string { return c.base.String() }

// DefaultConfigFile is where the CLI looks for the API URL when neither
// --api nor EFSKEEPER_API gives it: ~/.config/efskeeper/config.json
// ({"api": "https://..."}), or the OS's user configuration directory.
func DefaultConfigFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return dir + "/efskeeper/config.json"
}

// ResolveURL picks the API URL: flag, then the EFSKEEPER_API variable,
// then the "api" field of the config file. where says which it used.
func ResolveURL(flag, configFile string) (apiURL, where string, err error) {
	if flag != "" {
		return flag, "--api", nil
	}
	if v := os.Getenv("EFSKEEPER_API"); v != "" {
		return v, "EFSKEEPER_API", nil
	}
	if configFile == "" {
		configFile = DefaultConfigFile()
	}
	data, err := os.ReadFile(configFile)
	if errors.Is(err, os.ErrNotExist) {
		return "", "", fmt.Errorf("no API URL: pass --api URL, set EFSKEEPER_API, or write {\"api\": \"URL\"} to %s (for a local server, `efskeeper serve --local` prints its URL)", configFile)
	}
	if err != nil {
		return "", "", fmt.Errorf("read %s: %w", configFile, err)
	}
	var cfg struct {
		API string `json:"api"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil || cfg.API == "" {
		return "", "", fmt.Errorf("%s must hold {\"api\": \"https://...\"}: %v", configFile, err)
	}
	return cfg.API, configFile, nil
}
