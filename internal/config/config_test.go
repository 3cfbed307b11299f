package config_test

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/guildhall/guildhall/internal/config"
)

// bind parses args over env the way a subcommand does.
func bind(t *testing.T, env map[string]string, args ...string) (*config.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := config.Bind(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "json")
	if err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return cfg, nil
}

func TestPrecedence(t *testing.T) {
	env := map[string]string{
		"GUILDHALL_HTTP_ADDR":      ":7000",
		"GUILDHALL_GRPC_ADDR":      ":7001",
		"GUILDHALL_SHUTDOWN_GRACE": "3s",
		"GUILDHALL_MAX_BODY_BYTES": "2048",
		"GUILDHALL_CORS_ORIGINS":   "https://a.example, https://b.example",
	}
	cfg, err := bind(t, env, "--http-addr=:6000", "--shutdown-grace=1s", "--cors-origins=https://c.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"flag beats env (string)", cfg.HTTPAddr, ":6000"},
		{"flag beats env (duration)", cfg.ShutdownGrace, time.Second},
		{"flag beats env (list)", cfg.CORSOrigins, []string{"https://c.example"}},
		{"env beats default (string)", cfg.GRPCAddr, ":7001"},
		{"env beats default (int)", cfg.MaxBodyBytes, int64(2048)},
		{"default", cfg.LogLevel, "info"},
		{"default (subcommand's)", cfg.LogFormat, "json"},
		{"default (int)", cfg.Service[config.Roadmap].Addr, ":9092"},
	} {
		if !equal(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}

	// The environment alone, with a list split on commas and trimmed.
	cfg, err = bind(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":7000" || cfg.ShutdownGrace != 3*time.Second ||
		!slices.Equal(cfg.CORSOrigins, []string{"https://a.example", "https://b.example"}) {
		t.Errorf("from env: http %q grace %v cors %q", cfg.HTTPAddr, cfg.ShutdownGrace, cfg.CORSOrigins)
	}

	// Nothing set: the defaults in code.
	cfg, err = bind(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":8080" || cfg.ShutdownGrace != 20*time.Second || cfg.MaxBodyBytes != 1<<20 || len(cfg.CORSOrigins) != 0 {
		t.Errorf("defaults: http %q grace %v max body %d cors %q", cfg.HTTPAddr, cfg.ShutdownGrace, cfg.MaxBodyBytes, cfg.CORSOrigins)
	}
}

func equal(a, b any) bool {
	if as, ok := a.([]string); ok {
		bs, ok := b.([]string)
		return ok && slices.Equal(as, bs)
	}
	return a == b
}

func TestBadEnvValue(t *testing.T) {
	for _, c := range []struct{ name, value string }{
		{"GUILDHALL_SHUTDOWN_GRACE", "20"},
		{"GUILDHALL_SHUTDOWN_GRACE", "soon"},
		{"GUILDHALL_MAX_BODY_BYTES", "1MB"},
		{"GUILDHALL_MAX_BODY_BYTES", "1.5"},
		{"GUILDHALL_MIGRATE_ON_START", "no"},
	} {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			_, err := bind(t, map[string]string{c.name: c.value})
			if err == nil || !strings.Contains(err.Error(), c.name) || !strings.Contains(err.Error(), c.value) {
				t.Fatalf("got error %v; want one naming %s and %q", err, c.name, c.value)
			}
		})
	}
	// A bad flag is an error too (and not silently the env value).
	if _, err := bind(t, nil, "--shutdown-grace=soon"); err == nil {
		t.Error("--shutdown-grace=soon was accepted")
	}
}

// TestBoolSetting reads a true/false setting from its variable and its
// flag, the flag winning, and a bare flag as true, as flag.Bool does.
func TestBoolSetting(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want bool
	}{
		{"default", nil, nil, true},
		{"env", map[string]string{"GUILDHALL_MIGRATE_ON_START": "false"}, nil, false},
		{"flag beats env", map[string]string{"GUILDHALL_MIGRATE_ON_START": "false"}, []string{"--migrate-on-start=true"}, true},
		{"flag", nil, []string{"--migrate-on-start=false"}, false},
		{"bare flag", map[string]string{"GUILDHALL_MIGRATE_ON_START": "0"}, []string{"--migrate-on-start"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := bind(t, c.env, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MigrateOnStart != c.want {
				t.Errorf("MigrateOnStart = %v, want %v", cfg.MigrateOnStart, c.want)
			}
		})
	}
	if _, err := bind(t, nil, "--migrate-on-start=maybe"); err == nil {
		t.Error("--migrate-on-start=maybe was accepted")
	}
}

func TestComplete(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     map[string]string
		wantErr string // "" for valid
	}{
		{"defaults", nil, ""},
		{"console logs", map[string]string{"GUILDHALL_LOG_FORMAT": "console"}, ""},
		{"bad log format", map[string]string{"GUILDHALL_LOG_FORMAT": "xml"}, "GUILDHALL_LOG_FORMAT"},
		{"good origins", map[string]string{"GUILDHALL_CORS_ORIGINS": "https://a.example,http://localhost:3000"}, ""},
		{"any origin", map[string]string{"GUILDHALL_CORS_ORIGINS": "*"}, ""},
		{"origin without scheme", map[string]string{"GUILDHALL_CORS_ORIGINS": "https://a.example,b.example"}, `"b.example"`},
		{"origin without host", map[string]string{"GUILDHALL_CORS_ORIGINS": "https://"}, "GUILDHALL_CORS_ORIGINS"},
		{"origin not a URL", map[string]string{"GUILDHALL_CORS_ORIGINS": "::nonsense"}, "GUILDHALL_CORS_ORIGINS"},
		// Browsers send no path: these would silently never match.
		{"origin with trailing slash", map[string]string{"GUILDHALL_CORS_ORIGINS": "https://a.example/"}, `"https://a.example/"`},
		{"origin with path", map[string]string{"GUILDHALL_CORS_ORIGINS": "https://a.example/app"}, "GUILDHALL_CORS_ORIGINS"},
		{"origin with port", map[string]string{"GUILDHALL_CORS_ORIGINS": "http://localhost:3000"}, ""},
		{"wildcard subdomain", map[string]string{"GUILDHALL_CORS_ORIGINS": "https://*.example.org"}, ""},
		{"zero body limit", map[string]string{"GUILDHALL_MAX_BODY_BYTES": "0"}, "GUILDHALL_MAX_BODY_BYTES"},
		{"negative body limit", map[string]string{"GUILDHALL_MAX_BODY_BYTES": "-1"}, "GUILDHALL_MAX_BODY_BYTES"},
		// Retries within a day must replay: shorter retention is refused.
		{"request ids kept an hour", map[string]string{"GUILDHALL_IDEMPOTENCY_RETENTION": "1h"}, "GUILDHALL_IDEMPOTENCY_RETENTION"},
		{"request ids kept a day", map[string]string{"GUILDHALL_IDEMPOTENCY_RETENTION": "24h"}, ""},
		{"request ids kept 30 days", map[string]string{"GUILDHALL_IDEMPOTENCY_RETENTION": "30d"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := bind(t, c.env)
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Complete()
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("Complete: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("Complete: got %v, want an error mentioning %s", err, c.wantErr)
			}
		})
	}
}

