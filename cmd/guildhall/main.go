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
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/guildhall/guildhall/app"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/logging"
	"github.com/guildhall/guildhall/internal/telemetry"
	"github.com/guildhall/guildhall/services/membership"
	"github.com/guildhall/guildhall/web/board"
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
		{"serve", "membership|roadmap|finance|events|gateway", "run one part, as in docker-compose", runServe},
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
			err := c.run(ctx, args[1:], stdout)
			if errors.Is(err, flag.ErrHelp) {
				return nil // the help was asked for and printed
			}
			return err
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

// sub is one subcommand's command line: its name as typed, its settings'
// scope, the arguments after the name, and where -h prints.
type sub struct {
	name  string
	scope config.Scope
	args  []string
	out   io.Writer
}

// setup parses flags and environment for a subcommand and builds its logger.
// extra flags of one subcommand are defined by a func given to setup. -h
// prints only this subcommand's flags to out and returns flag.ErrHelp.
func setup(c sub, logFormat string, extra ...func(*flag.FlagSet)) (*config.Config, *zap.Logger, []string, error) {
	fs := flag.NewFlagSet("guildhall "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := config.Bind(fs, os.LookupEnv, logFormat, c.scope)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, e := range extra {
		e(fs)
	}
	if err := fs.Parse(c.args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(c.out, "Usage: guildhall %s [flags]\n\nFlags (each also a GUILDHALL_* variable, shown in brackets):\n", c.name)
			cfg.PrintFlags(fs, c.out)
			return nil, nil, nil, err
		}
		return nil, nil, nil, fmt.Errorf("%w (see 'guildhall %s -h')", err, c.name)
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
	if c.scope == config.ScopeDev && cfg.InternalToken == "" {
		// One process: the services only need to agree with themselves.
		// Made before the configuration is logged, so the log says it is set.
		cfg.InternalToken, _ = membership.NewSecret()
	}
	log.Info("configuration", append([]zap.Field{zap.String("version", version)}, cfg.Fields()...)...)
	return cfg, log, fs.Args(), nil
}

func runDev(ctx context.Context, args []string, stdout io.Writer) error {
	var seed string
	cfg, log, _, err := setup(sub{"dev", config.ScopeDev, args, stdout}, "console", func(fs *flag.FlagSet) {
		fs.StringVar(&seed, "seed", "", "load a demo `data set` once started: sme")
	})
	if err != nil {
		return err
	}
	if seed != "" && cfg.BootstrapAdminToken == "" {
		return errors.New("dev --seed needs GUILDHALL_BOOTSTRAP_ADMIN_TOKEN, to seed through the API as an admin")
	}
	defer func() { _ = log.Sync() }()
	a := app.New(cfg, log, time.Now)
	stopTracing, err := tracing(ctx, a, log, "guildhall-dev")
	if err != nil {
		return err
	}
	defer stopTracing()
	grpcLis, err := listen("gRPC", "grpc-addr", cfg.GRPCAddr)
	if err != nil {
		return err
	}
	target := dialable(cfg.GRPCAddr)
	if err := a.WithServices(ctx, grpcLis, config.Services, target); err != nil {
		return err
	}
	app.ServeAllAt(cfg, target)
	targets := app.Targets(cfg)
	httpLis, err := listen("REST gateway", "http-addr", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	if err := a.WithGateway(ctx, httpLis, targets); err != nil {
		return err
	}
	// On a laptop a busy default metrics port (another tool, another dev)
	// is no reason not to start; an address asked for must be had.
	if err := withMetrics(a, cfg); err != nil {
		if cfg.IsSet("metrics-addr") || !errors.Is(err, syscall.EADDRINUSE) {
			return err
		}
		log.Warn("metrics are off: their default port is in use; set GUILDHALL_METRICS_ADDR to serve them elsewhere", zap.Error(err))
		cfg.MetricsAddr = ""
	}
	web := "http://" + dialable(cfg.HTTPAddr)
	fmt.Fprintf(stdout, "\nGuildhall is running.\n  Board      %s%s\n  REST API   %s/v1/people\n  API docs   %s/docs/\n  OpenAPI    %s/openapi.json\n  Readiness  %s/readyz\n  gRPC       %s  (grpcurl -plaintext %s list)\n",
		web, board.Path, web, web, web, web, target, target)
	if cfg.MetricsAddr != "" {
		fmt.Fprintf(stdout, "  Metrics    http://%s/metrics\n", dialable(cfg.MetricsAddr))
	}
	signIn := "mail goes to this log (no GUILDHALL_SMTP_HOST): follow the link in the \"mail (logged, not sent)\" line"
	if cfg.SMTP.Host != "" {
		signIn = "the link is mailed through " + cfg.SMTP.Host
	}
	fmt.Fprintf(stdout, "  Sign in    press \"Sign in\" on the board with a person's email, or curl -X POST %s/v1/signIn:request -d '{\"email\":\"...\"}';\n"+
		"             %s (%s/board/#signin=...),\n"+
		"             or POST its code to %s/v1/signIn:complete -d '{\"code\":\"...\"}' for a session token\n",
		web, signIn, cfg.PublicURL, web)
	if cfg.BootstrapAdminToken != "" {
		fmt.Fprintf(stdout, "             (seeded people have no email: curl -X PATCH -H 'Authorization: Bearer <admin token>' '%s/v1/people/tfage?updateMask=email' -d '{\"email\":\"you@example.org\"}')\n", web)
	}
	if cfg.BootstrapAdminToken != "" {
		fmt.Fprintln(stdout, "  Admin      the bootstrap admin token (GUILDHALL_BOOTSTRAP_ADMIN_TOKEN) is valid, e.g. dev-admin-token under make run")
	}
	if seed == "" {
		fmt.Fprintln(stdout, "  Demo data  make seed, or guildhall seed sme, loads the SME Server community (or start with make run SEED=sme)")
	}
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	// A seed that cannot load fully stops Guildhall, rather than leave it
	// running with half a data set and one log line to say so.
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	if seed != "" {
		go func() {
			if err := app.Seed(runCtx, seed, targets, cfg.BootstrapAdminToken); err != nil {
				err = fmt.Errorf("the %s demo data could not be loaded fully, so Guildhall stops: %w", seed, err)
				log.Error("seeding failed", zap.String("data_set", seed), zap.Error(err))
				stop(errSeed{err})
				return
			}
			log.Info("demo data loaded", zap.String("data_set", seed))
		}()
	}
	err = a.Run(runCtx)
	var failed errSeed
	if errors.As(context.Cause(runCtx), &failed) {
		return failed.error
	}
	return err
}

// errSeed is why dev stopped: its seed failed.
type errSeed struct{ error }

func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, "Usage: guildhall serve membership|roadmap|finance|events|gateway [flags]\n\nRun 'guildhall serve <part> -h' for the flags of one part.")
			return nil
		}
		return errors.New("serve: name a part: membership, roadmap, finance, events or gateway")
	}
	part := args[0]
	scope := config.ServiceScope(part)
	if part == "gateway" {
		scope = config.ScopeGateway
	} else if scope == 0 {
		return fmt.Errorf("serve: unknown part %q: want membership, roadmap, finance, events or gateway", part)
	}
	cfg, log, _, err := setup(sub{"serve " + part, scope, args[1:], stdout}, "json")
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
	name, setting, addr := "REST gateway", "http-addr", cfg.HTTPAddr
	if part != "gateway" {
		if cfg.InternalToken == "" {
			return errors.New("serve: GUILDHALL_INTERNAL_TOKEN must be set, to the same secret for every service")
		}
		name, setting, addr = part+" gRPC", part+"-addr", cfg.Service[part].Addr
	}
	lis, err := listen(name, setting, addr)
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

func runMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, log, rest, err := setup(sub{"migrate", config.ScopeMigrate, args, stdout}, "json")
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if len(rest) == 0 {
		rest = config.Services
	}
	return app.Migrate(ctx, cfg, log, rest)
}

// devAdminToken is the admin token `make run` starts dev with.
const devAdminToken = "dev-admin-token"

func runSeed(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, "Usage: guildhall seed sme [flags]\n\nRun 'guildhall seed sme -h' for its flags.")
			return nil
		}
		return errors.New("seed: name a data set: sme")
	}
	set := args[0]
	var token string
	cfg, log, _, err := setup(sub{"seed " + set, config.ScopeSeed, args[1:], stdout}, "json", func(fs *flag.FlagSet) {
		fs.StringVar(&token, "token", "", "admin `token` to seed with; defaults to GUILDHALL_BOOTSTRAP_ADMIN_TOKEN, else "+devAdminToken+" (what make run starts with)")
	})
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if token == "" {
		token = cfg.BootstrapAdminToken
	}
	if token == "" {
		token = devAdminToken
	}
	// Unless told where each service is (compose, Kubernetes), seed the
	// one address where dev serves them all.
	targets := app.Targets(cfg)
	explicit := false
	for _, s := range config.Services {
		explicit = explicit || cfg.IsSet(s+"-target")
	}
	if !explicit {
		for s := range targets {
			targets[s] = dialable(cfg.GRPCAddr)
		}
	}
	if err := app.Seed(ctx, set, targets, token); err != nil {
		if status.Code(err) == codes.Unauthenticated {
			return fmt.Errorf("%w\nseed: the admin token was refused; pass --token with an admin token, set GUILDHALL_BOOTSTRAP_ADMIN_TOKEN to the one the server started with, or make one with 'guildhall token create --admin'", err)
		}
		return err
	}
	log.Info("demo data loaded", zap.String("data_set", set))
	return nil
}

