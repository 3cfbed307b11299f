// Package grpcserver builds the gRPC server every Guildhall service runs on:
// one interceptor chain, health, reflection and metrics, and a graceful stop.
//
// The interceptor chain, outermost first, and why in that order:
//
//  1. metrics      – counts every call, including the ones rejected below;
//  2. request id   – so every later log line can carry it, and a slot that
//     authentication (6) fills with the caller, for (3);
//  3. access log   – one line per call with its final code and duration;
//  4. recovery     – a panic becomes INTERNAL and is still logged by (3);
//  5. error map    – domain errors become statuses with ErrorInfo, which (3)
//     then logs with their real code; internal causes are logged here;
//  6. extra        – e.g. authentication, which needs a mapped error path;
//  7. validation   – protovalidate rules from the protos, as BadRequest (an
//     Idempotency-Key header first fills request_id).
package grpcserver

import (
	"cmp"
	"context"
	"errors"
	"io"
	"runtime/debug"
	"time"

	"buf.build/go/protovalidate"
	"github.com/fullstorydev/grpchan"
	"github.com/fullstorydev/grpchan/inprocgrpc"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	grpclogging "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/clientip"
	"github.com/guildhall/guildhall/internal/listfilter"
	"github.com/guildhall/guildhall/internal/logging"
	"github.com/guildhall/guildhall/internal/requestid"
)

// UnknownFieldViolation is the message logged (at Error: the fault is the
// server's) for a field violation that names no field of the request.
const UnknownFieldViolation = "field violation names no field of the request"

// Options configures New.
type Options struct {
	Log       *zap.Logger
	Metrics   *grpcprom.ServerMetrics
	Validator protovalidate.Validator
	// Unary and Stream run after error mapping and before validation.
	Unary  []grpc.UnaryServerInterceptor
	Stream []grpc.StreamServerInterceptor
	// ServerOptions are added to the server's, e.g. a tracing stats handler.
	ServerOptions []grpc.ServerOption
	// Local, if set, is the in-process channel to register the services on
	// (Server.Local), made before the server so that services built
	// earlier can call each other through it; nil makes one.
	Local *inprocgrpc.Channel
	// LocalStats, if set, sees the calls of the in-process channel (Local)
	// as the ServerOptions' stats handler sees the server's.
	LocalStats stats.Handler
	// ClientIP finds each call's client address (clientip.From); nil
	// trusts no forwarding header.
	ClientIP *clientip.Resolver
	// HandshakeTimeout drops a connection that has not finished the HTTP/2
	// handshake in time (default 10s); IdleTimeout closes one that has
	// carried no call for that long (default 2m).
	HandshakeTimeout, IdleTimeout time.Duration
}

// MaxConcurrentStreams is how many calls one connection may have open at
// once, so one client cannot hold the server with endless slow streams.
const MaxConcurrentStreams = 256

// limits bound what one connection can hold: the handshake and idle
// timeouts, keepalive pings answered at most every 10s (more often is a
// GOAWAY), dead peers noticed within a minute and a half, and
// MaxConcurrentStreams.
func limits(o Options) []grpc.ServerOption {
	handshake, idle := cmp.Or(o.HandshakeTimeout, 10*time.Second), cmp.Or(o.IdleTimeout, 2*time.Minute)
	return []grpc.ServerOption{
		grpc.ConnectionTimeout(handshake),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: idle, Time: time.Minute, Timeout: 20 * time.Second}),
		grpc.MaxConcurrentStreams(MaxConcurrentStreams),
	}
}

// Server is a gRPC server with its health service, and an in-process
// channel to the same services through the same interceptor chain.
type Server struct {
	*grpc.Server
	Health *health.Server
	log    *zap.Logger
	local  *inprocgrpc.Channel
	// localReg registers services on local behind the interceptor chain.
	localReg grpc.ServiceRegistrar
}

