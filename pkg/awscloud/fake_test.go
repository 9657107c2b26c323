package awscloud

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The fake AWS endpoint: one httptest server that plays every service the
// adapters call. It names each request's operation the way AWS does —
// from the REST method and path (Backup, EFS), the X-Amz-Target header
// (Organizations, SQS) or the Action form field (SNS, STS) — and reads
// the service, Region and access key from the SigV4 Authorization header.
// Nothing here comes from the SDK: the routes are the API references'.

const (
	homeAccount   = "111122223333"
	memberAccount = "222233334444"
	homeKey       = "TESTKEYHOMEEXAMPLE001"
	memberKey     = "ASIAMEMBEREXAMPLE001"
	memberToken   = "member-session-token"
)

// call is one request the fake received.
type call struct {
	Op        string // service.Operation, e.g. backup.StartBackupJob
	Service   string // SigV4 signing name
	Region    string // SigV4 Region
	AccessKey string
	Method    string
	Path      string   // escaped, as sent
	Segments  []string // Path split on "/" and unescaped
	Query     url.Values
	Header    http.Header
	Body      []byte
	Form      url.Values // query-protocol bodies
}

// JSON decodes the request body.
func (c call) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Body, &m); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", c.Op, err, c.Body)
	}
	return m
}

// reply is the fake's answer to one call.
type reply struct {
	Status int
	Header map[string]string
	Body   string
}

// handler answers one call; n counts the calls of that op so far (1-based).
type handler func(c call, n int) reply

type fakeAWS struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	calls    []call
	counts   map[string]int
	handlers map[string]handler
}

func newFake(t *testing.T) *fakeAWS {
	f := &fakeAWS{t: t, counts: map[string]int{}, handlers: map[string]handler{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	for op, body := range defaultReplies {
		f.ok(op, body)
	}
	f.on("sts.AssumeRole", func(c call, n int) reply {
		return xmlReply(assumeRoleXML(time.Now().Add(time.Hour)))
	})
	return f
}

// on sets the handler of an op.
func (f *fakeAWS) on(op string, h handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[op] = h
}

// ok makes an op answer 200 with a fixed body (JSON or XML by protocol).
func (f *fakeAWS) ok(op, body string) {
	f.on(op, func(call, int) reply { return reply{Status: 200, Body: body} })
}

// pages makes an op answer its bodies in turn, one per call.
func (f *fakeAWS) pages(op string, bodies ...string) {
	f.on(op, func(_ call, n int) reply {
		if n > len(bodies) {
			f.t.Errorf("%s called %d times, only %d pages exist", op, n, len(bodies))
			return reply{Status: 500, Body: `{}`}
		}
		return reply{Status: 200, Body: bodies[n-1]}
	})
}

// callsOf returns the calls of one op, in order.
func (f *fakeAWS) callsOf(op string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// ops returns the ops of all calls, in order.
func (f *fakeAWS) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.Op)
	}
	return out
}

var credentialRE = regexp.MustCompile(`Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request`)

func (f *fakeAWS) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := call{
		Method: r.Method,
		Path:   r.URL.EscapedPath(),
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
		Body:   body,
	}
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		f.t.Errorf("unsigned request %s %s", r.Method, c.Path)
		http.Error(w, "unsigned", 403)
		return
	}
	c.AccessKey, c.Region, c.Service = m[1], m[2], m[3]
	for _, s := range strings.Split(strings.Trim(c.Path, "/"), "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			f.t.Errorf("bad path %s", c.Path)
		}
		c.Segments = append(c.Segments, u)
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		c.Form, _ = url.ParseQuery(string(body))
	}
	c.Op = c.Service + "." + operation(c)

	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.counts[c.Op]++
	n := f.counts[c.Op]
	h := f.handlers[c.Op]
	f.mu.Unlock()
	if h == nil {
		f.t.Errorf("no handler for %s (%s %s)", c.Op, c.Method, c.Path)
		http.Error(w, "no handler", 501)
		return
	}
	rep := h(c, n)
	if c.Op == "sqs.SendMessage" && rep.Status == 200 && rep.Body == "" {
		rep.Body = sqsSendReply(c)
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", contentType(c.Service))
	}
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("req-%d", n))
	w.WriteHeader(rep.Status)
	io.WriteString(w, rep.Body)
}

// contentType is what each service's responses carry.
func contentType(service string) string {
	switch service {
	case "organizations":
		return "application/x-amz-json-1.1"
	case "sqs":
		return "application/x-amz-json-1.0"
	case "sns", "sts":
		return "text/xml"
	}
	return "application/json"
}