func runToken(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdout, "Usage: guildhall token create --admin [--person ID] [--label TEXT]\n\nRun 'guildhall token create -h' for its flags.")
			return nil
		}
		return errors.New("token: usage: guildhall token create --admin [--person ID] [--label TEXT]")
	}
	var admin bool
	var person, label string
	cfg, log, _, err := setup(sub{"token create", config.ScopeToken, args[1:], stdout}, "json", func(fs *flag.FlagSet) {
		fs.BoolVar(&admin, "admin", false, "make an admin token (the only kind this command makes)")
		fs.StringVar(&person, "person", membership.BootstrapAdmin, "`id` of the admin person, created if missing")
		fs.StringVar(&label, "label", "created by guildhall token create", "what the token is for (`text`)")
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
	fs.SetOutput(io.Discard)
	grpcAddr := fs.String("grpc", "", "gRPC `address` to check with grpc.health.v1")
	httpURL := fs.String("http", "", "`URL` that must answer 200; a URL with no path, like http://localhost:8080, probes its /readyz")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: guildhall healthcheck --grpc ADDR | --http URL\n\nFlags:")
			fs.VisitAll(func(f *flag.Flag) {
				typ, usage := flag.UnquoteUsage(f)
				fmt.Fprintf(stdout, "  --%s %s\n    \t%s\n", f.Name, typ, usage)
			})
		}
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
		if u, err := url.Parse(*httpURL); err == nil && (u.Path == "" || u.Path == "/") && u.RawQuery == "" {
			u.Path = "/readyz"
			*httpURL = u.String()
		}
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

// runEnv lists every variable with its default and its effective value in
// this environment, secrets redacted. Values that do not parse are reported
// after the table.
func runEnv(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("guildhall env", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	names := fs.Bool("names", false, "print the variable names only, one per line")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: guildhall env [--names]\n\nLists every GUILDHALL_* variable with its default and its value here (secrets redacted).\n\nFlags:\n  --names\n    \tprint the variable names only, one per line")
		}
		return err
	}
	cfg, bindErr := config.Bind(flag.NewFlagSet("env", flag.ContinueOnError), os.LookupEnv, "json")
	if *names {
		for _, name := range cfg.EnvVars() {
			fmt.Fprintln(stdout, name)
		}
		return bindErr
	}
	completeErr := cfg.Complete() // fills in derived values (service databases)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tVALUE\tFROM\t")
	none := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return s
	}
	for _, v := range cfg.Vars() {
		from := "default"
		if _, set := os.LookupEnv(v.Env); set {
			from = "environment"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", v.Env, none(v.Default), none(v.Value), from)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := errors.Join(bindErr, completeErr); err != nil {
		return err
	}
	if unknown := cfg.Unknown(os.Environ()); len(unknown) > 0 {
		fmt.Fprintf(stdout, "\nunknown, ignored (check the spelling): %s\n", strings.Join(unknown, ", "))
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

// listen opens the named listener; its error names the listener and the
// setting that moves it.
func listen(name, setting, addr string) (net.Listener, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s listener on %q: %w (set --%s or %s to another address)",
			name, addr, err, setting, "GUILDHALL_"+strings.ToUpper(strings.ReplaceAll(setting, "-", "_")))
	}
	return lis, nil
}

func withMetrics(a *app.App, cfg *config.Config) error {
	if cfg.MetricsAddr == "" {
		return nil
	}
	lis, err := listen("metrics", "metrics-addr", cfg.MetricsAddr)
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
