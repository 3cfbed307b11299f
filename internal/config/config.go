// Package config reads Guildhall's settings from flags and GUILDHALL_*
// environment variables, with defaults in code. A flag wins over its
// variable, and the variable wins over the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/guildhall/guildhall/internal/clientip"
)

// Service names, which are also their schema names and env-var infixes.
const (
	Membership = "membership"
	Roadmap    = "roadmap"
	Finance    = "finance"
	Events     = "events"
)

// Services lists every service, membership first: the others use it for
// identity; events last, as every other one writes to it.
var Services = []string{Membership, Roadmap, Finance, Events}

// ServiceConfig is what `serve <service>` needs, and how others reach it.
type ServiceConfig struct {
	DatabaseURL string // its own database; defaults to Config.DatabaseURL
	Addr        string // where `serve <service>` listens
	Target      string // where the gateway and other services dial it
}

// OIDCIssuer is an OpenID Connect issuer URL, exactly as its tokens write
// `iss`, and the audience (`aud`) they must carry for Guildhall: the
// frontend's client id for ID tokens, the API's resource id for JWT access
// tokens (RFC 9068).
type OIDCIssuer struct {
	URL, Audience string
}

// ParseOIDCIssuers reads entries `<issuer URL>=<audience>`. By OpenID
// Connect Discovery an issuer URL has no query or fragment, so the first
// "=" ends it.
func ParseOIDCIssuers(entries []string) ([]OIDCIssuer, error) {
	var out []OIDCIssuer
	seen := map[string]bool{}
	for _, e := range entries {
		iss, aud, ok := strings.Cut(strings.TrimSpace(e), "=")
		iss, aud = strings.TrimSpace(iss), strings.TrimSpace(aud)
		u, err := url.Parse(iss)
		if !ok || aud == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("%q is not <issuer URL>=<audience>, like https://id.example.org=guildhall", e)
		}
		if seen[iss] {
			return nil, fmt.Errorf("issuer %s is listed twice", iss)
		}
		seen[iss] = true
		out = append(out, OIDCIssuer{URL: iss, Audience: aud})
	}
	return out, nil
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
	// MigrateOnStart has each serving process apply its services'
	// migrations before it serves. Turn it off where `guildhall migrate`
	// runs first (a compose service, a Kubernetes Job), so the serving
	// role needs no DDL rights and replicas start without the migration lock.
	MigrateOnStart bool
	Service        map[string]*ServiceConfig

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
	// TransparencyCacheTTL is how long the gateway reuses an assembled
	// transparency report, and its REST answers' Cache-Control max-age.
	TransparencyCacheTTL time.Duration
	// IdempotencyRetention is how long request ids (and the replies they
	// replay) are kept; at least 24 hours.
	IdempotencyRetention time.Duration
	// DualApprovalAbove is the expense amount, in minor units, above which
	// two distinct approvers are needed.
	DualApprovalAbove int64
	// VolunteerRatePerMinute caps anonymous help offers per client address.
	VolunteerRatePerMinute int64
	// AuthFailuresPerMinute is how many failed token checks one client
	// address may make per minute (and at once) before it is refused with
	// RESOURCE_EXHAUSTED until the allowance refills.
	AuthFailuresPerMinute int64
	// OIDCIssuers are the OpenID Connect providers whose ID tokens and JWT
	// access tokens are accepted, each with the audience its tokens must
	// carry, from GUILDHALL_OIDC_ISSUERS ("https://id.example.org=guildhall,
	// https://accounts.google.com=1234.apps.googleusercontent.com"). None:
	// people sign in with email links only.
	OIDCIssuers []OIDCIssuer
	oidcIssuers []string
	// SignInCodeTTL is how long a sign-in link works; SessionTTL how long a
	// session it makes lasts before it must be renewed.
	SignInCodeTTL time.Duration
	SessionTTL    time.Duration
	// JobIntervals overrides the pause between passes of background jobs,
	// by job name (e.g. "membership.drift"), from GUILDHALL_JOB_INTERVALS
	// ("membership.drift=10s,finance.idempotency-purge=1h").
	JobIntervals map[string]time.Duration
	jobIntervals []string

	// TrustedProxies are the addresses (CIDRs) whose forwarding headers are
	// believed; see internal/clientip. Empty: the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// ReadTimeout bounds reading one REST request, headers and body, and
	// the gRPC connection handshake; IdleTimeout closes a REST or gRPC
	// connection that has carried no request for that long.
	ReadTimeout time.Duration
	IdleTimeout time.Duration
	// MaxConns caps the connections open at once on each listener, and
	// MaxConnsPerClient those of one client address (trusted proxies
	// excepted); 0 means no cap.
	MaxConns          int64
	MaxConnsPerClient int64

	// SMTP is where mail goes; with no host, mail is written to the log.
	SMTP SMTP
	// PublicURL is the address people reach Guildhall at (scheme, host and
	// optional path prefix), used for links in mail such as one-click opt-out.
	PublicURL string
	// MailTemplates, if set, is a directory whose template files replace
	// the built-in ones of the same name (see internal/mail/templates).
	MailTemplates string
	// Webhook delivery (the events service): WebhookWorkers deliveries at
	// once per process, each attempt bounded by WebhookTimeout, retried
	// after WebhookBackoffBase·2^(failures-1) (at most WebhookBackoffMax)
	// with jitter; WebhookFailureLimit consecutive failures deactivate a
	// webhook. WebhookAllowedNetworks are the internal networks an operator
	// allows as targets (all others are refused, against SSRF).
	WebhookWorkers         int64
	WebhookTimeout         time.Duration
	WebhookBackoffBase     time.Duration
	WebhookBackoffMax      time.Duration
	WebhookFailureLimit    int64
	WebhookAllowedNetworks []netip.Prefix
	webhookAllowed         []string

	trustedProxies []string
	vars           []variable
	scope          Scope
	explicit       map[string]bool
}

