// Package telemetry sets up OpenTelemetry tracing for one process: spans at
// the edges (REST in, gRPC in and out) and at the driver (every SQL
// statement), linked by W3C trace context. Tracing is on only when an OTLP
// endpoint is configured with the standard OTEL_* variables; otherwise no
// instrumentation is installed at all, so it costs nothing.
//
// It must not import the services or the gateway: they take what it builds.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/stats"
)

// Telemetry is a process's tracing setup. The zero value, and a nil
// *Telemetry, is tracing off.
type Telemetry struct {
	tp       trace.TracerProvider
	shutdown func(context.Context) error
}

// Off is tracing switched off: no handlers, no tracer, no cost.
func Off() *Telemetry { return &Telemetry{} }

// WithProvider traces to tp (tests give an SDK provider with an in-memory
// exporter); the caller shuts tp down.
func WithProvider(tp trace.TracerProvider) *Telemetry { return &Telemetry{tp: tp} }

// FromEnv turns tracing on when the OpenTelemetry environment asks for OTLP
// export: OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// set, or OTEL_TRACES_EXPORTER=otlp. OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none keep it off. The protocol is
// OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL: "http/protobuf" (the spec's default)
// or "grpc". The exporters read the other OTEL_EXPORTER_OTLP_* variables
// (headers, timeout, certificates) themselves, and the SDK reads
// OTEL_TRACES_SAMPLER* and OTEL_RESOURCE_ATTRIBUTES; OTEL_SERVICE_NAME
// overrides service, which is "guildhall-<part>".
func FromEnv(ctx context.Context, service, version string, getenv func(string) string) (*Telemetry, error) {
	if !wanted(getenv) {
		return Off(), nil
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch protocol {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is not http/protobuf or grpc", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	// Later detectors win, so OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override the defaults given here.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(service), semconv.ServiceVersion(version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("otel resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Telemetry{tp: tp, shutdown: tp.Shutdown}, nil
}

func wanted(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch strings.ToLower(getenv("OTEL_TRACES_EXPORTER")) {
	case "none":
		return false
	case "otlp":
		return true
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Enabled reports whether spans are recorded.
func (t *Telemetry) Enabled() bool { return t != nil && t.tp != nil }

// Shutdown flushes spans not yet exported; ctx bounds the wait.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil || t.shutdown == nil {
		return nil
	}
	return t.shutdown(ctx)
}

// Propagator is W3C trace context, in and out, whatever the global
// propagator is: Guildhall never reads OpenTelemetry globals.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// notHealth keeps probes, which arrive every few seconds, out of traces.
var notHealth = filters.Not(filters.ServiceName(healthpb.Health_ServiceDesc.ServiceName))

func (t *Telemetry) grpcOptions() []otelgrpc.Option {
	return []otelgrpc.Option{
		otelgrpc.WithTracerProvider(t.tp),
		otelgrpc.WithPropagators(Propagator),
		// Metrics come from Prometheus (go-grpc-middleware); none here.
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelgrpc.WithFilter(notHealth),
	}
}

// ServerOptions instrument a gRPC server: a server span per call, continuing
// the caller's trace. None when tracing is off.
func (t *Telemetry) ServerOptions() []grpc.ServerOption {
	if !t.Enabled() {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(t.grpcOptions()...))}
}

// DialOptions instrument a gRPC client: a client span per call and
// traceparent in the outgoing metadata. None when tracing is off.
func (t *Telemetry) DialOptions() []grpc.DialOption {
	if !t.Enabled() {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(t.grpcOptions()...))}
}

// ServerStatsHandler and ClientStatsHandler are ServerOptions' and
// DialOptions' handlers, for in-process channels; nil when tracing is off.
func (t *Telemetry) ServerStatsHandler() stats.Handler {
	if !t.Enabled() {
		return nil
	}
	return otelgrpc.NewServerHandler(t.grpcOptions()...)
}

// ClientStatsHandler: see ServerStatsHandler.
func (t *Telemetry) ClientStatsHandler() stats.Handler {
	if !t.Enabled() {
		return nil
	}
	return otelgrpc.NewClientHandler(t.grpcOptions()...)
}

// HTTP wraps a REST handler: a server span per request, continuing the
// caller's traceparent. skip names paths not traced (probes). h unchanged
// when tracing is off.
func (t *Telemetry) HTTP(h http.Handler, skip ...string) http.Handler {
	if !t.Enabled() {
		return h
	}
	return otelhttp.NewHandler(h, "http",
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(Propagator),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithFilter(func(r *http.Request) bool {
			for _, p := range skip {
				if r.URL.Path == p {
					return false
				}
			}
			return true
		}),
		// Renamed to the route template once routing has found it.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	)
}

// PgxTracer traces SQL statements (and pool acquires); nil when off, which
// pgx reads as no tracer. Statement text is recorded, arguments are not.
func (t *Telemetry) PgxTracer() pgx.QueryTracer {
	if !t.Enabled() {
		return nil
	}
	return otelpgx.NewTracer(
		otelpgx.WithTracerProvider(t.tp),
		otelpgx.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelpgx.WithTrimSQLInSpanName(),
	)
}
