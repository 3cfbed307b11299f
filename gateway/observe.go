package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/logging"
)

// unmatched labels requests no route took (404s, probes of random paths), so
// scanners cannot grow the metrics' label set.
const unmatched = "unmatched"

// routeSlot carries the route template ("/v1/{name=people/*}") from the
// router, deep inside, back out to the access log, metrics and span name.
type routeKey struct{}

type routeSlot struct {
	mu    sync.Mutex
	route string
}

func withRouteSlot(ctx context.Context) (context.Context, *routeSlot) {
	s := &routeSlot{}
	return context.WithValue(ctx, routeKey{}, s), s
}

func setRoute(ctx context.Context, route string) {
	if s, ok := ctx.Value(routeKey{}).(*routeSlot); ok {
		s.mu.Lock()
		s.route = route
		s.mu.Unlock()
	}
}

func (s *routeSlot) get() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.route == "" {
		return unmatched
	}
	return s.route
}

// routeMiddleware records the template of the REST route grpc-gateway matched.
func routeMiddleware(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			setRoute(r.Context(), p.String())
		}
		next(w, r, params)
	}
}

// recordPattern records the pattern of root's own routes (/healthz,
// /openapi.json, /docs/…); the REST API's catch-all leaves it to routeMiddleware.
func recordPattern(root *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		root.ServeHTTP(w, r)
		if _, pat, ok := strings.Cut(r.Pattern, " "); ok && pat != "/" {
			setRoute(r.Context(), pat)
		}
	})
}

// DialOptions are for the gateway's connections to the services: they read
// the caller the service authenticated (auth.CallerHeader) for the REST
// request line. The header is not forwarded to REST clients.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(UnaryClientInterceptor),
		grpc.WithChainStreamInterceptor(StreamClientInterceptor),
	}
}

// UnaryClientInterceptor is DialOptions' unary interceptor, for channels
// that are not dialled (a service in the same process).
func UnaryClientInterceptor(ctx context.Context, method string, req, reply any,
	cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	var md metadata.MD
	err := invoker(ctx, method, req, reply, cc, append(opts, grpc.Header(&md))...)
	recordCaller(ctx, md)
	return err
}

// StreamClientInterceptor is DialOptions' stream interceptor.
func StreamClientInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return &callerStream{ClientStream: cs, ctx: ctx}, nil
}

func recordCaller(ctx context.Context, md metadata.MD) {
	if v := md.Get(auth.CallerHeader); len(v) > 0 {
		logging.SetCaller(ctx, v[0])
	}
}

// callerStream reads the caller from a stream's header once it has arrived
// (with the first message, or with the status of a stream that has none).
type callerStream struct {
	grpc.ClientStream
	ctx  context.Context
	done bool
}

func (s *callerStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if !s.done {
		s.done = true
		if md, herr := s.ClientStream.Header(); herr == nil {
			recordCaller(s.ctx, md)
		}
	}
	return err
}

// httpMetrics are the REST request metrics, labelled by route template,
// never by raw path (one series per route, not per person or item).
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guildhall_http_requests_total", Help: "REST requests handled by the gateway, by route template.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "guildhall_http_request_duration_seconds", Help: "REST request latency at the gateway, by route template, in seconds.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe is the outer layer of every REST request: the route slot, then
// after the request its access-log line, metrics and span name. The probes
// are neither logged nor traced, but they are counted.
func observe(next http.Handler, log *zap.Logger, m *httpMetrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, slot := withRouteSlot(r.Context())
		ctx = logging.WithCallerSlot(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(ctx))
		elapsed := time.Since(start)
		route := slot.get()
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		m.requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(r.Method, route).Observe(elapsed.Seconds())
		span := trace.SpanFromContext(ctx)
		if span.IsRecording() {
			span.SetName(r.Method + " " + route)
			span.SetAttributes(attribute.String("http.route", route))
		}
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			return
		}
		lvl := zap.InfoLevel
		switch {
		case rec.status >= 500:
			lvl = zap.ErrorLevel
		case rec.status >= 400:
			lvl = zap.WarnLevel
		}
		fields := append(logging.Fields(ctx),
			zap.String("method", r.Method), zap.String("route", route), zap.String("path", r.URL.Path),
			zap.Int("status", rec.status), zap.Int("bytes", rec.bytes),
			zap.Duration("duration", elapsed))
		if c := logging.CallerFrom(ctx); c != "" {
			fields = append(fields, zap.String("caller", c))
		}
		log.Log(lvl, "http request", fields...)
	})
}

// traceResponse tells the client which trace its request joined (the W3C
// Trace Context Level 2 "traceresponse" header), so a report can name it.
func traceResponse(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
			w.Header().Set("Traceresponse", "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-"+sc.TraceFlags().String())
		}
		next.ServeHTTP(w, r)
	})
}
