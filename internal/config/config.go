// Package config reads Guildhall's settings from flags and GUILDHALL_*
// environment variables, with defaults in code. A flag wins over its
// variable, and the variable wins over the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Service names, which are also their schema names and env-var infixes.
const (
	Membership = "membership"
	Roadmap    = "roadmap"
	Finance    = "finance"
)

// Services lists every service, membership first: the others use it for identity.
var Services = []string{Membership, Roadmap, Finance}

// ServiceConfig is what `serve <service>` needs, and how others reach it.
type ServiceConfig struct {
	DatabaseURL string // its own database; defaults to Config.DatabaseURL
	Addr        string // where `serve <service>` listens
	Target      string // where the gateway and other services dial it
}

// Config is every setting of the guildhall binary.
type Config struct {
	LogFormat     string
	LogLevel      string
	DatabaseURL   string
	HTTPAddr      string
	GRPCAddr      string
	MetricsAddr   string
	CORSOrigins   []string
	MaxBodyBytes  int64
	ShutdownGrace time.Duration
	// DBMaxConns sizes each service's connection pool.
	DBMaxConns int64
	Service    map[string]*ServiceConfig

	// BootstrapAdminToken, if set, is made a valid admin token on start.
	BootstrapAdminToken string
	// InternalToken is the secret the services use to call each other.
	InternalToken string

	// DriftWindow is how long a person holding a role may be inactive before
	// being nudged; after DriftNudgeGrace more they are INACTIVE, and after
	// DriftEmeritusAfter more, EMERITUS with their roles vacated.
	DriftWindow        time.Duration
	DriftNudgeGrace    time.Duration
	DriftEmeritusAfter time.Duration
	// StaleAfter is how long an IN_PROGRESS roadmap item may go without a
	// status update before it is flagged stale.
	StaleAfter time.Duration
	// IdempotencyRetention is how long request ids (and the replies they
	// replay) are kept; at least 24 hours.
	IdempotencyRetention time.Duration
	// DualApprovalAbove is the expense amount, in minor units, above which
	// two distinct approvers are needed.
	DualApprovalAbove int64
	// VolunteerRatePerMinute caps anonymous help offers per client address.
	VolunteerRatePerMinute int64

	vars []variable
}

type variable struct {
	env    string
	secret bool
	get    func() string
}

// Bind defines every setting as a flag on fs, taking defaults from getenv.
// logFormat is the subcommand's default log format.
func Bind(fs *flag.FlagSet, getenv func(string) string, logFormat string) (*Config, error) {
	c := &Config{Service: map[string]*ServiceConfig{}}
	b := binder{fs: fs, getenv: getenv, c: c}
	b.str(&c.LogFormat, "log-format", logFormat, "log format: json or console", false)
	b.str(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error", false)
	b.str(&c.DatabaseURL, "database-url", "postgres://localhost:5432/guildhall?sslmode=disable",
		"PostgreSQL URL; dev keeps every service in it and creates the database if missing", true)
	b.str(&c.HTTPAddr, "http-addr", ":8080", "REST gateway listen address", false)
	b.str(&c.GRPCAddr, "grpc-addr", ":9090", "gRPC listen address of dev, serving every service", false)
	b.str(&c.MetricsAddr, "metrics-addr", ":9464", "Prometheus /metrics listen address; empty turns it off", false)
	b.list(&c.CORSOrigins, "cors-origins", "browser origins allowed to call the REST API, comma-separated")
	b.int64(&c.MaxBodyBytes, "max-body-bytes", 1<<20, "largest REST request body accepted, in bytes")
	b.duration(&c.ShutdownGrace, "shutdown-grace", 20*time.Second, "how long in-flight requests get to finish on shutdown")
	b.int64(&c.DBMaxConns, "db-max-conns", 16, "connections in each service's database pool")
	b.str(&c.BootstrapAdminToken, "bootstrap-admin-token", "", "a known admin token to create on start (dev, compose, demos)", true)
	b.str(&c.InternalToken, "internal-token", "", "shared secret the services use to call each other; dev makes one up", true)
	b.duration(&c.DriftWindow, "drift-window", 90*day, "inactivity before a person holding a role is nudged (e.g. 90d)")
	b.duration(&c.DriftNudgeGrace, "drift-nudge-grace", 14*day, "time after the nudge before a person is INACTIVE")
	b.duration(&c.DriftEmeritusAfter, "drift-emeritus-after", 180*day, "time INACTIVE before a person becomes EMERITUS and their roles are vacated")
	b.duration(&c.StaleAfter, "stale-after", 30*day, "how long an IN_PROGRESS roadmap item may go without a status update")
	b.duration(&c.IdempotencyRetention, "idempotency-retention", 7*day, "how long request ids are remembered, so retries replay the first reply (at least 24h)")
	b.int64(&c.DualApprovalAbove, "dual-approval-above", 50000, "expense amount in minor units above which two approvers are needed")
	b.int64(&c.VolunteerRatePerMinute, "volunteer-rate-per-minute", 10, "help offers accepted per minute from one client address")
	for i, svc := range Services {
		sc := &ServiceConfig{}
		c.Service[svc] = sc
		port := strconv.Itoa(9091 + i)
		b.str(&sc.DatabaseURL, svc+"-database-url", "", svc+" PostgreSQL URL; defaults to --database-url", true)
		b.str(&sc.Addr, svc+"-addr", ":"+port, "gRPC listen address of `serve "+svc+"`", false)
		b.str(&sc.Target, svc+"-target", "localhost:"+port, "gRPC address the gateway and other services dial for "+svc, false)
	}
	return c, errors.Join(b.errs...)
}

// Complete fills in derived values and checks the whole; call it after parsing flags.
func (c *Config) Complete() error {
	var errs []error
	if c.LogFormat != "json" && c.LogFormat != "console" {
		errs = append(errs, fmt.Errorf("GUILDHALL_LOG_FORMAT: %q is not json or console", c.LogFormat))
	}
	for _, svc := range Services {
		sc := c.Service[svc]
		if sc.DatabaseURL == "" {
			sc.DatabaseURL = c.DatabaseURL
		}
	}
	for _, o := range c.CORSOrigins {
		// An origin has no path, query or user: "https://a.example/" would never match.
		if u, err := url.Parse(o); o != "*" && (err != nil || u.Scheme == "" || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil) {
			errs = append(errs, fmt.Errorf("GUILDHALL_CORS_ORIGINS: %q is not an origin like https://example.org", o))
		}
	}
	if c.DBMaxConns <= 0 || c.DBMaxConns > 1000 {
		errs = append(errs, errors.New("GUILDHALL_DB_MAX_CONNS must be between 1 and 1000"))
	}
	if c.IdempotencyRetention < 24*time.Hour {
		errs = append(errs, errors.New("GUILDHALL_IDEMPOTENCY_RETENTION must be at least 24h: retries within a day must replay"))
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("GUILDHALL_MAX_BODY_BYTES must be positive"))
	}
	return errors.Join(errs...)
}

