// Package apptest starts the whole of Guildhall for a test, as `guildhall dev`
// does: every service on a real gRPC listener and the gateway on a real HTTP
// listener, over a fresh database of its own. Test code only.
package apptest

import (
	"context"
	"flag"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"buf.build/go/protovalidate"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/guildhall/guildhall/app"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/grpcserver"
	"github.com/guildhall/guildhall/internal/pgtest"
	"github.com/guildhall/guildhall/internal/telemetry"
)

// Env is a running Guildhall.
type Env struct {
	// BaseURL is the gateway, e.g. "http://127.0.0.1:41234".
	BaseURL string
	// Conn reaches every service over gRPC.
	Conn *grpc.ClientConn
	// DatabaseURL is the test's own database.
	DatabaseURL string
	// HTTP is a client for BaseURL.
	HTTP *http.Client
	// Clock is the services' clock; tests move it with Advance.
	Clock *Clock
	// Metrics is what the process serves at /metrics.
	Metrics *prometheus.Registry

	cfg   *config.Config
	token string
	// pools are DB's, one per service, shared by the Env's copies
	// (WithToken) and closed when the test that started it ends.
	pools *pools
	// stopMembership stops a membership served apart (Extras.MembershipApart).
	stopMembership func()
}

// Option adjusts the configuration before start.
// Config is the configuration a test may adjust.
type Config = config.Config

type Option func(*config.Config, *Clock)

// AdminToken is a valid token of people/admin in every test environment.
const AdminToken = "gh_test-admin-token"

// Schemas lists every service's migrations for pgtest.
func Schemas() []pgtest.Schema {
	var out []pgtest.Schema
	for _, s := range app.Services() {
		out = append(out, pgtest.Schema{Name: s.Name, Migrations: s.Migrations, Lines: app.Lines()})
	}
	return out
}

// sharedValidator is the one validator of the test process: each message's
// rules compile on first use, and every Env after the first reuses them.
var sharedValidator = sync.OnceValues(func() (protovalidate.Validator, error) { return protovalidate.New() })

func validator(t testing.TB) protovalidate.Validator {
	t.Helper()
	v, err := sharedValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Start runs Guildhall until the test ends.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	return StartTraced(t, nil, opts...)
}

// Extras are parts a test supplies instead of the defaults.
type Extras struct {
	// Telemetry traces the process; nil is tracing off.
	Telemetry *telemetry.Telemetry
	// Log receives every log line; nil logs errors to the test's output.
	Log *zap.Logger
	// MembershipApart serves membership from a process of its own (an App
	// on its own listener), which Env.StopMembership stops: the other
	// services and the gateway reach it only over gRPC, as in compose.
	MembershipApart bool
}

// StartTraced is Start with tracing through tel (nil: off).
func StartTraced(t testing.TB, tel *telemetry.Telemetry, opts ...Option) *Env {
	t.Helper()
	return StartWith(t, Extras{Telemetry: tel}, opts...)
}

// dbMaxConns sizes each service's pool in an Env.
const dbMaxConns = 6