// restRoutes are the REST operations of AWS Backup and EFS, from the API
// references ("Request Syntax" of each operation).
var restRoutes = []struct {
	service, method, pattern, op string
}{
	{"backup", "GET", "account-settings", "DescribeRegionSettings"},
	{"backup", "PUT", "account-settings", "UpdateRegionSettings"},
	{"backup", "GET", "backup-vaults", "ListBackupVaults"},
	{"backup", "GET", "backup-vaults/*", "DescribeBackupVault"},
	{"backup", "GET", "backup-vaults/*/access-policy", "GetBackupVaultAccessPolicy"},
	{"backup", "GET", "backup-vaults/*/recovery-points/*", "DescribeRecoveryPoint"},
	{"backup", "DELETE", "backup-vaults/*/recovery-points/*", "DeleteRecoveryPoint"},
	{"backup", "GET", "tags/*", "ListTags"},
	{"backup", "PUT", "backup-jobs", "StartBackupJob"},
	{"backup", "GET", "backup-jobs/*", "DescribeBackupJob"},
	{"backup", "PUT", "copy-jobs", "StartCopyJob"},
	{"backup", "GET", "copy-jobs/*", "DescribeCopyJob"},
	{"elasticfilesystem", "GET", "2015-02-01/file-systems", "DescribeFileSystems"},
	{"elasticfilesystem", "GET", "2015-02-01/mount-targets", "DescribeMountTargets"},
	{"elasticfilesystem", "GET", "2015-02-01/mount-targets/*/security-groups", "DescribeMountTargetSecurityGroups"},
}

func operation(c call) string {
	if t := c.Header.Get("X-Amz-Target"); t != "" {
		return t[strings.LastIndex(t, ".")+1:]
	}
	if c.Form != nil {
		return c.Form.Get("Action")
	}
	segs := c.Segments
	if len(segs) == 1 && segs[0] == "" {
		segs = nil
	}
	for _, r := range restRoutes {
		if r.service != c.Service || r.method != c.Method {
			continue
		}
		pat := strings.Split(r.pattern, "/")
		if len(pat) != len(segs) {
			continue
		}
		match := true
		for i := range pat {
			if pat[i] != "*" && pat[i] != segs[i] {
				match = false
			}
		}
		if match {
			return r.op
		}
	}
	return "UNKNOWN(" + c.Method + " " + c.Path + ")"
}

// Error replies in each protocol's shape.

// restError is an AWS Backup error: the body of the API model (and of the
// SDK's error snapshots), with the X-Amzn-ErrorType header real AWS sends.
func restError(status int, code, msg string) reply {
	return reply{
		Status: status,
		Header: map[string]string{"X-Amzn-Errortype": code + ":http://internal.amazon.com/coral/com.amazonaws.backup/"},
		Body:   fmt.Sprintf(`{"__type":%q,"Code":%q,"Message":%q,"Type":"User","Context":""}`, code, code, msg),
	}
}

// jsonError is an awsJson (Organizations, SQS) error.
func jsonError(status int, code, msg string) reply {
	return reply{Status: status, Body: fmt.Sprintf(`{"__type":%q,"message":%q}`, code, msg)}
}

// queryError is a query-protocol (SNS, STS) error.
func queryError(status int, code, msg string) reply {
	return reply{Status: status, Body: fmt.Sprintf(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>
  <RequestId>4f1b8e5e-0000-4000-8000-000000000000</RequestId>
</ErrorResponse>`, code, msg)}
}

func xmlReply(body string) reply { return reply{Status: 200, Body: body} }

func assumeRoleXML(exp time.Time) string {
	return fmt.Sprintf(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <SourceIdentity></SourceIdentity>
    <AssumedRoleUser>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:efskeeper-regionrun</AssumedRoleId>
      <Arn>arn:aws:sts::%s:assumed-role/efskeeper-member/efskeeper-regionrun</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, memberAccount, memberKey, memberToken, exp.UTC().Format(time.RFC3339))
}

func callerIdentityXML(account string) string {
	return fmt.Sprintf(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:sts::%s:assumed-role/efskeeper-regionrun/efskeeper-regionrun</Arn>
    <UserId>AROAEXAMPLEID:efskeeper-regionrun</UserId>
    <Account>%s</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`, account, account)
}

// sqsSendReply is SendMessage's answer; the SDK checks the body's MD5.
func sqsSendReply(c call) string {
	var in struct{ MessageBody string }
	json.Unmarshal(c.Body, &in)
	sum := md5.Sum([]byte(in.MessageBody))
	return fmt.Sprintf(`{"MD5OfMessageBody":%q,"MessageId":"5fea7756-0ea4-451a-a703-a558b933e274"}`, hex.EncodeToString(sum[:]))
}

// testCloud builds a Cloud on the fake with the home account's static
// credentials and a tiny backoff.
func testCloud(t *testing.T, f *fakeAWS, mod func(*Config)) *Cloud {
	t.Helper()
	cfg := Config{
		HomeAccount: homeAccount,
		Endpoint:    f.srv.URL,
		Function:    "regionrun",
		MaxBackoff:  time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	base := aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider(homeKey, "home-secret", ""),
		HTTPClient:  f.srv.Client(),
	}
	c, err := New(base, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func bg() context.Context { return context.Background() }