// SMTP is the mail relay (GUILDHALL_SMTP_*).
type SMTP struct {
	// Host is the relay's host name; empty means mail is logged, not sent.
	Host string
	Port int64
	// Username and Password authenticate to the relay (SMTP AUTH) if set.
	Username, Password string
	// From is the sender, an RFC 5322 address ("Guildhall <noreply@example.org>").
	From string
	// TLS is the policy: "mandatory" (STARTTLS required), "opportunistic"
	// (STARTTLS if offered), "implicit" (TLS from the first byte, as on
	// port 465) or "none".
	TLS string
}

// SMTPTLSPolicies are the values GUILDHALL_SMTP_TLS takes.
var SMTPTLSPolicies = []string{"mandatory", "opportunistic", "implicit", "none"}

// IsSet reports whether a setting (by flag name) was given by its flag or
// its variable rather than left to its default.
func (c *Config) IsSet(flagName string) bool { return c.explicit[flagName] }

// marked records that its flag was given on the command line.
type marked struct {
	flag.Value
	mark func()
}

func (m marked) Set(s string) error { m.mark(); return m.Value.Set(s) }

// IsBoolFlag passes on the marked value's, so a bool setting's bare
// --name still means true.
func (m marked) IsBoolFlag() bool {
	b, ok := m.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

type variable struct {
	env, flag string
	typ       string
	def       string
	usage     string
	secret    bool
	get       func() string
}

// Scope says which subcommand settings are bound for, so each shows (and
// accepts) only the flags it uses.
type Scope uint

// Scopes, one per kind of subcommand.
const (
	ScopeDev Scope = 1 << iota
	ScopeMembership
	ScopeRoadmap
	ScopeFinance
	ScopeGateway
	ScopeMigrate
	ScopeToken
	ScopeSeed
	ScopeEvents

	// ScopeService is every 'serve <service>'; ServiceScope names one.
	ScopeService = ScopeMembership | ScopeRoadmap | ScopeFinance | ScopeEvents
	// ScopeAll binds every setting (e.g. to list them).
	ScopeAll = ScopeDev | ScopeService | ScopeGateway | ScopeMigrate | ScopeToken | ScopeSeed
	// scopeServer is every subcommand that serves requests.
	scopeServer = ScopeDev | ScopeService | ScopeGateway
	// scopeDB is every subcommand that opens the databases.
	scopeDB = ScopeDev | ScopeService | ScopeMigrate | ScopeToken
)

// ServiceScope is the scope of 'serve <service>', 0 for an unknown name.
func ServiceScope(service string) Scope {
	switch service {
	case Membership:
		return ScopeMembership
	case Roadmap:
		return ScopeRoadmap
	case Finance:
		return ScopeFinance
	case Events:
		return ScopeEvents
	}
	return 0
}

// scopes lists where each setting applies; a setting not listed applies to
// every serving subcommand.
var scopes = map[string]Scope{
	"log-format": ScopeAll, "log-level": ScopeAll,
	"database-url": scopeDB, "db-max-conns": ScopeDev | ScopeService, "migrate-on-start": ScopeDev | ScopeService,
	"http-addr": ScopeDev | ScopeGateway, "grpc-addr": ScopeDev | ScopeSeed,
	"cors-origins": ScopeDev | ScopeGateway, "max-body-bytes": ScopeDev | ScopeGateway,
	"bootstrap-admin-token": ScopeDev | ScopeMembership | ScopeSeed,
	"drift-window":          ScopeDev | ScopeMembership, "drift-nudge-grace": ScopeDev | ScopeMembership,
	"drift-emeritus-after": ScopeDev | ScopeMembership, "stale-after": ScopeDev | ScopeRoadmap,
	"idempotency-retention": ScopeDev | ScopeService, "dual-approval-above": ScopeDev | ScopeFinance,
	"volunteer-rate-per-minute": ScopeDev | ScopeMembership, "auth-failures-per-minute": ScopeDev | ScopeService,
	"job-intervals": ScopeDev | ScopeService,
	"smtp-host":     ScopeDev | ScopeService, "smtp-port": ScopeDev | ScopeService,
	"smtp-username": ScopeDev | ScopeService, "smtp-password": ScopeDev | ScopeService,
	"smtp-from": ScopeDev | ScopeService, "smtp-tls": ScopeDev | ScopeService,
	"public-url": ScopeDev | ScopeService, "mail-templates": ScopeDev | ScopeService,
	"webhook-workers": ScopeDev | ScopeEvents, "webhook-timeout": ScopeDev | ScopeEvents,
	"webhook-backoff-base": ScopeDev | ScopeEvents, "webhook-backoff-max": ScopeDev | ScopeEvents,
	"webhook-failure-limit": ScopeDev | ScopeEvents, "webhook-allowed-networks": ScopeDev | ScopeEvents,
	"oidc-issuers":           ScopeDev | ScopeMembership,
	"transparency-cache-ttl": ScopeDev | ScopeGateway,
	"signin-code-ttl":        ScopeDev | ScopeMembership, "session-ttl": ScopeDev | ScopeMembership,
}

func scopeOf(flagName string) Scope {
	if sc, ok := scopes[flagName]; ok {
		return sc
	}
	for _, svc := range Services {
		own := ServiceScope(svc)
		switch strings.TrimPrefix(flagName, svc+"-") {
		case "database-url":
			return scopeDB&^ScopeService | own
		case "addr":
			return own
		case "target":
			// Every service dials membership, for identity, and events,
			// for its outbox; finance and membership dial roadmap to check
			// the items they name, and roadmap dials finance for its
			// items' funding.
			switch svc {
			case Membership, Events:
				return ScopeService | ScopeGateway | ScopeSeed
			case Roadmap:
				return ScopeFinance | ScopeMembership | ScopeGateway | ScopeSeed
			case Finance:
				return ScopeRoadmap | ScopeGateway | ScopeSeed
			}
			return ScopeGateway | ScopeSeed
		}
	}
	return scopeServer
}

// Bind defines the settings of scope (every setting if none is given) as
// flags on fs, taking defaults from lookup (os.LookupEnv). A variable that is
// set is used as it is, even when empty: GUILDHALL_METRICS_ADDR= turns
// metrics off. Settings outside scope keep their defaults and variables.
// logFormat is the subcommand's default log format.
func Bind(fs *flag.FlagSet, lookup func(string) (string, bool), logFormat string, scope ...Scope) (*Config, error) {
	c := &Config{Service: map[string]*ServiceConfig{}, scope: ScopeAll, explicit: map[string]bool{}}
	if len(scope) > 0 {
		c.scope = 0
		for _, sc := range scope {
			c.scope |= sc
		}
	}
	b := binder{fs: fs, lookup: lookup, c: c}
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
	b.bool(&c.MigrateOnStart, "migrate-on-start", true, "apply the served services' migrations before serving; false where 'guildhall migrate' runs first")
	b.str(&c.BootstrapAdminToken, "bootstrap-admin-token", "", "a known admin token to create on start (dev, compose, demos)", true)
	b.str(&c.InternalToken, "internal-token", "", "shared secret the services use to call each other; dev makes one up", true)
	b.duration(&c.DriftWindow, "drift-window", 90*day, "inactivity before a person holding a role is nudged (e.g. 90d)")
	b.duration(&c.DriftNudgeGrace, "drift-nudge-grace", 14*day, "time after the nudge before a person is INACTIVE")
	b.duration(&c.DriftEmeritusAfter, "drift-emeritus-after", 180*day, "time INACTIVE before a person becomes EMERITUS and their roles are vacated")
	b.duration(&c.StaleAfter, "stale-after", 30*day, "how long an IN_PROGRESS roadmap item may go without a status update")
	b.duration(&c.TransparencyCacheTTL, "transparency-cache-ttl", 10*time.Second, "how long the gateway reuses an assembled transparency report (GET /v1/transparencyReport); 0 assembles it for every request")
	b.duration(&c.IdempotencyRetention, "idempotency-retention", 7*day, "how long request ids are remembered, so retries replay the first reply (at least 24h)")
	b.int64(&c.DualApprovalAbove, "dual-approval-above", 50000, "expense amount in minor units above which two approvers are needed")
	b.int64(&c.VolunteerRatePerMinute, "volunteer-rate-per-minute", 10, "help offers accepted per minute from one client address")
	b.int64(&c.AuthFailuresPerMinute, "auth-failures-per-minute", 20, "failed token checks allowed per minute from one client address; 0 turns the throttle off")
	b.list(&c.trustedProxies, "trusted-proxies", "proxies (CIDRs or addresses, comma-separated) whose X-Forwarded-For or Forwarded headers are believed; none: the peer is the client")
	b.duration(&c.ReadTimeout, "read-timeout", 20*time.Second, "time a client gets to send a whole REST request (headers and body), or to finish the gRPC handshake")
	b.duration(&c.IdleTimeout, "idle-timeout", 2*time.Minute, "how long a REST or gRPC connection with no request stays open")
	b.int64(&c.MaxConns, "max-conns", 4096, "connections open at once on each listener; 0 for no cap")
	b.int64(&c.MaxConnsPerClient, "max-conns-per-client", 256, "connections one client address may hold on each listener (trusted proxies excepted); 0 for no cap")
	b.str(&c.SMTP.Host, "smtp-host", "", "SMTP relay host for mail; empty: mail is written to the log instead", false)
	b.int64(&c.SMTP.Port, "smtp-port", 587, "SMTP relay port (587 submission with STARTTLS, 465 with --smtp-tls=implicit)")
	b.str(&c.SMTP.Username, "smtp-username", "", "SMTP AUTH user name; empty: no authentication", false)
	b.str(&c.SMTP.Password, "smtp-password", "", "SMTP AUTH password", true)
	b.str(&c.SMTP.From, "smtp-from", "Guildhall <guildhall@localhost>", "sender of mail, an RFC 5322 address", false)
	b.str(&c.SMTP.TLS, "smtp-tls", "mandatory", "SMTP TLS policy: mandatory (STARTTLS required), opportunistic, implicit (TLS on connect, port 465) or none", false)
	b.str(&c.PublicURL, "public-url", "http://localhost:8080", "address people reach Guildhall at, for links in mail (https in production)", false)
	b.str(&c.MailTemplates, "mail-templates", "", "directory of mail templates that replace the built-in ones of the same name", false)
	b.duration(&c.SignInCodeTTL, "signin-code-ttl", 15*time.Minute, "how long an email sign-in link works (once)")
	b.duration(&c.SessionTTL, "session-ttl", time.Hour, "how long a sign-in session lasts unless renewed (RenewToken); at most 30 days after sign-in")
	b.list(&c.oidcIssuers, "oidc-issuers", "OpenID Connect issuers whose tokens are accepted, each <issuer URL>=<audience>, comma-separated; none: email sign-in links only")
	b.list(&c.jobIntervals, "job-intervals", "pause between passes of background jobs, by job, e.g. membership.drift=10s,roadmap.outbox=1s")
	b.int64(&c.WebhookWorkers, "webhook-workers", 8, "webhook deliveries under way at once in each events process (one per webhook at a time)")
	b.duration(&c.WebhookTimeout, "webhook-timeout", 10*time.Second, "how long one webhook delivery attempt may take, connecting to the last byte of the answer")
	b.duration(&c.WebhookBackoffBase, "webhook-backoff-base", time.Second, "wait after a webhook's first failed delivery; it doubles with each further failure (with jitter)")
	b.duration(&c.WebhookBackoffMax, "webhook-backoff-max", 10*time.Minute, "longest wait between attempts of a failing webhook")
	b.int64(&c.WebhookFailureLimit, "webhook-failure-limit", 20, "consecutive failed deliveries after which a webhook is deactivated")
	b.list(&c.webhookAllowed, "webhook-allowed-networks", "internal networks (CIDRs, comma-separated) allowed as webhook targets; loopback, link-local and private addresses are otherwise refused")
	for i, svc := range Services {
		sc := &ServiceConfig{}
		c.Service[svc] = sc
		port := strconv.Itoa(9091 + i)
		b.str(&sc.DatabaseURL, svc+"-database-url", "", svc+" PostgreSQL URL; defaults to --database-url", true)
		b.str(&sc.Addr, svc+"-addr", ":"+port, "gRPC listen address of 'serve "+svc+"'", false)
		b.str(&sc.Target, svc+"-target", "localhost:"+port, "gRPC address(es) the gateway and other services dial for "+svc+": host:port, dns:///host:port or replicas host:port,host:port (balanced round-robin)", false)
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
	if c.SignInCodeTTL <= 0 || c.SignInCodeTTL > 24*time.Hour || c.SessionTTL <= 0 || c.SessionTTL > 30*24*time.Hour {
		errs = append(errs, errors.New("GUILDHALL_SIGNIN_CODE_TTL must be between 0 and 24h, GUILDHALL_SESSION_TTL between 0 and 30d"))
	}
	if iss, err := ParseOIDCIssuers(c.oidcIssuers); err != nil {
		errs = append(errs, fmt.Errorf("GUILDHALL_OIDC_ISSUERS: %w", err))
	} else {
		c.OIDCIssuers = iss
	}
	c.JobIntervals = map[string]time.Duration{}
	for _, kv := range c.jobIntervals {
		name, raw, _ := strings.Cut(kv, "=")
		d, err := ParseDuration(strings.TrimSpace(raw))
		if name = strings.TrimSpace(name); name == "" || err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("GUILDHALL_JOB_INTERVALS: %q is not job=duration, like membership.drift=10s", kv))
			continue
		}
		c.JobIntervals[name] = d
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("GUILDHALL_MAX_BODY_BYTES must be positive"))
	}
	if c.MaxConns < 0 || c.MaxConnsPerClient < 0 || c.AuthFailuresPerMinute < 0 {
		errs = append(errs, errors.New("GUILDHALL_MAX_CONNS, GUILDHALL_MAX_CONNS_PER_CLIENT and GUILDHALL_AUTH_FAILURES_PER_MINUTE must not be negative"))
	}
	if c.TransparencyCacheTTL < 0 {
		errs = append(errs, errors.New("GUILDHALL_TRANSPARENCY_CACHE_TTL must not be negative"))
	}
	if c.ReadTimeout <= 0 || c.IdleTimeout <= 0 {
		errs = append(errs, errors.New("GUILDHALL_READ_TIMEOUT and GUILDHALL_IDLE_TIMEOUT must be positive"))
	}
	errs = append(errs, c.SMTP.check()...)
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		errs = append(errs, fmt.Errorf("GUILDHALL_PUBLIC_URL: %q is not a URL like https://guildhall.example.org", c.PublicURL))
	}
	if c.WebhookWorkers <= 0 || c.WebhookWorkers > 256 || c.WebhookFailureLimit <= 0 {
		errs = append(errs, errors.New("GUILDHALL_WEBHOOK_WORKERS must be between 1 and 256 and GUILDHALL_WEBHOOK_FAILURE_LIMIT positive"))
	}
	if c.WebhookTimeout <= 0 || c.WebhookBackoffBase <= 0 || c.WebhookBackoffMax < c.WebhookBackoffBase {
		errs = append(errs, errors.New("GUILDHALL_WEBHOOK_TIMEOUT and GUILDHALL_WEBHOOK_BACKOFF_BASE must be positive, GUILDHALL_WEBHOOK_BACKOFF_MAX at least the base"))
	}
	if p, err := clientip.ParsePrefixes(c.webhookAllowed); err != nil {
		errs = append(errs, fmt.Errorf("GUILDHALL_WEBHOOK_ALLOWED_NETWORKS: %w", err))
	} else {
		c.WebhookAllowedNetworks = p
	}
	if p, err := clientip.ParsePrefixes(c.trustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("GUILDHALL_TRUSTED_PROXIES: %w", err))
	} else {
		c.TrustedProxies = p
	}
	// Addresses and URLs the subcommand uses may not be set to nothing
	// (metrics, whose empty address turns it off, excepted).
	for _, v := range c.vars {
		if c.scope&scopeOf(v.flag) == 0 || !required(v.flag) {
			continue
		}
		if v.get() == "" {
			errs = append(errs, fmt.Errorf("%s is empty: unset it for the default (%s) or give a value", v.env, v.def))
		}
	}
	return errors.Join(errs...)
}