// RegisterService registers a service on the server and on its in-process
// channel.
func (s *Server) RegisterService(desc *grpc.ServiceDesc, impl any) {
	s.Server.RegisterService(desc, impl)
	s.localReg.RegisterService(desc, impl)
}

// Local is a channel to the server's services from the same process (the
// gateway's, when it runs with them): each call runs the whole interceptor
// chain (metrics, request id, client address, access log, recovery, error
// mapping, authentication, validation) and the handler, with the caller's
// outgoing metadata as its incoming metadata, but without HTTP/2 framing or
// encoding: messages are copied, not marshalled. Calls on it are not
// drained by Shutdown; callers stop first.
func (s *Server) Local() *inprocgrpc.Channel { return s.local }

// New returns a server with the full interceptor chain, health and
// reflection. Register services on it, then call MarkServing.
func New(o Options) *Server {
	logOpts := []grpclogging.Option{
		grpclogging.WithLogOnEvents(grpclogging.FinishCall),
		grpclogging.WithFieldsFromContext(logging.FieldsFromContext),
		grpclogging.WithLevels(codeToLevel),
		grpclogging.WithDurationField(logging.DurationField),
		grpclogging.WithDisableLoggingFields("protocol", "grpc.component", "grpc.method_type"),
	}
	// Health probes arrive every few seconds; logging them would bury real calls.
	notHealth := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
		return c.Service != healthpb.Health_ServiceDesc.ServiceName
	})
	recoveryOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		logging.With(ctx, o.Log).Error("panic in handler", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
		return errors.New("panic")
	})
	resolver := o.ClientIP
	if resolver == nil {
		resolver = clientip.New(nil, "")
	}
	unary := []grpc.UnaryServerInterceptor{
		o.Metrics.UnaryServerInterceptor(),
		requestid.UnaryServerInterceptor(),
		resolver.UnaryServerInterceptor(),
		logging.CallerSlotUnary(),
		selector.UnaryServerInterceptor(grpclogging.UnaryServerInterceptor(logging.GRPC(o.Log), logOpts...), notHealth),
		recovery.UnaryServerInterceptor(recoveryOpt),
		errorUnary(o.Log),
	}
	unary = append(unary, o.Unary...)
	unary = append(unary, validateUnary(o.Validator))
	stream := []grpc.StreamServerInterceptor{
		o.Metrics.StreamServerInterceptor(),
		requestid.StreamServerInterceptor(),
		resolver.StreamServerInterceptor(),
		logging.CallerSlotStream(),
		selector.StreamServerInterceptor(grpclogging.StreamServerInterceptor(logging.GRPC(o.Log), logOpts...), notHealth),
		recovery.StreamServerInterceptor(recoveryOpt),
		errorStream(o.Log),
	}
	stream = append(stream, o.Stream...)
	stream = append(stream, validateStream(o.Validator))

	opts := append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...)}, limits(o)...)
	opts = append(opts, o.ServerOptions...)
	local := o.Local
	if local == nil {
		local = &inprocgrpc.Channel{}
	}
	if o.LocalStats != nil {
		local.WithServerStatsHandler(o.LocalStats)
	}
	srv := &Server{Server: grpc.NewServer(opts...), Health: health.NewServer(), log: o.Log, local: local,
		localReg: grpchan.WithUnaryInterceptors(grpchan.WithStreamInterceptors(local, stream...), unary...)}
	// Not serving until the owner says the services are ready.
	srv.Health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, srv.Health)
	reflection.Register(srv.Server)
	return srv
}

// MarkServing sets every registered service, and the server as a whole, to SERVING.
func (s *Server) MarkServing() {
	for name := range s.GetServiceInfo() {
		s.Health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	s.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
}

// Shutdown reports NOT_SERVING, lets in-flight calls finish, and forces the
// stop when ctx ends.
func (s *Server) Shutdown(ctx context.Context) {
	s.Health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Warn("grace period over; closing remaining calls")
		s.Stop()
		<-done
	}
}

