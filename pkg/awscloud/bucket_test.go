package awscloud

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/s3index/s3test"
)

// testBucket is a Bucket on an in-process S3 server (gofakes3).
func testBucket(t *testing.T) *Bucket {
	t.Helper()
	srv, err := s3test.New(indexBucket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cl := s3.New(s3.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	return NewBucket(cl, indexBucket)
}

func writeIndex(t *testing.T, b *Bucket, key string, meta index.Meta, paths ...string) {
	t.Helper()
	err := b.Upload(bg(), key, func(w io.Writer) error {
		iw, err := index.NewWriter(w, index.WriterOptions{Meta: meta})
		if err != nil {
			return err
		}
		for _, p := range paths {
			if err := iw.Add(&index.Entry{Path: p, Type: index.TypeFile, Size: 1}); err != nil {
				return err
			}
		}
		return iw.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBucketIndexInfo(t *testing.T) {
	b := testBucket(t)
	key := "indexes/111122223333/us-east-1/fs-0123456789abcdef0/rp1.idx"
	meta := index.Meta{FileSystemID: "fs-0123456789abcdef0", RestorePointARN: sampleRP, IndexCreated: time.Unix(1, 0)}
	writeIndex(t, b, key, meta, "a", "b", "c")
	sum, err := b.IndexInfo(bg(), key)
	if err != nil {
		t.Fatal(err)
	}
	if sum.FileSystemID != meta.FileSystemID || sum.RecoveryPointArn != sampleRP || sum.Entries != 3 || sum.Bytes == 0 || sum.BaseKey != "" {
		t.Errorf("summary %+v", sum)
	}

	_, err = b.IndexInfo(bg(), "indexes/none.idx")
	if engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("missing index: %v (code %s), want ENOTFOUND", err, engine.ErrorCode(err))
	}
	if err := b.Put(bg(), "indexes/junk.idx", bytes.Repeat([]byte("x"), 100)); err != nil {
		t.Fatal(err)
	}
	_, err = b.IndexInfo(bg(), "indexes/junk.idx")
	if engine.ErrorCode(err) != engine.EINVALID || !errors.Is(err, index.ErrCorrupt) {
		t.Errorf("damaged index: %v (code %s), want EINVALID wrapping ErrCorrupt", err, engine.ErrorCode(err))
	}
}

func TestBucketUploadAbortsOnWriteError(t *testing.T) {
	b := testBucket(t)
	boom := errors.New("walk failed")
	err := b.Upload(bg(), "indexes/half.idx", func(w io.Writer) error {
		if _, err := w.Write([]byte("partial")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Upload = %v, want the write's error", err)
	}
	if _, _, err := b.Open(bg(), "indexes/half.idx"); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("a failed upload left an object behind: %v", err)
	}
	if _, err := b.Get(bg(), "results/none.json"); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("Get of a missing object: %v", err)
	}
	if err := b.Put(bg(), "results/big.json", bytes.Repeat([]byte("x"), engine.MaxResultBytes+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(bg(), "results/big.json"); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("Get of an oversized result: %v, want EINVALID", err)
	}
}

func TestBucketDeleteIndex(t *testing.T) {
	b := testBucket(t)
	key := "indexes/111122223333/us-east-1/fs-0123456789abcdef0/rp1.idx"
	keep := "indexes/111122223333/us-east-1/fs-0123456789abcdef0/rp2.idx"
	meta := index.Meta{FileSystemID: "fs-0123456789abcdef0", RestorePointARN: sampleRP, IndexCreated: time.Unix(1, 0)}
	writeIndex(t, b, key, meta, "a")
	writeIndex(t, b, keep, meta, "a")
	if err := b.DeleteIndex(bg(), key); err != nil {
		t.Fatal(err)
	}
	if _, err := b.IndexInfo(bg(), key); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("deleted index still reads: %v", err)
	}
	if _, err := b.IndexInfo(bg(), keep); err != nil {
		t.Errorf("deleting one index touched another: %v", err)
	}
	// Deleting again (a retried Prune) is no error, as S3 answers 204.
	if err := b.DeleteIndex(bg(), key); err != nil {
		t.Errorf("deleting an absent index: %v", err)
	}
	// Results and anything outside indexes/ are never deleted through it.
	if err := b.Put(bg(), "results/ix-1.json", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"results/ix-1.json", "indexes/111122223333/us-east-1/fs-0123456789abcdef0/rp2.json", "other/x.idx"} {
		if err := b.DeleteIndex(bg(), k); engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("DeleteIndex(%q) = %v, want EINVALID", k, err)
		}
	}
	if _, err := b.Get(bg(), "results/ix-1.json"); err != nil {
		t.Errorf("a refused delete removed the object: %v", err)
	}
}