func (s SMTP) check() []error {
	var errs []error
	if !slices.Contains(SMTPTLSPolicies, s.TLS) {
		errs = append(errs, fmt.Errorf("GUILDHALL_SMTP_TLS: %q is not one of %s", s.TLS, strings.Join(SMTPTLSPolicies, ", ")))
	}
	if s.Port <= 0 || s.Port > 65535 {
		errs = append(errs, fmt.Errorf("GUILDHALL_SMTP_PORT: %d is not a port", s.Port))
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		errs = append(errs, fmt.Errorf("GUILDHALL_SMTP_FROM: %q is not an address like Guildhall <noreply@example.org>", s.From))
	}
	if s.Password != "" && s.Username == "" {
		errs = append(errs, errors.New("GUILDHALL_SMTP_PASSWORD is set without GUILDHALL_SMTP_USERNAME"))
	}
	return errs
}

func required(flagName string) bool {
	return flagName == "database-url" || flagName == "log-level" ||
		strings.HasSuffix(flagName, "-addr") && flagName != "metrics-addr" || strings.HasSuffix(flagName, "-target")
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

// Var is one setting as `guildhall env` shows it.
type Var struct {
	Env, Flag, Usage string
	// Default and Value are as configured, secrets redacted.
	Default, Value string
	Secret         bool
}

// Vars lists every setting with its default and effective value, sorted
// by variable name; secrets are redacted.
func (c *Config) Vars() []Var {
	out := make([]Var, 0, len(c.vars))
	for _, v := range c.vars {
		out = append(out, Var{Env: v.env, Flag: v.flag, Usage: v.usage, Default: redact(v.def, v.secret),
			Value: redact(v.get(), v.secret), Secret: v.secret})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Env < out[j].Env })
	return out
}