// EnvVars lists every GUILDHALL_* variable the binary reads.
func (c *Config) EnvVars() []string {
	out := make([]string, 0, len(c.vars))
	for _, v := range c.vars {
		out = append(out, v.env)
	}
	sort.Strings(out)
	return out
}

// Unknown returns the GUILDHALL_* names in environ that no setting reads:
// usually typos, which would otherwise be ignored silently.
func (c *Config) Unknown(environ []string, extra ...string) []string {
	known := map[string]bool{}
	for _, v := range c.vars {
		known[v.env] = true
	}
	for _, e := range extra {
		known[e] = true
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "GUILDHALL_") && !known[name] {
			out = append(out, name)
		}
	}
	return out
}

// Fields is the effective configuration for one log line, secrets redacted.
func (c *Config) Fields() []zap.Field {
	out := make([]zap.Field, 0, len(c.vars))
	for _, v := range c.vars {
		val := v.get()
		if v.secret && val != "" {
			val = redactURL(val)
		}
		out = append(out, zap.String(v.env, val))
	}
	return out
}

// redactURL keeps a URL's shape but hides its password; other secrets vanish.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "[redacted]"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	// libpq and pgx also take the password as a query parameter.
	if q := u.Query(); q.Has("password") || q.Has("sslpassword") {
		for _, k := range []string{"password", "sslpassword"} {
			if q.Has(k) {
				q.Set(k, "redacted")
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

type binder struct {
	fs     *flag.FlagSet
	getenv func(string) string
	c      *Config
	errs   []error
}

func envName(flagName string) string {
	return "GUILDHALL_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (b *binder) add(name string, secret bool, get func() string) (env, raw string) {
	env = envName(name)
	b.c.vars = append(b.c.vars, variable{env: env, secret: secret, get: get})
	return env, b.getenv(env)
}

func (b *binder) str(p *string, name, def, usage string, secret bool) {
	env, raw := b.add(name, secret, func() string { return *p })
	if raw != "" {
		def = raw
	}
	b.fs.StringVar(p, name, def, usage+" ["+env+"]")
}

func (b *binder) int64(p *int64, name string, def int64, usage string) {
	env, raw := b.add(name, false, func() string { return strconv.FormatInt(*p, 10) })
	if raw != "" {
		v, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			b.errs = append(b.errs, fmt.Errorf("%s: %q is not a whole number", env, raw))
		}
		def = v
	}
	b.fs.Int64Var(p, name, def, usage+" ["+env+"]")
}

const day = 24 * time.Hour

func (b *binder) duration(p *time.Duration, name string, def time.Duration, usage string) {
	env, raw := b.add(name, false, func() string { return formatDuration(*p) })
	*p = def
	if raw != "" {
		v, err := ParseDuration(raw)
		if err != nil {
			b.errs = append(b.errs, fmt.Errorf("%s: %w", env, err))
		}
		*p = v
	}
	b.fs.Func(name, usage+" ["+env+"] (default "+formatDuration(def)+")", func(s string) error {
		v, err := ParseDuration(s)
		*p = v
		return err
	})
}

// ParseDuration reads Go durations ("30s", "2h") and whole days ("90d").
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d >= 0 {
			return time.Duration(d) * day, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration like 30s, 2h or 90d", s)
	}
	return d, nil
}

func formatDuration(d time.Duration) string {
	if d >= day && d%day == 0 {
		return strconv.Itoa(int(d/day)) + "d"
	}
	return d.String()
}

func (b *binder) list(p *[]string, name, usage string) {
	env, raw := b.add(name, false, func() string { return strings.Join(*p, ",") })
	*p = splitList(raw)
	b.fs.Func(name, usage+" ["+env+"]", func(s string) error { *p = splitList(s); return nil })
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
