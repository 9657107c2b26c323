package awscloud

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/s3index"
)

// Bucket is the index bucket: the worker streams indexes into it and puts
// its result there (it implements the worker's Objects), indexdone reads
// results and checks indexes (engine.IndexObjects).
type Bucket struct {
	client *s3.Client
	name   string
}

var _ engine.IndexObjects = (*Bucket)(nil)

// NewBucket returns the adapter of one bucket on an S3 client (the worker
// makes its client from the instance's credentials).
func NewBucket(client *s3.Client, name string) *Bucket { return &Bucket{client: client, name: name} }

// Bucket returns the adapter of a bucket of the home account in the home
// Region (the index bucket).
func (c *Cloud) Bucket(name string) *Bucket { return NewBucket(c.homeS3(), name) }

// homeS3 is an S3 client with the home account's credentials in the home
// Region. Endpoint (tests) switches to path-style addressing.
func (c *Cloud) homeS3() *s3.Client {
	return s3.NewFromConfig(c.base, func(o *s3.Options) {
		if ep := c.endpoint(); ep != nil {
			o.BaseEndpoint = ep
			o.UsePathStyle = true
		}
	})
}

// Client is the bucket's S3 client (for s3index readers).
func (b *Bucket) Client() *s3.Client { return b.client }

// Name is the bucket's name.
func (b *Bucket) Name() string { return b.name }

func (b *Bucket) url(key string) string { return "s3://" + b.name + "/" + key }

// Get reads a whole small object (a worker's result); objects larger than
// engine.MaxResultBytes are refused.
func (b *Bucket) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	if err != nil {
		return nil, wrap(err, "read %s", b.url(key))
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, engine.MaxResultBytes+1))
	if err != nil {
		return nil, wrap(err, "read %s", b.url(key))
	}
	if len(body) > engine.MaxResultBytes {
		return nil, engine.Errorf(engine.EINVALID, "read %s: larger than %d bytes", b.url(key), engine.MaxResultBytes)
	}
	return body, nil
}

// Put stores a small object.
func (b *Bucket) Put(ctx context.Context, key string, body []byte) error {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.name), Key: aws.String(key),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String("application/json")})
	return wrap(err, "write %s", b.url(key))
}

// Open opens an object for ranged reads.
func (b *Bucket) Open(ctx context.Context, key string) (io.ReaderAt, int64, error) {
	o, err := s3index.Open(ctx, b.client, b.name, key, 0)
	if err != nil {
		return nil, 0, wrap(err, "open %s", b.url(key))
	}
	return o, o.Size(), nil
}

// Upload streams an object with a multipart upload; a failed write aborts
// it, so nothing is left behind.
func (b *Bucket) Upload(ctx context.Context, key string, write func(io.Writer) error) error {
	w := s3index.NewWriter(ctx, b.client, b.name, key)
	if err := write(w); err != nil {
		w.Abort(err)
		return err
	}
	return wrap(w.Close(), "upload %s", b.url(key))
}

// DeleteIndex deletes one index object (DeleteObject, which answers 204
// whether or not the object existed). Only keys under engine.IndexesPrefix
// are deleted: a key elsewhere is a caller's bug, not something to act on.
func (b *Bucket) DeleteIndex(ctx context.Context, key string) error {
	if !strings.HasPrefix(key, engine.IndexesPrefix) || !strings.HasSuffix(key, ".idx") {
		return engine.Errorf(engine.EINVALID, "delete %s: not an index key (%s<...>.idx)", b.url(key), engine.IndexesPrefix)
	}
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	return wrap(err, "delete %s", b.url(key))
}

// IndexInfo opens the index at key (and its base, for a delta) and
// returns what its footer says. A damaged index is EINVALID: reading it
// again will not help.
func (b *Bucket) IndexInfo(ctx context.Context, key string) (engine.IndexSummary, error) {
	loc := b.url(key)
	var baseKey string
	r, size, err := b.Open(ctx, key)
	if err != nil {
		return engine.IndexSummary{}, err
	}
	idx, err := index.Open(r, size, &index.OpenOptions{OpenBase: func(ref string) (io.ReaderAt, int64, error) {
		bucket, k, ok := s3index.ParseURL(s3index.Resolve(loc, ref))
		if !ok || bucket != b.name {
			return nil, 0, fmt.Errorf("base %q is not in %s", ref, b.name)
		}
		baseKey = k
		return b.Open(ctx, k)
	}})
	if errors.Is(err, index.ErrCorrupt) {
		return engine.IndexSummary{}, &engine.Error{Code: engine.EINVALID, Message: "read index " + loc, Err: err}
	}
	if err != nil {
		return engine.IndexSummary{}, wrap(err, "read index %s", loc)
	}
	info := idx.Info()
	return engine.IndexSummary{FileSystemID: info.FileSystemID, RecoveryPointArn: info.RestorePointARN,
		Entries: info.Entries, Records: info.Records, Bytes: info.Size, WalkErrors: info.ErrorCount, BaseKey: baseKey}, nil
}
