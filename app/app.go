package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"github.com/fullstorydev/grpchan"
	"github.com/fullstorydev/grpchan/inprocgrpc"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/guildhall/guildhall/gateway"
	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/clientip"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/grpcserver"
	"github.com/guildhall/guildhall/internal/idempotency"
	"github.com/guildhall/guildhall/internal/job"
	"github.com/guildhall/guildhall/internal/mail"
	"github.com/guildhall/guildhall/internal/netlimit"
	"github.com/guildhall/guildhall/internal/outbox"
	"github.com/guildhall/guildhall/internal/requestid"
	"github.com/guildhall/guildhall/internal/service"
	"github.com/guildhall/guildhall/internal/telemetry"
	"github.com/guildhall/guildhall/services/transparency"
)

// App is one process: some services, maybe the gateway, and the metrics endpoint.
type App struct {
	cfg      *config.Config
	log      *zap.Logger
	now      func() time.Time
	registry *prometheus.Registry
	closers  []func()
	runners  []runner
	// jobs runs the background work of every part, after the servers stop.
	jobs *job.Runner
	// services are the services this binary knows (Services(); tests swap one).
	services []service.Descriptor

	// local serves the services of this process (WithServices) to its
	// gateway in-process; localNames lists them.
	local      *grpcserver.Server
	localNames []string

	tel           *telemetry.Telemetry
	validator     protovalidate.Validator // nil: WithServices makes one
	pools         *database.PoolCollector
	backlog       *outbox.BacklogCollector
	clientMetrics *grpcprom.ClientMetrics
	mailMetrics   *mail.Metrics
}

// runner is a long-running server: serve blocks until stop is called.
type runner struct {
	name  string
	serve func() error
	stop  func(context.Context)
}

// New returns an App with its metrics registry; add parts with the With
// methods. now is the clock (time.Now outside tests).
func New(cfg *config.Config, log *zap.Logger, now func() time.Time) *App {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &App{cfg: cfg, log: log, now: now, registry: reg, services: Services(), tel: telemetry.Off(),
		pools: database.NewPoolCollector(), backlog: outbox.NewBacklogCollector(),
		clientMetrics: grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram()),
		jobs:          job.NewRunner(log.Named("jobs"), reg),
		mailMetrics:   mail.NewMetrics(reg),
	}
	reg.MustRegister(a.pools, a.backlog, a.clientMetrics)
	return a
}

// SetValidator has the services check requests with v instead of a
// validator of their own. A validator compiles each message's rules once,
// on first use, so processes that start many Apps (tests) share one.
func (a *App) SetValidator(v protovalidate.Validator) { a.validator = v }

// SetTelemetry traces what the app serves and calls with t; call it before
// adding parts. The caller shuts t down after Run.
func (a *App) SetTelemetry(t *telemetry.Telemetry) { a.tel = t }

// Registry is the app's Prometheus registry, served by WithMetrics.
func (a *App) Registry() *prometheus.Registry { return a.registry }

// Migrate applies the migrations of the named services.
func Migrate(ctx context.Context, cfg *config.Config, log *zap.Logger, names []string) error {
	ensured := map[string]bool{} // services often share a database (dev does)
	for _, name := range names {
		svc, ok := Lookup(name)
		if !ok {
			return fmt.Errorf("unknown service %q", name)
		}
		url := cfg.Service[name].DatabaseURL
		if !ensured[url] {
			if err := database.EnsureDatabase(ctx, url); err != nil {
				return err
			}
			ensured[url] = true
		}
		if err := database.Migrate(ctx, url, name, svc.Migrations, Lines()...); err != nil {
			return err
		}
		log.Info("migrations applied", zap.String("service", name), zap.String("database", database.Redact(url)))
	}
	return nil
}

