// Package logging builds the one zap logger a process uses and adapts it to
// the gRPC logging middleware. It is built in main and passed down; there is no
// global logger.
package logging

import (
	"context"
	"fmt"
	"sync"
	"time"

	grpclogging "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"

	"github.com/guildhall/guildhall/internal/requestid"
)

// New returns a JSON logger for production ("json") or a coloured, human
// readable one for a terminal ("console").
func New(format, level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	var cfg zap.Config
	switch format {
	case "json":
		cfg = zap.NewProductionConfig()
		cfg.EncoderConfig.TimeKey = "time"
		cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	case "console":
		cfg = zap.NewDevelopmentConfig()
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
		cfg.EncoderConfig.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		cfg.DisableStacktrace = true
	default:
		return nil, fmt.Errorf("log format %q: want json or console", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	return cfg.Build()
}

// GRPC adapts l to the go-grpc-middleware logging interceptors.
func GRPC(l *zap.Logger) grpclogging.Logger {
	l = l.WithOptions(zap.WithCaller(false))
	return grpclogging.LoggerFunc(func(_ context.Context, lvl grpclogging.Level, msg string, fields ...any) {
		level := zapcore.ErrorLevel
		switch lvl {
		case grpclogging.LevelDebug:
			level = zapcore.DebugLevel
		case grpclogging.LevelInfo:
			level = zapcore.InfoLevel
		case grpclogging.LevelWarn:
			level = zapcore.WarnLevel
		}
		// Fields are built only for lines that will be written, and passed
		// to the line itself rather than to a derived logger per call.
		if !l.Core().Enabled(level) {
			return
		}
		f := make([]zap.Field, 0, len(fields)/2)
		for i := 0; i+1 < len(fields); i += 2 {
			f = append(f, zap.Any(fmt.Sprint(fields[i]), fields[i+1]))
		}
		l.Log(level, msg, f...)
	})
}

// FieldsFromContext puts the request id, the trace and span ids (when the
// call is traced) and the caller on every access-log line.
func FieldsFromContext(ctx context.Context) grpclogging.Fields {
	var f grpclogging.Fields
	if id := requestid.From(ctx); id != "" {
		f = append(f, "request_id", id)
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		f = append(f, "trace_id", sc.TraceID().String(), "span_id", sc.SpanID().String())
	}
	if c := CallerFrom(ctx); c != "" {
		f = append(f, "caller", c)
	}
	return f
}

// With returns l with the request id and trace id of ctx attached, for
// handler logs.
func With(ctx context.Context, l *zap.Logger) *zap.Logger {
	return l.With(Fields(ctx)...)
}

// Fields are the request id and trace and span ids of ctx, as zap fields.
func Fields(ctx context.Context) []zap.Field {
	var f []zap.Field
	if id := requestid.From(ctx); id != "" {
		f = append(f, zap.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		f = append(f, zap.String("trace_id", sc.TraceID().String()), zap.String("span_id", sc.SpanID().String()))
	}
	return f
}

// DurationField is the one way request lines give their duration, gRPC and
// HTTP alike: "duration", in the logger's duration encoding (seconds as a
// float in JSON).
func DurationField(d time.Duration) grpclogging.Fields {
	return grpclogging.Fields{"duration", d}
}

// The caller is known only once authentication has run, deep inside the
// interceptor chain, but the request line is written by an outer layer:
// a slot in the context, made outside and filled inside, carries it out.
type callerKey struct{}

type callerSlot struct {
	mu   sync.Mutex
	name string
}

// WithCallerSlot returns ctx with an empty slot for SetCaller.
func WithCallerSlot(ctx context.Context) context.Context {
	if _, ok := ctx.Value(callerKey{}).(*callerSlot); ok {
		return ctx
	}
	return context.WithValue(ctx, callerKey{}, &callerSlot{})
}

// SetCaller records who is calling ("people/jane", "services/finance",
// "anonymous") for the request line; a no-op without a slot.
func SetCaller(ctx context.Context, name string) {
	if s, ok := ctx.Value(callerKey{}).(*callerSlot); ok {
		s.mu.Lock()
		s.name = name
		s.mu.Unlock()
	}
}

// CallerFrom returns what SetCaller recorded, or "".
func CallerFrom(ctx context.Context) string {
	if s, ok := ctx.Value(callerKey{}).(*callerSlot); ok {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.name
	}
	return ""
}

// CallerSlotUnary adds the caller slot; it runs before the access log.
func CallerSlotUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return h(WithCallerSlot(ctx), req)
	}
}

// CallerSlotStream is the streaming form of CallerSlotUnary.
func CallerSlotStream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		return h(srv, &ctxStream{ServerStream: ss, ctx: WithCallerSlot(ss.Context())})
	}
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
