// Package logging builds the one zap logger a process uses and adapts it to
// the gRPC logging middleware. It is built in main and passed down; there is no
// global logger.
package logging

import (
	"context"
	"fmt"

	grpclogging "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

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

// FieldsFromContext puts the request id on every access-log line.
func FieldsFromContext(ctx context.Context) grpclogging.Fields {
	if id := requestid.From(ctx); id != "" {
		return grpclogging.Fields{"request_id", id}
	}
	return nil
}

// With returns l with the request id of ctx attached, for handler logs.
func With(ctx context.Context, l *zap.Logger) *zap.Logger {
	if id := requestid.From(ctx); id != "" {
		return l.With(zap.String("request_id", id))
	}
	return l
}