// WithServices migrates the named services' schemas (unless
// Config.MigrateOnStart is off), opens their pools and serves them all on
// one gRPC listener. The services call those among names in-process and
// dial the others: membership at membershipTarget, the rest where the
// configuration says.
func (a *App) WithServices(ctx context.Context, lis net.Listener, names []string, membershipTarget string) error {
	if a.cfg.MigrateOnStart {
		if err := Migrate(ctx, a.cfg, a.log, names); err != nil {
			return err
		}
	}
	validator := a.validator
	if validator == nil {
		v, err := protovalidate.New()
		if err != nil {
			return err
		}
		validator = v
	}
	// Services call each other with the internal token: in-process for those
	// served here (through the same server interceptors, registered on local
	// below), over a dialled connection for the others.
	local := &inprocgrpc.Channel{}
	if h := a.tel.ClientStatsHandler(); h != nil {
		local.WithClientStatsHandler(h)
	}
	peer := func(name, target string) (grpc.ClientConnInterface, error) {
		if slices.Contains(names, name) {
			return a.internalConn(local), nil
		}
		return a.dial(target, grpc.WithPerRPCCredentials(auth.TokenCredentials(a.cfg.InternalToken)))
	}
	members, err := peer(config.Membership, membershipTarget)
	if err != nil {
		return err
	}
	membershipClient := membershipv1.NewMembershipServiceClient(members)
	roadmapConn, err := peer(config.Roadmap, a.cfg.Service[config.Roadmap].Target)
	if err != nil {
		return err
	}
	roadmapClient := roadmapv1.NewRoadmapServiceClient(roadmapConn)
	// Every service's outbox delivers its events to the events service.
	eventsConn, err := peer(config.Events, a.cfg.Service[config.Events].Target)
	if err != nil {
		return err
	}
	// The outbox of each service carries activity reports to membership and
	// events to the events service, topic by topic.
	drain := outbox.Route(map[string]outbox.Sender{
		activity.Topic: activity.Sender(membershipClient),
		events.Topic:   events.Sender(eventsv1.NewEventServiceClient(eventsConn)),
	})
	// Likewise finance, which roadmap asks for its items' funding.
	financeConn, err := peer(config.Finance, a.cfg.Service[config.Finance].Target)
	if err != nil {
		return err
	}
	financeClient := financev1.NewFinanceServiceClient(financeConn)

	sender, err := mail.NewSender(a.cfg.SMTP, a.log.Named("mail"))
	if err != nil {
		return err
	}
	sender = a.mailMetrics.Wrap(sender)

	var policies []auth.Policy
	var parts []service.Part
	var jobs []job.Job
	var watchDB []watched
	for _, name := range names {
		i := slices.IndexFunc(a.services, func(d service.Descriptor) bool { return d.Name == name })
		if i < 0 {
			return fmt.Errorf("unknown service %q", name)
		}
		svc := a.services[i]
		pool, err := database.Open(ctx, a.cfg.Service[name].DatabaseURL, name,
			database.MaxConns(int32(a.cfg.DBMaxConns)), database.Tracer(a.tel.PgxTracer()))
		if err != nil {
			return err
		}
		a.closers = append(a.closers, pool.Close)
		a.pools.Add(name, pool)
		a.backlog.Add(name, pool)
		part, err := svc.Build(service.Deps{DB: pool, Log: a.log.Named(name), Config: a.cfg, Membership: membershipClient,
			Roadmap: roadmapClient, Finance: financeClient, Mail: sender, Now: a.now, Metrics: a.registry})
		if err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		parts = append(parts, part)
		policies = append(policies, part.Policy())
		jobs = append(jobs, part.Jobs()...)
		jobs = append(jobs, idempotency.PurgeJob(name+".idempotency-purge", pool, a.cfg.IdempotencyRetention, a.now))
		if name != config.Events { // the events service writes its own events to its log directly
			jobs = append(jobs, outbox.Job(name+".outbox", pool, drain, 500*time.Millisecond))
		}
		watchDB = append(watchDB, watched{name, svc.GRPCName, pool})
	}

	authn := auth.NewInternal(a.cfg.InternalToken, auth.NewCache(auth.NewRemote(membershipClient), auth.DefaultTTL, a.now))
	throttle := auth.WithThrottle(auth.NewThrottle(a.cfg.AuthFailuresPerMinute, a.now))
	policy := auth.Merge(policies...)
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	a.registry.MustRegister(metrics)
	srv := grpcserver.New(grpcserver.Options{
		Log: a.log, Metrics: metrics, Validator: validator,
		Unary:            []grpc.UnaryServerInterceptor{auth.UnaryServerInterceptor(policy, authn, throttle)},
		Stream:           []grpc.StreamServerInterceptor{auth.StreamServerInterceptor(policy, authn, throttle)},
		ServerOptions:    a.tel.ServerOptions(),
		Local:            local,
		LocalStats:       a.tel.ServerStatsHandler(),
		ClientIP:         a.clientIP(),
		HandshakeTimeout: a.cfg.ReadTimeout, IdleTimeout: a.cfg.IdleTimeout,
	})
	lis = a.limitConns(lis, nil)
	for _, p := range parts {
		p.Register(srv)
	}
	if err := CheckPolicy(srv.Server, policy); err != nil {
		return err
	}
	metrics.InitializeMetrics(srv.Server)
	srv.MarkServing()
	a.local, a.localNames = srv, names
	for _, w := range watchDB {
		srv.Health.SetServingStatus(gateway.DatabaseHealth(w.grpcName), healthpb.HealthCheckResponse_SERVING)
		jobs = append(jobs, watchDatabase(srv, w, a.log))
	}
	for i, j := range jobs {
		if d, ok := a.cfg.JobIntervals[j.Name]; ok {
			jobs[i].Interval = d
		}
	}
	a.jobs.Add(jobs...)
	a.runners = append(a.runners, runner{
		name: "grpc " + lis.Addr().String(),
		serve: func() error {
			if err := srv.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				return err
			}
			return nil
		},
		stop: srv.Shutdown,
	})
	return nil
}