func TestCompleteFillsServiceDatabases(t *testing.T) {
	cfg, err := bind(t, map[string]string{
		"GUILDHALL_DATABASE_URL":         "postgres://h/shared",
		"GUILDHALL_FINANCE_DATABASE_URL": "postgres://h/finance",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Complete(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{config.Membership: "postgres://h/shared", config.Roadmap: "postgres://h/shared", config.Finance: "postgres://h/finance"}
	for svc, url := range want {
		if got := cfg.Service[svc].DatabaseURL; got != url {
			t.Errorf("%s database: %q, want %q", svc, got, url)
		}
	}
}

// logged renders Fields() as the log line main writes.
func logged(t *testing.T, cfg *config.Config) (string, map[string]string) {
	t.Helper()
	var sb strings.Builder
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	core := zapcore.NewCore(enc, zapcore.AddSync(&sb), zapcore.DebugLevel)
	zap.New(core).Info("configuration", cfg.Fields()...)
	m := map[string]string{}
	for _, f := range cfg.Fields() {
		m[f.Key] = f.String
	}
	return sb.String(), m
}

func TestFieldsRedactSecrets(t *testing.T) {
	for _, c := range []struct {
		name, url, want string
	}{
		{"password in userinfo", "postgres://u:secret@db.example:5432/guildhall?sslmode=disable", "postgres://u:redacted@db.example:5432/guildhall?sslmode=disable"},
		{"password in query", "postgres://u@db.example/guildhall?sslmode=disable&password=secret", "postgres://u@db.example/guildhall?password=redacted&sslmode=disable"},
		{"ssl key password in query", "postgres://u:secret@db.example/guildhall?sslpassword=secret", "postgres://u:redacted@db.example/guildhall?sslpassword=redacted"},
		{"keyword form", "host=db.example user=u password=secret dbname=guildhall", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := bind(t, map[string]string{
				"GUILDHALL_DATABASE_URL":          c.url,
				"GUILDHALL_ROADMAP_DATABASE_URL":  strings.ReplaceAll(c.url, "guildhall", "roadmap"),
				"GUILDHALL_INTERNAL_TOKEN":        "secret-internal",
				"GUILDHALL_BOOTSTRAP_ADMIN_TOKEN": "gh_secret-admin",
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Complete(); err != nil {
				t.Fatal(err)
			}
			line, fields := logged(t, cfg)
			if strings.Contains(line, "secret") {
				t.Fatalf("the logged configuration shows the password:\n%s", line)
			}
			got := fields["GUILDHALL_DATABASE_URL"]
			if got == "" {
				t.Fatalf("GUILDHALL_DATABASE_URL missing from Fields:\n%s", line)
			}
			if c.want != "" && got != c.want {
				t.Errorf("GUILDHALL_DATABASE_URL logged as %q, want %q", got, c.want)
			}
			if fields["GUILDHALL_HTTP_ADDR"] != ":8080" {
				t.Errorf("non-secret GUILDHALL_HTTP_ADDR logged as %q", fields["GUILDHALL_HTTP_ADDR"])
			}
		})
	}
	// Every setting is logged once.
	cfg, _ := bind(t, nil)
	_, fields := logged(t, cfg)
	if len(fields) != len(cfg.EnvVars()) || len(cfg.Fields()) != len(cfg.EnvVars()) {
		t.Errorf("Fields logs %d settings, EnvVars lists %d", len(cfg.Fields()), len(cfg.EnvVars()))
	}
}

func TestUnknown(t *testing.T) {
	cfg, err := bind(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	environ := []string{
		"PATH=/usr/bin",
		"GUILDHALL_HTTP_ADDR=:1",
		"GUILDHALL_TYPO=1",
		"GUILDHALL_DATABSE_URL=postgres://x",
		"GUILDHALL_TOKEN=abc",
		"guildhall_lower=1",
	}
	got := cfg.Unknown(environ)
	want := []string{"GUILDHALL_TYPO", "GUILDHALL_DATABSE_URL", "GUILDHALL_TOKEN"}
	if !slices.Equal(got, want) {
		t.Errorf("Unknown = %q, want %q", got, want)
	}
	// Names read elsewhere can be declared known.
	if got := cfg.Unknown(environ, "GUILDHALL_TOKEN"); !slices.Equal(got, want[:2]) {
		t.Errorf("Unknown with extra = %q, want %q", got, want[:2])
	}
	// Every name the binary lists is known.
	var all []string
	for _, name := range cfg.EnvVars() {
		all = append(all, name+"=x")
	}
	if got := cfg.Unknown(all); len(got) != 0 {
		t.Errorf("EnvVars lists names Unknown reports: %q", got)
	}
}

func TestEnvVars(t *testing.T) {
	cfg, err := bind(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	vars := cfg.EnvVars()
	if !slices.IsSorted(vars) || len(slices.Compact(slices.Clone(vars))) != len(vars) {
		t.Errorf("EnvVars not sorted and unique: %q", vars)
	}
	for _, want := range []string{"GUILDHALL_DATABASE_URL", "GUILDHALL_LOG_FORMAT", "GUILDHALL_SHUTDOWN_GRACE",
		"GUILDHALL_MEMBERSHIP_DATABASE_URL", "GUILDHALL_ROADMAP_TARGET", "GUILDHALL_FINANCE_ADDR", "GUILDHALL_CORS_ORIGINS"} {
		if !slices.Contains(vars, want) {
			t.Errorf("EnvVars lacks %s", want)
		}
	}
}

// TestEmptyValues checks that a variable set to nothing is used as it is
// where empty means something, and is an error naming it where it cannot.
func TestEmptyValues(t *testing.T) {
	cfg, err := bind(t, map[string]string{
		"GUILDHALL_METRICS_ADDR":          "",
		"GUILDHALL_CORS_ORIGINS":          "",
		"GUILDHALL_BOOTSTRAP_ADMIN_TOKEN": "",
		"GUILDHALL_TRUSTED_PROXIES":       "",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsAddr != "" || len(cfg.CORSOrigins) != 0 || cfg.BootstrapAdminToken != "" {
		t.Errorf("empty variables ignored: metrics %q cors %q token %q", cfg.MetricsAddr, cfg.CORSOrigins, cfg.BootstrapAdminToken)
	}
	if err := cfg.Complete(); err != nil {
		t.Errorf("empty metrics address refused: %v", err)
	}
	if cfg, _ := bind(t, nil); cfg.MetricsAddr != ":9464" || cfg.IsSet("metrics-addr") {
		t.Errorf("unset: metrics %q, IsSet %v", cfg.MetricsAddr, cfg.IsSet("metrics-addr"))
	}
	for _, name := range []string{"GUILDHALL_MAX_BODY_BYTES", "GUILDHALL_SHUTDOWN_GRACE", "GUILDHALL_DRIFT_WINDOW", "GUILDHALL_MIGRATE_ON_START"} {
		if _, err := bind(t, map[string]string{name: ""}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s set to nothing: %v, want an error naming it", name, err)
		}
	}
	for _, name := range []string{"GUILDHALL_HTTP_ADDR", "GUILDHALL_GRPC_ADDR", "GUILDHALL_DATABASE_URL", "GUILDHALL_ROADMAP_TARGET"} {
		cfg, err := bind(t, map[string]string{name: ""})
		if err == nil {
			err = cfg.Complete()
		}
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s set to nothing: %v, want an error naming it", name, err)
		}
	}
}

// TestScopes checks each kind of subcommand gets only its own flags, each
// shown with its value's type.
func TestScopes(t *testing.T) {
	flags := func(scope config.Scope) (map[string]bool, string) {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		cfg, err := config.Bind(fs, func(string) (string, bool) { return "", false }, "json", scope)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		fs.VisitAll(func(f *flag.Flag) { out[f.Name] = true })
		var help strings.Builder
		cfg.PrintFlags(fs, &help)
		return out, help.String()
	}
	for _, c := range []struct {
		scope     config.Scope
		want, not []string
	}{
		{config.ScopeMigrate, []string{"database-url", "finance-database-url", "log-level"}, []string{"http-addr", "grpc-addr", "finance-addr", "metrics-addr", "drift-window"}},
		{config.ScopeSeed, []string{"grpc-addr", "roadmap-target", "bootstrap-admin-token"}, []string{"database-url", "http-addr", "drift-window"}},
		{config.ScopeGateway, []string{"http-addr", "cors-origins", "finance-target", "trusted-proxies", "read-timeout"}, []string{"database-url", "finance-addr", "drift-window"}},
		{config.ScopeService, []string{"finance-addr", "database-url", "membership-target", "drift-window", "trusted-proxies"}, []string{"http-addr", "cors-origins"}},
		{config.ScopeDev, []string{"http-addr", "grpc-addr", "drift-window", "database-url"}, []string{"finance-addr"}},
		// 'serve <part>' shows that part's settings only.
		{config.ServiceScope(config.Finance), []string{"finance-addr", "finance-database-url", "database-url", "membership-target", "dual-approval-above", "idempotency-retention"},
			[]string{"roadmap-addr", "membership-addr", "roadmap-database-url", "finance-target", "stale-after", "drift-window", "bootstrap-admin-token"}},
		{config.ServiceScope(config.Roadmap), []string{"roadmap-addr", "stale-after", "membership-target"}, []string{"finance-addr", "dual-approval-above", "finance-database-url", "drift-window"}},
		{config.ServiceScope(config.Membership), []string{"membership-addr", "drift-window", "bootstrap-admin-token", "volunteer-rate-per-minute"}, []string{"finance-addr", "roadmap-addr", "stale-after", "dual-approval-above"}},
	} {
		got, help := flags(c.scope)
		for _, w := range c.want {
			if !got[w] {
				t.Errorf("scope %d lacks --%s", c.scope, w)
			}
		}
		for _, n := range c.not {
			if got[n] {
				t.Errorf("scope %d has --%s, which it does not use", c.scope, n)
			}
		}
		for _, line := range strings.Split(help, "\n") {
			if strings.HasPrefix(line, "  --") {
				if f := strings.Fields(line); len(f) != 2 || !slices.Contains([]string{"string", "int", "duration", "list", "bool"}, f[1]) {
					t.Errorf("flag help %q does not name a value type", line)
				}
			}
		}
	}
	_, help := flags(config.ScopeAll)
	for _, want := range []string{"  --finance-addr string\n", "  --drift-window duration\n", "  --cors-origins list\n", "  --max-body-bytes int\n", "  --migrate-on-start bool\n", "(default :9464)", "(default postgres://localhost:5432/guildhall?sslmode=disable)"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	cfg, err := bind(t, map[string]string{"GUILDHALL_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Complete(); err != nil || len(cfg.TrustedProxies) != 3 || cfg.TrustedProxies[1].String() != "192.0.2.7/32" {
		t.Fatalf("%v %v", cfg.TrustedProxies, err)
	}
	cfg, _ = bind(t, map[string]string{"GUILDHALL_TRUSTED_PROXIES": "10.0.0.0/8,proxy.example"})
	if err := cfg.Complete(); err == nil || !strings.Contains(err.Error(), "GUILDHALL_TRUSTED_PROXIES") {
		t.Fatalf("a host name accepted as a proxy: %v", err)
	}
}

// TestFieldsInScope: the configuration log line holds the settings of the
// subcommand's scope only; seed, which only dials, logs no database URL.
func TestFieldsInScope(t *testing.T) {
	cfg, err := config.Bind(flag.NewFlagSet("seed", flag.ContinueOnError), func(string) (string, bool) { return "", false }, "json", config.ScopeSeed)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, f := range cfg.Fields() {
		keys[f.Key] = true
	}
	for _, want := range []string{"GUILDHALL_GRPC_ADDR", "GUILDHALL_FINANCE_TARGET", "GUILDHALL_LOG_LEVEL"} {
		if !keys[want] {
			t.Errorf("seed's configuration lacks %s: %v", want, keys)
		}
	}
	for _, not := range []string{"GUILDHALL_DATABASE_URL", "GUILDHALL_HTTP_ADDR", "GUILDHALL_FINANCE_ADDR", "GUILDHALL_DRIFT_WINDOW", "GUILDHALL_INTERNAL_TOKEN"} {
		if keys[not] {
			t.Errorf("seed logs %s, which it does not use", not)
		}
	}
}

func TestOIDCIssuers(t *testing.T) {
	cfg, err := bind(t, map[string]string{"GUILDHALL_OIDC_ISSUERS": "https://id.example.org/realms/sme=guildhall, https://accounts.google.com=123.apps.googleusercontent.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Complete(); err != nil || len(cfg.OIDCIssuers) != 2 ||
		cfg.OIDCIssuers[0] != (config.OIDCIssuer{URL: "https://id.example.org/realms/sme", Audience: "guildhall"}) ||
		cfg.OIDCIssuers[1].Audience != "123.apps.googleusercontent.com" {
		t.Fatalf("%v %v", cfg.OIDCIssuers, err)
	}
	for _, bad := range []string{
		"https://id.example.org",                  // no audience
		"id.example.org=guildhall",                // not a URL
		"https://id.example.org?x=1=aud",          // a query
		"https://a.example=x,https://a.example=y", // twice
	} {
		cfg, _ := bind(t, map[string]string{"GUILDHALL_OIDC_ISSUERS": bad})
		if err := cfg.Complete(); err == nil || !strings.Contains(err.Error(), "GUILDHALL_OIDC_ISSUERS") {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}