func redact(val string, secret bool) string {
	if secret && val != "" {
		return redactURL(val)
	}
	return val
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

// Fields is the effective configuration for one log line, secrets redacted:
// the settings of the subcommand's scope only, so that a command logs what
// it uses (seed, which only dials, no database URL or listen addresses).
func (c *Config) Fields() []zap.Field {
	out := make([]zap.Field, 0, len(c.vars))
	for _, v := range c.vars {
		if c.scope&scopeOf(v.flag) == 0 {
			continue
		}
		out = append(out, zap.String(v.env, redact(v.get(), v.secret)))
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
	lookup func(string) (string, bool)
	c      *Config
	errs   []error
}

func envName(flagName string) string {
	return "GUILDHALL_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// add records a setting and returns its variable's value, if set. A
// setting outside the scope is read from its variable but is no flag.
func (b *binder) add(name, def, usage string, secret bool, get func() string) (env, raw string, set bool) {
	env = envName(name)
	b.c.vars = append(b.c.vars, variable{env: env, flag: name, def: def, usage: usage, secret: secret, get: get})
	raw, set = b.lookup(env)
	if set {
		b.c.explicit[name] = true
	}
	return env, raw, set
}

// define adds the flag if the setting is in scope.
func (b *binder) define(v flag.Value, name, typ, usage string) {
	b.c.vars[len(b.c.vars)-1].typ = typ
	if b.c.scope&scopeOf(name) == 0 {
		return
	}
	b.fs.Var(marked{Value: v, mark: func() { b.c.explicit[name] = true }}, name, usage)
}

// PrintFlags writes the help of every flag of fs: its value's type, what
// it does, its variable and its default in code (secrets never shown).
func (c *Config) PrintFlags(fs *flag.FlagSet, w io.Writer) {
	byFlag := map[string]variable{}
	for _, v := range c.vars {
		byFlag[v.flag] = v
	}
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := byFlag[f.Name]
		if !ok {
			typ, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "  --%s %s\n    \t%s", f.Name, typ, usage)
			if f.DefValue != "" && f.DefValue != "false" {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(w)
			return
		}
		fmt.Fprintf(w, "  --%s %s\n    \t%s [%s]", f.Name, v.typ, v.usage, v.env)
		// A secret's default is shown redacted: the database URL's is a
		// plain local URL, which redaction keeps.
		if def := redact(v.def, v.secret); def != "" {
			fmt.Fprintf(w, " (default %s)", def)
		}
		fmt.Fprintln(w)
	})
}

// empty reports a set-but-empty variable where empty means nothing.
// parsed gives a setting the value its environment variable env holds
// (raw, when set) through v, the flag's own parser, over the default
// already in place, and defines the flag; what says what an empty value
// should have been.
func (b *binder) parsed(env, raw string, set bool, v flag.Value, name, typ, what, usage string) {
	switch {
	case set && raw == "":
		b.empty(env, what)
	case set:
		if err := v.Set(raw); err != nil {
			b.errs = append(b.errs, fmt.Errorf("%s: %w", env, err))
		}
	}
	b.define(v, name, typ, usage)
}

func (b *binder) empty(env, what string) {
	b.errs = append(b.errs, fmt.Errorf("%s is set but empty: unset it for the default, or give %s", env, what))
}

type stringValue struct{ p *string }

func (v stringValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}
func (v stringValue) Set(s string) error { *v.p = s; return nil }

func (b *binder) str(p *string, name, def, usage string, secret bool) {
	_, raw, set := b.add(name, def, usage, secret, func() string { return *p })
	*p = def
	if set {
		*p = raw
	}
	b.define(stringValue{p}, name, "string", usage)
}

type int64Value struct{ p *int64 }

func (v int64Value) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatInt(*v.p, 10)
}
func (v int64Value) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v.p = n
	return nil
}

