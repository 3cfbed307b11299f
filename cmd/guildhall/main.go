// Command guildhall runs Guildhall: every service and the gateway in one
// process for a laptop (dev), or one part per process for compose (serve).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guildhall/guildhall/app"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/logging"
	"github.com/guildhall/guildhall/internal/telemetry"
	"github.com/guildhall/guildhall/services/membership"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type command struct {
	name, args, help string
	run              func(ctx context.Context, args []string, stdout io.Writer) error
}

func commands() []command {
	return []command{
		{"dev", "", "run every service and the gateway in one process, against one database", runDev},
		{"serve", "membership|roadmap|finance|gateway", "run one part, as in docker-compose", runServe},
		{"migrate", "[service…]", "apply database migrations (all services by default) and exit", runMigrate},
		{"seed", "sme [--token T]", "load a demo data set into a running Guildhall, through its API (idempotent)", runSeed},
		{"token", "create --admin [--person ID]", "print a new admin token (made directly in the membership database)", runToken},
		{"healthcheck", "--grpc ADDR | --http URL", "exit 0 if a service or the gateway is healthy (for container probes)", runHealthcheck},
		{"env", "", "list every GUILDHALL_* environment variable the binary reads", runEnv},
		{"commands", "", "list every subcommand, one per line", runCommands},
		{"version", "", "print the version", func(_ context.Context, _ []string, w io.Writer) error {
			_, err := fmt.Fprintln(w, version)
			return err
		}},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "guildhall:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout)
		}
	}
	usage(os.Stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: guildhall <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %-36s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w, "\nRun 'guildhall <command> -h' for its flags; every flag can also be set as GUILDHALL_<FLAG>.")
}

// setup parses flags and environment for a subcommand and builds its logger.
// extra flags of one subcommand are defined by a func given to setup.
func setup(name string, args []string, logFormat string, extra ...func(*flag.FlagSet)) (*config.Config, *zap.Logger, []string, error) {
	fs := flag.NewFlagSet("guildhall "+name, flag.ContinueOnError)
	cfg, err := config.Bind(fs, os.Getenv, logFormat)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, e := range extra {
		e(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, nil, err
	}
	if err := cfg.Complete(); err != nil {
		return nil, nil, nil, err
	}
	log, err := logging.New(cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return nil, nil, nil, err
	}
	if unknown := cfg.Unknown(os.Environ()); len(unknown) > 0 {
		log.Warn("ignoring unknown settings; check their spelling", zap.Strings("variables", unknown))
	}
	log.Info("configuration", cfg.Fields()...)
	return cfg, log, fs.Args(), nil
}

func runDev(ctx context.Context, args []string, stdout io.Writer) error {
	var seed string
	cfg, log, _, err := setup("dev", args, "console", func(fs *flag.FlagSet) {
		fs.StringVar(&seed, "seed", "", "load a demo data set once started: sme")
	})
	if err != nil {
		return err
	}
	if seed != "" && cfg.BootstrapAdminToken == "" {
		return errors.New("dev --seed needs GUILDHALL_BOOTSTRAP_ADMIN_TOKEN, to seed through the API as an admin")
	}
	defer func() { _ = log.Sync() }()
	if cfg.InternalToken == "" {
		// One process: the services only need to agree with themselves.
		cfg.InternalToken, _ = membership.NewSecret()
	}
	a := app.New(cfg, log, time.Now)
	stopTracing, err := tracing(ctx, a, log, "guildhall-dev")
	if err != nil {
		return err
	}
	defer stopTracing()
	grpcLis, err := listen(cfg.GRPCAddr)
	if err != nil {
		return err
	}
	target := dialable(cfg.GRPCAddr)
	if err := a.WithServices(ctx, grpcLis, config.Services, target); err != nil {
		return err
	}
	app.ServeAllAt(cfg, target)
	targets := app.Targets(cfg)
	httpLis, err := listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	if err := a.WithGateway(ctx, httpLis, targets); err != nil {
		return err
	}
	if err := withMetrics(a, cfg); err != nil {
		return err
	}
	web := "http://" + dialable(cfg.HTTPAddr)
	fmt.Fprintf(stdout, "\nGuildhall is running.\n  REST API   %s/v1/people\n  API docs   %s/docs/\n  OpenAPI    %s/openapi.json\n  Readiness  %s/readyz\n  gRPC       %s  (grpcurl -plaintext %s list)\n",
		web, web, web, web, target, target)
	if cfg.MetricsAddr != "" {
		fmt.Fprintf(stdout, "  Metrics    http://%s/metrics\n", dialable(cfg.MetricsAddr))
	}
	if seed == "" {
		fmt.Fprintln(stdout, "  Demo data  run with --seed sme (make run SEED=sme) to load the SME Server community")
	}
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	if seed != "" {
		go func() {
			if err := app.Seed(ctx, seed, targets, cfg.BootstrapAdminToken); err != nil {
				log.Error("seeding failed", zap.String("data_set", seed), zap.Error(err))
				return
			}
			log.Info("demo data loaded", zap.String("data_set", seed))
		}()
	}
	return a.Run(ctx)
}

func runServe(ctx context.Context, args []string, _ io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New("serve: name a part: membership, roadmap, finance or gateway")
	}
	part := args[0]
	cfg, log, _, err := setup("serve "+part, args[1:], "json")
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	log = log.With(zap.String("part", part))
	a := app.New(cfg, log, time.Now)
	stopTracing, err := tracing(ctx, a, log, "guildhall-"+part)
	if err != nil {
		return err
	}
	defer stopTracing()
	addr := cfg.HTTPAddr
	if part != "gateway" {
		if !slices.Contains(config.Services, part) {
			return fmt.Errorf("serve: unknown part %q: want membership, roadmap, finance or gateway", part)
		}
		if cfg.InternalToken == "" {
			return errors.New("serve: GUILDHALL_INTERNAL_TOKEN must be set, to the same secret for every service")
		}
		addr = cfg.Service[part].Addr
	}
	lis, err := listen(addr)
	if err != nil {
		return err
	}
	if part == "gateway" {
		err = a.WithGateway(ctx, lis, app.Targets(cfg))
	} else {
		err = a.WithServices(ctx, lis, []string{part}, cfg.Service[config.Membership].Target)
	}
	if err != nil {
		return err
	}
	if err := withMetrics(a, cfg); err != nil {
		return err
	}
	return a.Run(ctx)
}

