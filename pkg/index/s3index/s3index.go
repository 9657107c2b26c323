// Package s3index stores indexes in S3: a ranged-GET io.ReaderAt for
// index.Open (so listing one directory fetches a few small ranges, not the
// object) and a multipart uploader for index.Writer.
package s3index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// NewClient makes an S3 client from the environment: AWS_REGION (default
// us-east-1), the usual credential chain, and AWS_ENDPOINT_URL_S3, which
// switches to path-style addressing for S3-compatible servers.
func NewClient(ctx context.Context) (*s3.Client, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		// Checksums only where S3 requires them: S3-compatible servers do
		// not all understand the trailing-checksum upload encoding.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if ep := os.Getenv("AWS_ENDPOINT_URL_S3"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
			o.UsePathStyle = true
		}
	}), nil
}

// ParseURL splits s3://bucket/key; ok is false for anything else.
func ParseURL(u string) (bucket, key string, ok bool) {
	rest, found := strings.CutPrefix(u, "s3://")
	if !found {
		return "", "", false
	}
	bucket, key, found = strings.Cut(rest, "/")
	if !found || bucket == "" || key == "" {
		return "", "", false
	}
	return bucket, key, true
}

// Resolve returns the location of ref relative to an index at loc: a
// relative ref is a sibling key (or file) of loc.
func Resolve(loc, ref string) string {
	if strings.HasPrefix(ref, "s3://") || strings.HasPrefix(ref, "/") {
		return ref
	}
	if b, k, ok := ParseURL(loc); ok {
		return "s3://" + b + "/" + path.Join(path.Dir(k), ref)
	}
	return path.Join(path.Dir(loc), ref)
}

// DefaultTailSize is how many bytes Open fetches from the end of an object
// with its first request: the trailer and, usually, the whole footer.
const DefaultTailSize = 32 << 10

// Object is an io.ReaderAt over one S3 object.
type Object struct {
	ctx    context.Context
	client *s3.Client
	bucket string
	key    string
	size   int64

	mu      sync.Mutex
	tail    []byte
	tailOff int64
}

// Open fetches the last tailSize bytes of an object (0: DefaultTailSize)
// with one suffix-range GET, which also tells the object's size; reads that
// fall inside them cost no further request.
func Open(ctx context.Context, client *s3.Client, bucket, key string, tailSize int) (*Object, error) {
	if tailSize <= 0 {
		tailSize = DefaultTailSize
	}
	o := &Object{ctx: ctx, client: client, bucket: bucket, key: key}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, Range: aws.String(fmt.Sprintf("bytes=-%d", tailSize))})
	var ae smithy.APIError
	if err != nil && errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange" {
		// Some servers refuse a suffix longer than the object.
		out, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	}
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	o.tail, err = io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	o.size = int64(len(o.tail))
	if cr := aws.ToString(out.ContentRange); cr != "" {
		var start, end, total int64
		if _, err := fmt.Sscanf(cr, "bytes %d-%d/%d", &start, &end, &total); err != nil {
			return nil, fmt.Errorf("read s3://%s/%s: bad Content-Range %q", bucket, key, cr)
		}
		o.size = total
	}
	o.tailOff = o.size - int64(len(o.tail))
	return o, nil
}

// Size is the object's length.
func (o *Object) Size() int64 { return o.size }

// ReadAt implements io.ReaderAt with one ranged GET per call outside the
// cached tail.
func (o *Object) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read s3://%s/%s: negative offset", o.bucket, o.key)
	}
	if off >= o.size {
		return 0, io.EOF
	}
	want := len(p)
	if off+int64(want) > o.size {
		p = p[:o.size-off]
	}
	if off >= o.tailOff {
		n := copy(p, o.tail[off-o.tailOff:])
		if n < want {
			return n, io.EOF
		}
		return n, nil
	}
	out, err := o.client.GetObject(o.ctx, &s3.GetObjectInput{
		Bucket: &o.bucket, Key: &o.key,
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+int64(len(p))-1)),
	})
	if err != nil {
		return 0, fmt.Errorf("read s3://%s/%s at %d: %w", o.bucket, o.key, off, err)
	}
	defer out.Body.Close()
	n, err := io.ReadFull(out.Body, p)
	if err != nil {
		return n, fmt.Errorf("read s3://%s/%s at %d: %w", o.bucket, o.key, off, err)
	}
	if n < want {
		return n, io.EOF
	}
	return n, nil
}

// PartSize is the multipart upload part size; indexes above it are
// uploaded in parts, streaming.
const PartSize = 16 << 20

// Writer streams an upload: what is written goes to S3 in parts as it comes.
type Writer struct {
	pw   *io.PipeWriter
	done chan error
	url  string
}

// NewWriter starts a streaming multipart upload to bucket/key. Close
// finishes it; the object exists only after Close returns nil.
func NewWriter(ctx context.Context, client *s3.Client, bucket, key string) *Writer {
	pr, pw := io.Pipe()
	w := &Writer{pw: pw, done: make(chan error, 1), url: "s3://" + bucket + "/" + key}
	up := manager.NewUploader(client, func(u *manager.Uploader) { u.PartSize = PartSize; u.Concurrency = 2 })
	go func() {
		_, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: pr})
		pr.CloseWithError(err) // unblock a writer if the upload failed
		w.done <- err
	}()
	return w
}

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) { return w.pw.Write(p) }

// Close completes the upload.
func (w *Writer) Close() error {
	w.pw.Close()
	if err := <-w.done; err != nil {
		return fmt.Errorf("upload %s: %w", w.url, err)
	}
	return nil
}

// Abort cancels the upload (nothing is stored).
func (w *Writer) Abort(err error) {
	w.pw.CloseWithError(err)
	<-w.done
}
