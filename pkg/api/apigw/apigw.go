// Package apigw serves the admin API (pkg/api) from the api Lambda
// function behind an API Gateway REST API with a proxy integration: it
// turns proxy events into http.Requests and answers into proxy responses,
// and wires the API to AWS from the function's environment.
//
// It is a small adapter of its own rather than aws-lambda-go-api-proxy:
// API Gateway hands the function the decoded path, and session ids hold a
// '#' that the library would take for the start of a fragment.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/engine"
)

type callerKey struct{}

// Handler adapts h to API Gateway REST proxy events. The caller's IAM
// identity (the request was signed, API Gateway checked it) is in the
// request's context for Caller.
func Handler(h http.Handler) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		req, err := Request(ctx, ev)
		if err != nil {
			body, _ := json.Marshal(api.ErrorBody{Code: engine.EINVALID, Message: "the request could not be read: " + err.Error()})
			return events.APIGatewayProxyResponse{StatusCode: http.StatusBadRequest, Headers: map[string]string{"Content-Type": "application/json"},
				Body: string(body)}, nil
		}
		w := &responseWriter{header: http.Header{}}
		h.ServeHTTP(w, req)
		return w.response(), nil
	}
}

// Request builds the http.Request of a proxy event.
func Request(ctx context.Context, ev events.APIGatewayProxyRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, err
		}
		body = b
	}
	path := ev.Path
	if strings.Contains(path, "%") {
		// A still-escaped path: none of the API's ids holds a '%'.
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := &url.URL{Scheme: "https", Host: ev.RequestContext.DomainName, Path: path, RawPath: strings.Join(segs, "/")}
	q := url.Values{}
	for k, vs := range ev.MultiValueQueryStringParameters {
		q[k] = append(q[k], vs...)
	}
	if len(ev.MultiValueQueryStringParameters) == 0 {
		for k, v := range ev.QueryStringParameters {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(context.WithValue(ctx, callerKey{}, caller(ev.RequestContext.Identity)), ev.HTTPMethod, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.URL = u
	req.RequestURI = u.RequestURI()
	for k, vs := range ev.MultiValueHeaders {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if len(ev.MultiValueHeaders) == 0 {
		for k, v := range ev.Headers {
			req.Header.Set(k, v)
		}
	}
	req.Host = u.Host
	req.RemoteAddr = ev.RequestContext.Identity.SourceIP
	return req, nil
}

func caller(id events.APIGatewayRequestIdentity) string {
	if id.UserArn != "" {
		return id.UserArn
	}
	return id.User
}

// Caller returns the IAM ARN of the request's signer, "" outside Lambda.
func Caller(r *http.Request) string {
	s, _ := r.Context().Value(callerKey{}).(string)
	return s
}

// responseWriter collects the answer for the proxy response.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

func (w *responseWriter) response() events.APIGatewayProxyResponse {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	r := events.APIGatewayProxyResponse{StatusCode: w.status, MultiValueHeaders: map[string][]string(w.header)}
	if utf8.Valid(w.body.Bytes()) {
		r.Body = w.body.String()
	} else {
		r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString(w.body.Bytes()), true
	}
	return r
}