func codeToLevel(c codes.Code) grpclogging.Level {
	switch {
	case c == codes.OK:
		return grpclogging.LevelInfo
	case apierr.IsServerFault(c):
		return grpclogging.LevelError
	default:
		return grpclogging.LevelWarn
	}
}

func errorUnary(log *zap.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			err = mapError(ctx, log, info.FullMethod, err)
			if m, ok := req.(proto.Message); ok && status.Code(err) == codes.InvalidArgument {
				if bad := unknownViolationFields(ctx, m.ProtoReflect(), status.Convert(err)); len(bad) > 0 {
					logging.With(ctx, log).Error(UnknownFieldViolation, zap.String("grpc.method", info.FullMethod), zap.Strings("fields", bad))
				}
			}
			return nil, err
		}
		return resp, nil
	}
}

func errorStream(log *zap.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := handler(srv, ss); err != nil {
			return mapError(ss.Context(), log, info.FullMethod, err)
		}
		return nil
	}
}

func mapError(ctx context.Context, log *zap.Logger, method string, err error) error {
	st := apierr.ToStatus(err)
	if apierr.IsServerFault(st.Code()) {
		// The caller sees "internal error"; the cause stays in the log.
		logging.With(ctx, log).Error("request failed", zap.String("grpc.method", method), zap.Error(err))
	} else if st.Code() == codes.Unavailable {
		// A dependency is down; the operator needs the cause, the caller a retry.
		logging.With(ctx, log).Warn("dependency unavailable", zap.String("grpc.method", method), zap.Error(err))
	}
	return st.Err()
}

func validateUnary(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := applyIdempotencyKey(ctx, req); err != nil {
			return nil, err
		}
		if msg, ok := req.(proto.Message); ok {
			if err := listfilter.Apply(msg); err != nil {
				return nil, err
			}
		}
		if err := validate(v, req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

func validateStream(v protovalidate.Validator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &validatingStream{ServerStream: ss, v: v})
	}
}

type validatingStream struct {
	grpc.ServerStream
	v protovalidate.Validator
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return validate(s.v, m)
}

// validate turns protovalidate violations, and strings PostgreSQL cannot
// store, into BadRequest field violations.
func validate(v protovalidate.Validator, m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return nil
	}
	out := nulViolations(msg.ProtoReflect())
	err := v.Validate(msg)
	var verr *protovalidate.ValidationError
	amountRange := false
	if errors.As(err, &verr) {
		for _, viol := range verr.Violations {
			out = append(out, apierr.FieldViolation{
				Field:       protovalidate.FieldPathString(viol.Proto.GetField()),
				Description: viol.Proto.GetMessage(),
			})
			amountRange = amountRange || viol.Proto.GetRuleId() == moneyRangeRule
		}
	} else if err != nil {
		return err
	}
	if amountRange {
		return apierr.AmountOutOfRange("invalid request: "+out[0].Field+": "+out[0].Description, out...)
	}
	if len(out) > 0 {
		return apierr.Invalid(out...)
	}
	return nil
}

// moneyRangeRule is the id of the protos' rule bounding an amount (see
// guildhall.type.v1.Money); its violations carry reason AMOUNT_OUT_OF_RANGE.
const moneyRangeRule = "money.range"

// LocalStreamInterceptor is the innermost client stream interceptor of a
// connection over Local. It makes the in-process streams answer as grpc-go's
// do where the generated clients rely on it: for a call whose client sends a
// single message, SendMsg on a stream the server has already ended returns
// nil and the status comes from RecvMsg, rather than io.EOF. Without it a
// server-streaming call refused before its handler reads the request (an
// anonymous ExportTransactions) failed with io.EOF, which the gateway
// answered as 500, instead of with its status.
func LocalStreamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil || desc.ClientStreams {
		return cs, err
	}
	return sendEOFIsNil{cs}, nil
}

type sendEOFIsNil struct{ grpc.ClientStream }

func (s sendEOFIsNil) SendMsg(m any) error {
	if err := s.ClientStream.SendMsg(m); !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