func runMigrate(ctx context.Context, args []string, _ io.Writer) error {
	cfg, log, rest, err := setup("migrate", args, "console")
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if len(rest) == 0 {
		rest = config.Services
	}
	return app.Migrate(ctx, cfg, log, rest)
}

func runSeed(ctx context.Context, args []string, _ io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New("seed: name a data set: sme")
	}
	set := args[0]
	var token string
	cfg, log, _, err := setup("seed "+set, args[1:], "console", func(fs *flag.FlagSet) {
		fs.StringVar(&token, "token", "", "admin token to seed with; defaults to GUILDHALL_BOOTSTRAP_ADMIN_TOKEN")
	})
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if token == "" {
		token = cfg.BootstrapAdminToken
	}
	if token == "" {
		return errors.New("seed: give --token or set GUILDHALL_BOOTSTRAP_ADMIN_TOKEN")
	}
	if err := app.Seed(ctx, set, app.Targets(cfg), token); err != nil {
		return err
	}
	log.Info("demo data loaded", zap.String("data_set", set))
	return nil
}

func runToken(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("token: usage: guildhall token create --admin [--person ID] [--label TEXT]")
	}
	var admin bool
	var person, label string
	cfg, log, _, err := setup("token create", args[1:], "console", func(fs *flag.FlagSet) {
		fs.BoolVar(&admin, "admin", false, "make an admin token (the only kind this command makes)")
		fs.StringVar(&person, "person", membership.BootstrapAdmin, "id of the admin person, created if missing")
		fs.StringVar(&label, "label", "created by guildhall token create", "what the token is for")
	})
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if !admin {
		return errors.New("token create: only --admin tokens are made here; people make their own through the API")
	}
	secret, err := app.CreateAdminToken(ctx, cfg, log, person, label)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, secret)
	return err
}

func runHealthcheck(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("guildhall healthcheck", flag.ContinueOnError)
	grpcAddr := fs.String("grpc", "", "gRPC address to check with grpc.health.v1")
	httpURL := fs.String("http", "", "URL that must answer 200")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	switch {
	case *grpcAddr != "":
		conn, err := grpc.NewClient(*grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer conn.Close()
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("%s is %s", *grpcAddr, resp.GetStatus())
		}
	case *httpURL != "":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, *httpURL, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %s", *httpURL, resp.Status)
		}
	default:
		return errors.New("healthcheck: give --grpc ADDR or --http URL")
	}
	_, err := fmt.Fprintln(stdout, "SERVING")
	return err
}

func runEnv(_ context.Context, _ []string, stdout io.Writer) error {
	cfg, err := config.Bind(flag.NewFlagSet("env", flag.ContinueOnError), os.Getenv, "json")
	if err != nil {
		return err
	}
	for _, name := range cfg.EnvVars() {
		fmt.Fprintln(stdout, name)
	}
	return nil
}

func runCommands(_ context.Context, _ []string, stdout io.Writer) error {
	for _, c := range commands() {
		switch c.name {
		case "serve":
			for _, p := range append(slices.Clone(config.Services), "gateway") {
				fmt.Fprintln(stdout, "serve "+p)
			}
			continue
		case "seed":
			fmt.Fprintln(stdout, "seed sme")
			continue
		case "token":
			fmt.Fprintln(stdout, "token create")
			continue
		}
		fmt.Fprintln(stdout, c.name)
	}
	return nil
}

func listen(addr string) (net.Listener, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return lis, nil
}

func withMetrics(a *app.App, cfg *config.Config) error {
	if cfg.MetricsAddr == "" {
		return nil
	}
	lis, err := listen(cfg.MetricsAddr)
	if err != nil {
		return err
	}
	a.WithMetrics(lis)
	return nil
}

// tracing turns OpenTelemetry tracing on for a when the OTEL_* environment
// configures an OTLP exporter (see internal/telemetry); stop flushes it.
func tracing(ctx context.Context, a *app.App, log *zap.Logger, service string) (stop func(), err error) {
	tel, err := telemetry.FromEnv(ctx, service, version, os.Getenv)
	if err != nil {
		return nil, err
	}
	a.SetTelemetry(tel)
	if tel.Enabled() {
		log.Info("tracing on: exporting spans over OTLP", zap.String("service", service))
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			log.Warn("flushing traces failed", zap.Error(err))
		}
	}, nil
}

// dialable turns a listen address such as ":8080" into one to connect to.
func dialable(addr string) string {
	if strings.HasPrefix(addr, ":") {
		return "localhost" + addr
	}
	return addr
}