// StartWith is Start with the given extras.
func StartWith(t testing.TB, x Extras, opts ...Option) *Env {
	t.Helper()
	// Four services' pools, and the test's own queries.
	pgtest.Hold(t, 4*dbMaxConns+4)
	dbURL := pgtest.New(t, Schemas())
	env := map[string]string{
		"GUILDHALL_DATABASE_URL":          dbURL,
		"GUILDHALL_CORS_ORIGINS":          "https://allowed.example",
		"GUILDHALL_SHUTDOWN_GRACE":        "5s",
		"GUILDHALL_BOOTSTRAP_ADMIN_TOKEN": AdminToken,
		"GUILDHALL_INTERNAL_TOKEN":        "gh_internal-test-token",
		// Small pools: go test runs packages side by side, each test with
		// four pools of its own, and PostgreSQL's default is 100
		// connections in all (pgtest.Hold above waits for room). Storm
		// tests then queue on the pool, as production traffic past its
		// size would.
		"GUILDHALL_DB_MAX_CONNS": strconv.Itoa(dbMaxConns),
		// The database is a clone of a template these very migrations
		// made (pgtest names it after their contents).
		"GUILDHALL_MIGRATE_ON_START": "false",
		// Two idle webhook workers poll instead of eight, as in the events
		// service's own tests.
		"GUILDHALL_WEBHOOK_WORKERS": "2",
	}
	cfg, err := config.Bind(flag.NewFlagSet("test", flag.ContinueOnError), func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "console")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Complete(); err != nil {
		t.Fatal(err)
	}
	clock := NewClock()
	for _, o := range opts {
		o(cfg, clock)
	}
	// Every test through apptest audits the rule that a field violation
	// names a field of the request as sent.
	audit := zap.Hooks(func(e zapcore.Entry) error {
		if e.Message == grpcserver.UnknownFieldViolation {
			t.Errorf("a field violation named no field of the request (logged above)")
		}
		return nil
	})
	log := x.Log
	if log == nil {
		log = zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel))
	}
	log = log.WithOptions(audit)

	ctx, cancel := context.WithCancel(context.Background())
	a := app.New(cfg, log, clock.Now)
	a.SetValidator(validator(t))
	if x.Telemetry != nil {
		a.SetTelemetry(x.Telemetry)
	}
	grpcLis := listen(t)
	names, membershipTarget := config.Services, grpcLis.Addr().String()
	var stopMembership func()
	// Targets are set before any App is built: a membership served apart
	// calls roadmap and finance, which this process serves.
	app.ServeAllAt(cfg, grpcLis.Addr().String())
	if x.MembershipApart {
		mLis := listen(t)
		membershipTarget = mLis.Addr().String()
		cfg.Service[config.Membership].Target = membershipTarget
		names = []string{config.Roadmap, config.Finance}
		m := app.New(cfg, log, clock.Now)
		m.SetValidator(validator(t))
		mctx, mcancel := context.WithCancel(context.Background())
		if err := m.WithServices(mctx, mLis, []string{config.Membership}, membershipTarget); err != nil {
			mcancel()
			cancel()
			t.Fatal(err)
		}
		mdone := make(chan error, 1)
		go func() { mdone <- m.Run(mctx) }()
		var once sync.Once
		stopMembership = func() {
			once.Do(func() {
				mcancel()
				if err := <-mdone; err != nil {
					t.Errorf("membership stopped with an error: %v", err)
				}
			})
		}
		t.Cleanup(stopMembership)
	}
	if err := a.WithServices(ctx, grpcLis, names, membershipTarget); err != nil {
		cancel()
		t.Fatal(err)
	}
	httpLis := listen(t)
	if err := a.WithGateway(ctx, httpLis, app.Targets(cfg)); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	conn, err := grpc.NewClient(grpcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("guildhall stopped with an error: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("guildhall did not stop within 15s")
		}
	})
	ps := &pools{open: map[string]*pgxpool.Pool{}}
	t.Cleanup(ps.close)
	return &Env{
		pools:          ps,
		BaseURL:        "http://" + httpLis.Addr().String(),
		Conn:           conn,
		DatabaseURL:    dbURL,
		HTTP:           &http.Client{Timeout: 30 * time.Second},
		Clock:          clock,
		Metrics:        a.Registry(),
		cfg:            cfg,
		stopMembership: stopMembership,
	}
}

// StopMembership stops the membership service of an Env started with
// Extras.MembershipApart, and waits until it has stopped.
func (e *Env) StopMembership(t testing.TB) {
	t.Helper()
	if e.stopMembership == nil {
		t.Fatal("StopMembership: start with apptest.Extras{MembershipApart: true}")
	}
	e.stopMembership()
}

// DB is a pool on one service's schema, for checking stored rows: one per
// service for the Env's life, however often a test asks (each would
// otherwise hold its connections until the test ends).
func (e *Env) DB(t testing.TB, service string) *pgxpool.Pool {
	t.Helper()
	e.pools.mu.Lock()
	defer e.pools.mu.Unlock()
	if pool, ok := e.pools.open[service]; ok {
		return pool
	}
	pool, err := database.Open(context.Background(), e.DatabaseURL, service)
	if err != nil {
		t.Fatal(err)
	}
	e.pools.open[service] = pool
	return pool
}

// pools are an Env's pools for tests' queries, by service.
type pools struct {
	mu   sync.Mutex
	open map[string]*pgxpool.Pool
}

func (p *pools) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pool := range p.open {
		pool.Close()
	}
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}