func (b *binder) int64(p *int64, name string, def int64, usage string) {
	env, raw, set := b.add(name, strconv.FormatInt(def, 10), usage, false, func() string { return strconv.FormatInt(*p, 10) })
	*p = def
	b.parsed(env, raw, set, int64Value{p}, name, "int", "a whole number", usage)
}

type boolValue struct{ p *bool }

func (v boolValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatBool(*v.p)
}
func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*v.p = b
	return nil
}

// IsBoolFlag lets --name stand for --name=true, as flag.Bool does.
func (boolValue) IsBoolFlag() bool { return true }

func (b *binder) bool(p *bool, name string, def bool, usage string) {
	env, raw, set := b.add(name, strconv.FormatBool(def), usage, false, func() string { return strconv.FormatBool(*p) })
	*p = def
	b.parsed(env, raw, set, boolValue{p}, name, "bool", "true or false", usage)
}

const day = 24 * time.Hour

type durationValue struct{ p *time.Duration }

func (v durationValue) String() string {
	if v.p == nil {
		return ""
	}
	return formatDuration(*v.p)
}
func (v durationValue) Set(s string) error {
	d, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*v.p = d
	return nil
}

func (b *binder) duration(p *time.Duration, name string, def time.Duration, usage string) {
	env, raw, set := b.add(name, formatDuration(def), usage, false, func() string { return formatDuration(*p) })
	*p = def
	b.parsed(env, raw, set, durationValue{p}, name, "duration", "a duration like 30s, 2h or 90d", usage)
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

type listValue struct{ p *[]string }

func (v listValue) String() string {
	if v.p == nil {
		return ""
	}
	return strings.Join(*v.p, ",")
}
func (v listValue) Set(s string) error { *v.p = splitList(s); return nil }

// list reads a comma-separated list; an empty value is an empty list.
func (b *binder) list(p *[]string, name, usage string) {
	_, raw, _ := b.add(name, "", usage, false, func() string { return strings.Join(*p, ",") })
	*p = splitList(raw)
	b.define(listValue{p}, name, "list", usage)
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
