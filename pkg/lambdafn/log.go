package lambdafn

import (
	"context"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// NewLogger returns the functions' logger: JSON lines on w (stdout goes to
// CloudWatch Logs) at env.LogLevel, each carrying the function's name and,
// when logged with the invocation's context, the Lambda request id. The
// engine adds policy, session, account, region and fileSystem.
func NewLogger(w io.Writer, env Env) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: env.LogLevel})
	return slog.New(requestIDHandler{h}).With("function", env.Function)
}

// requestIDHandler adds the Lambda request id of the record's context, so
// that the lines of one invocation can be told from those of the next one
// in the same log stream.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
