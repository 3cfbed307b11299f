// Package gateway is the REST/JSON face of Guildhall: grpc-gateway over real
// gRPC connections to the services (so their interceptors — validation, auth,
// logging — always run), plus health, the OpenAPI document, CORS, request ids
// and body limits. It holds no state and must not import the services.
package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/klauspost/compress/gzhttp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/cors"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"

	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	transparencyv1 "github.com/guildhall/guildhall/gen/go/guildhall/transparency/v1"
	"github.com/guildhall/guildhall/gen/openapi"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/clientip"
	"github.com/guildhall/guildhall/internal/requestid"
	"github.com/guildhall/guildhall/internal/telemetry"
	"github.com/guildhall/guildhall/third_party/swaggerui"
	"github.com/guildhall/guildhall/web/board"
)

// Upstreams are the gRPC connections to each service: dialled
// connections, or in-process channels to services in the same process.
type Upstreams struct {
	Membership, Roadmap, Finance, Events grpc.ClientConnInterface
}

// Options configures the gateway.
type Options struct {
	CORSOrigins  []string
	MaxBodyBytes int64
	// Registerer, if set, receives the REST request metrics.
	Registerer prometheus.Registerer
	// Telemetry traces requests; nil is tracing off.
	Telemetry *telemetry.Telemetry
	// GatewaySecret, if set, is sent to the services with every call
	// (clientip.GatewayKey), so they believe the X-Forwarded-For the
	// gateway builds: the client's header plus the peer it saw.
	GatewaySecret string
	// Transparency, if set, serves GET /v1/transparencyReport in this
	// process; its answers may be cached by clients for TransparencyMaxAge.
	Transparency       transparencyv1.TransparencyServiceServer
	TransparencyMaxAge time.Duration
}

// queryParser sets grpc-gateway's query parameter parser, which is a
// package variable of its runtime, not a setting of one mux: set once, so
// gateways built side by side (tests) don't race on it.
var queryParser sync.Once

// New returns the gateway's HTTP handler.
func New(ctx context.Context, up Upstreams, o Options, log *zap.Logger) (http.Handler, error) {
	queryParser.Do(func() { runtime.NewServeMux(runtime.SetQueryParameterParser(strictQuery{})) })
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, Marshaler()),
		runtime.WithErrorHandler(errorHandler(o.MaxBodyBytes)),
		runtime.WithRoutingErrorHandler(routingError),
		runtime.WithStreamErrorHandler(streamError),
		runtime.WithMiddlewares(noQueryRoutes(
			membershipv1.File_guildhall_membership_v1_membership_service_proto,
			roadmapv1.File_guildhall_roadmap_v1_roadmap_service_proto,
			financev1.File_guildhall_finance_v1_finance_service_proto,
			eventsv1.File_guildhall_events_v1_events_service_proto,
			transparencyv1.File_guildhall_transparency_v1_transparency_service_proto)),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		// Services echo x-request-id; the middleware already set the header.
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithMiddlewares(routeMiddleware, forwardedFor),
		runtime.WithMetadata(func(context.Context, *http.Request) metadata.MD {
			if o.GatewaySecret == "" {
				return nil
			}
			return metadata.Pairs(clientip.GatewayKey, o.GatewaySecret)
		}),
	)
	regs := []struct {
		name, service string
		register      func() error
		conn          grpc.ClientConnInterface
	}{
		{"membership", membershipv1.MembershipService_ServiceDesc.ServiceName, func() error {
			return membershipv1.RegisterMembershipServiceHandlerClient(ctx, mux, membershipv1.NewMembershipServiceClient(up.Membership))
		}, up.Membership},
		{"roadmap", roadmapv1.RoadmapService_ServiceDesc.ServiceName, func() error {
			return roadmapv1.RegisterRoadmapServiceHandlerClient(ctx, mux, roadmapv1.NewRoadmapServiceClient(up.Roadmap))
		}, up.Roadmap},
		{"finance", financev1.FinanceService_ServiceDesc.ServiceName, func() error {
			return financev1.RegisterFinanceServiceHandlerClient(ctx, mux, financev1.NewFinanceServiceClient(up.Finance))
		}, up.Finance},
		{"events", eventsv1.EventService_ServiceDesc.ServiceName, func() error {
			return eventsv1.RegisterEventServiceHandlerClient(ctx, mux, eventsv1.NewEventServiceClient(up.Events))
		}, up.Events},
	}
	ready := readiness{}
	for _, r := range regs {
		if err := r.register(); err != nil {
			return nil, fmt.Errorf("register %s routes: %w", r.name, err)
		}
		ready = append(ready, upstream{name: r.name, service: r.service, health: healthpb.NewHealthClient(r.conn)})
	}

	if o.Transparency != nil {
		// The report is assembled here from the services' answers (package
		// transparency); it has no gRPC server of its own to dial.
		if err := transparencyv1.RegisterTransparencyServiceHandlerServer(ctx, mux, o.Transparency); err != nil {
			return nil, fmt.Errorf("register transparency routes: %w", err)
		}
	}

	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "SERVING"})
	})
	root.Handle("GET /readyz", ready)
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(openapi.JSON)
	})
	docs := http.StripPrefix("/docs", swaggerui.Handler("/openapi.json"))
	root.Handle("GET /docs", http.RedirectHandler("/docs/", http.StatusMovedPermanently))
	root.Handle("GET /docs/", docs)
	// The reference board is the landing page: "/" leads to it.
	root.Handle("GET /{$}", http.RedirectHandler(board.Path, http.StatusFound))
	root.Handle("GET /board", http.RedirectHandler(board.Path, http.StatusMovedPermanently))
	// Every method, so that a POST gets the board's 405 rather than the API's 404.
	root.Handle(board.Path, http.StripPrefix(strings.TrimSuffix(board.Path, "/"), board.Handler()))
	root.Handle("/", retryAfter(limitBody(publicCache(transparencyPath, o.TransparencyMaxAge, conditional(mux)), o.MaxBodyBytes)))

	corsOpts := cors.Options{
		AllowedOrigins: o.CORSOrigins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type", requestid.Header,
			"If-Match", "If-None-Match", idempotencyKeyHeader},
		ExposedHeaders:   []string{requestid.Header, "ETag", "Retry-After", "WWW-Authenticate"},
		AllowCredentials: false,
		MaxAge:           600,
	}
	if len(o.CORSOrigins) == 0 {
		// rs/cors reads an empty list as "every origin"; ours means none.
		corsOpts.AllowOriginFunc = func(string) bool { return false }
	}
	c := cors.New(corsOpts)
	metrics, err := newHTTPMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	h := observe(c.Handler(challenges(compress(recordPattern(root)))), log, metrics)
	return o.Telemetry.HTTP(withRequestID(traceResponse(h)), "/healthz", "/readyz"), nil
}