// WithGateway serves the REST gateway on lis, dialing each service at its
// target, or, for a service WithServices serves in this process, calling it
// in-process: the same interceptors on both sides, without a loopback
// connection, HTTP/2 framing or encoding in between.
func (a *App) WithGateway(ctx context.Context, lis net.Listener, targets map[string]string) error {
	conns := map[string]grpc.ClientConnInterface{}
	for _, name := range config.Services {
		if a.local != nil && slices.Contains(a.localNames, name) {
			conns[name] = a.localConn()
			continue
		}
		conn, err := a.dial(targets[name], gateway.DialOptions()...)
		if err != nil {
			return err
		}
		conns[name] = conn
	}
	h, err := gateway.New(ctx, gateway.Upstreams{
		Membership: conns[config.Membership], Roadmap: conns[config.Roadmap], Finance: conns[config.Finance],
		Events: conns[config.Events],
	}, gateway.Options{
		CORSOrigins: a.cfg.CORSOrigins, MaxBodyBytes: a.cfg.MaxBodyBytes,
		Registerer: a.registry, Telemetry: a.tel,
		GatewaySecret: a.cfg.InternalToken,
		// The report asks the services over the gateway's own connections,
		// which carry no token: it is the anonymous view.
		Transparency: transparency.New(transparency.Options{
			Roadmap: conns[config.Roadmap], Membership: conns[config.Membership], Finance: conns[config.Finance],
			Log: a.log.Named("transparency"), Now: a.now, TTL: a.cfg.TransparencyCacheTTL,
		}),
		TransparencyMaxAge: a.cfg.TransparencyCacheTTL,
	}, a.log.Named("gateway"))
	if err != nil {
		return err
	}
	a.withHTTP("gateway", a.limitConns(lis, netlimit.HTTPRefusal), h)
	return nil
}

// clientIP finds clients behind the configured proxies and the gateway.
func (a *App) clientIP() *clientip.Resolver {
	return clientip.New(a.cfg.TrustedProxies, a.cfg.InternalToken)
}

// limitConns caps the connections on a serving listener, in all and per
// client address (trusted proxies, which carry many clients, excepted).
func (a *App) limitConns(lis net.Listener, refusal []byte) net.Listener {
	return netlimit.Listener(lis, netlimit.Limits{
		Max: int(a.cfg.MaxConns), PerClient: int(a.cfg.MaxConnsPerClient),
		Exempt: a.clientIP().Trusted, Refusal: refusal,
	})
}

// CheckPolicy refuses a server with a registered method that has no access
// rule: such a method would answer PERMISSION_DENIED to everyone, so a
// forgotten rule is a start-up error, not a quiet outage. Health and
// reflection are open to all and need no rule.
func CheckPolicy(srv *grpc.Server, policy auth.Policy) error {
	var missing []string
	registered := map[string]bool{}
	for name, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + name + "/" + m.Name
			registered[full] = true
			if _, ok := policy[full]; !ok && !auth.Open(full) {
				missing = append(missing, full)
			}
		}
	}
	var stale []string
	for full := range policy {
		if !registered[full] {
			stale = append(stale, full)
		}
	}
	slices.Sort(missing)
	slices.Sort(stale)
	switch {
	case len(missing) > 0:
		return fmt.Errorf("no access rule is declared for %s: add one to the service's Policy", strings.Join(missing, ", "))
	case len(stale) > 0:
		return fmt.Errorf("access rules name methods that are not served: %s", strings.Join(stale, ", "))
	}
	return nil
}

// localConn is the gateway's channel to the services of this process, with
// the client interceptors a dialled connection has (dial, gateway.DialOptions).
func (a *App) localConn() grpc.ClientConnInterface {
	conn := grpchan.InterceptClientConnUnary(a.local.Local(), a.clientMetrics.UnaryClientInterceptor(), requestid.UnaryClientInterceptor(),
		gateway.UnaryClientInterceptor)
	return grpchan.InterceptClientConnStream(conn, a.clientMetrics.StreamClientInterceptor(), gateway.StreamClientInterceptor,
		grpcserver.LocalStreamInterceptor)
}

// internalConn is a service's channel to the other services of this
// process, with what dial gives a connection between services: client
// metrics, the request id, and the internal token as the caller.
func (a *App) internalConn(local *inprocgrpc.Channel) grpc.ClientConnInterface {
	token := auth.TokenCredentials(a.cfg.InternalToken).Metadata()
	withToken := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(metadata.AppendToOutgoingContext(ctx, token...), method, req, reply, cc, opts...)
	}
	withTokenStream := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(metadata.AppendToOutgoingContext(ctx, token...), desc, cc, method, opts...)
	}
	conn := grpchan.InterceptClientConnUnary(local, a.clientMetrics.UnaryClientInterceptor(), requestid.UnaryClientInterceptor(), withToken)
	return grpchan.InterceptClientConnStream(conn, a.clientMetrics.StreamClientInterceptor(), withTokenStream,
		grpcserver.LocalStreamInterceptor)
}

// dial connects to a Guildhall service; the connection closes with the app.
func (a *App) dial(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts = append([]grpc.DialOption{
		grpc.WithChainUnaryInterceptor(a.clientMetrics.UnaryClientInterceptor(), requestid.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(a.clientMetrics.StreamClientInterceptor()),
	}, append(a.tel.DialOptions(), opts...)...)
	conn, err := Dial(target, opts...)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { _ = conn.Close() })
	return conn, nil
}

// withHTTP adds an HTTP server that drains in-flight requests on stop. A
// client gets ReadTimeout to send a whole request, headers and body, so a
// body trickled a byte at a time cannot hold a connection; there is no
// write timeout, as exports stream for as long as they need.
func (a *App) withHTTP(name string, lis net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h,
		ReadHeaderTimeout: min(10*time.Second, a.cfg.ReadTimeout), ReadTimeout: a.cfg.ReadTimeout,
		IdleTimeout: a.cfg.IdleTimeout}
	a.runners = append(a.runners, runner{
		name: name + " " + lis.Addr().String(),
		serve: func() error {
			if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("%s on %s: %w", name, lis.Addr(), err)
			}
			return nil
		},
		stop: func(ctx context.Context) {
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
			}
		},
	})
}

// WithMetrics serves Prometheus metrics at /metrics on lis.
func (a *App) WithMetrics(lis net.Listener) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	a.withHTTP("metrics", lis, mux)
}

// Run serves until ctx ends, then stops every part in order (gateway first,
// so its in-flight calls can still reach the services), within the grace period.
func (a *App) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, r := range a.runners {
		g.Go(r.serve)
	}
	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		a.jobs.Run(jobsCtx)
	}()
	g.Go(func() error {
		<-gctx.Done()
		a.log.Info("shutting down", zap.Duration("grace", a.cfg.ShutdownGrace))
		stopCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace)
		defer cancel()
		// Reverse order: parts added last (the gateway) are in front.
		for i := len(a.runners) - 1; i >= 0; i-- {
			a.runners[i].stop(stopCtx)
		}
		// Jobs stop last: the requests just drained may have queued work
		// (e.g. outbox rows, which are durable anyway).
		stopJobs()
		<-jobsDone
		return nil
	})
	err := g.Wait()
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	if err == nil {
		a.log.Info("stopped cleanly")
	}
	return err
}

// watched is a service's database, checked by the database-watch job.
type watched struct {
	name     string
	grpcName string
	pool     *pgxpool.Pool
}

// watchDatabase is a job that reports a service NOT_SERVING while its
// database is unreachable. Every replica watches its own connection, so it
// claims nothing.
func watchDatabase(srv *grpcserver.Server, w watched, log *zap.Logger) job.Job {
	var last *bool
	return job.Job{Name: w.name + ".database-watch", Interval: 5 * time.Second, Pass: func(ctx context.Context) (bool, error) {
		pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := w.pool.Ping(pingCtx)
		cancel()
		if ctx.Err() != nil {
			return false, nil
		}
		ok := err == nil
		if last != nil && *last == ok {
			return false, nil
		}
		last = &ok
		st := healthpb.HealthCheckResponse_SERVING
		if !ok {
			st = healthpb.HealthCheckResponse_NOT_SERVING
			log.Error("database unreachable", zap.String("service", w.grpcName), zap.Error(err))
		}
		srv.Health.SetServingStatus(w.grpcName, st)
		srv.Health.SetServingStatus(gateway.DatabaseHealth(w.grpcName), st)
		return false, nil
	}}
}