// Marshaler is the one JSON shape of the API: camelCase names, enums as
// strings, every field present (as in the OpenAPI document), unknown fields
// and trailing content rejected so typos are not silently dropped.
func Marshaler() runtime.Marshaler {
	return &runtime.HTTPBodyMarshaler{Marshaler: &strictJSON{JSONPb: runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true, UseProtoNames: false},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}}
}

// idempotencyKeyHeader is the IETF Idempotency-Key header; the services read
// it as the request's request_id (see grpcserver).
const idempotencyKeyHeader = "Idempotency-Key"

// compress gzips answers for clients that accept it (klauspost's gzhttp:
// it skips small bodies and keeps streaming answers flushing).
func compress(h http.Handler) http.Handler {
	wrap, err := gzhttp.NewWrapper()
	if err != nil {
		return h
	}
	return wrap(h)
}

// incomingHeader forwards the request id and the standard headers (including
// Authorization) to the services.
func incomingHeader(key string) (string, bool) {
	switch http.CanonicalHeaderKey(key) {
	case requestid.Header:
		return requestid.MetadataKey, true
	case idempotencyKeyHeader:
		return "idempotency-key", true
	}
	h, ok := runtime.DefaultHeaderMatcher(key)
	if strings.EqualFold(h, clientip.GatewayKey) || strings.EqualFold(h, "forwarded") {
		return "", false // only the gateway itself may say these
	}
	return h, ok
}

// forwardedFor passes RFC 7239 Forwarded hops on as X-Forwarded-For, the
// one header grpc-gateway forwards (appending the peer); which hops are
// believed is the services' decision (internal/clientip).
func forwardedFor(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if r.Header.Get("X-Forwarded-For") == "" && r.Header.Get("Forwarded") != "" {
			if hops := clientip.Hops(r.Header.Values); len(hops) > 0 {
				r.Header.Set("X-Forwarded-For", strings.Join(hops, ", "))
			}
		}
		next(w, r, params)
	}
}

// limitBody caps request bodies (a body over the limit is a 413) and refuses
// paths and query parameters that are not UTF-8, which protobuf strings
// cannot carry to the services.
func limitBody(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeStatus(w, r, bodyTooLarge(max))
			return
		}
		if field := nonUTF8(r); field != "" {
			writeStatus(w, r, apierr.InvalidField(field, "not valid UTF-8").GRPCStatus())
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// nonUTF8 names the first part of r's URL that is not valid UTF-8, or "".
func nonUTF8(r *http.Request) string {
	if !utf8.ValidString(r.URL.Path) {
		return "path"
	}
	for k, vs := range r.URL.Query() {
		if !utf8.ValidString(k) {
			return "query"
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return k
			}
		}
	}
	return ""
}

func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestid.Sanitize(r.Header.Get(requestid.Header))
		r.Header.Set(requestid.Header, id)
		w.Header().Set(requestid.Header, id)
		next.ServeHTTP(w, r.WithContext(requestid.With(r.Context(), id)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
