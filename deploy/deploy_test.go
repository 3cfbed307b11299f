package deploy_test

// These tests keep the deployment honest without Docker: they load
// docker-compose.yml the way `docker compose` does (compose-go) and check it
// against what the guildhall binary itself says it reads and runs. A typo in
// a variable name or subcommand would otherwise be ignored until a container
// misbehaves.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const (
	composeFile = "docker-compose.yml"
	dockerfile  = "Dockerfile"
	// binPath is where the image's ENTRYPOINT puts the binary; healthchecks
	// call it directly because distroless has no shell.
	binPath = "/guildhall"
)

// The three gRPC services, each with its own database of the same name.
var grpcServices = []string{"membership", "roadmap", "finance"}

var (
	knownEnv      map[string]bool // `guildhall env --names`
	knownCommands [][]string      // `guildhall commands`, split into words
)

func TestMain(m *testing.M) {
	if err := loadBinaryFacts(); err != nil {
		fmt.Fprintln(os.Stderr, "deploy_test:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// loadBinaryFacts builds the real binary and asks it for its environment
// variables and subcommands, so the test follows the code, not a copy of it.
func loadBinaryFacts() error {
	dir, err := os.MkdirTemp("", "guildhall-deploy-test")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "guildhall")

	build := exec.Command("go", "build", "-o", bin, "./cmd/guildhall")
	build.Dir = ".." // the module root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/guildhall: %v\n%s", err, out)
	}

	envLines, err := runLines(bin, "env", "--names")
	if err != nil {
		return err
	}
	knownEnv = map[string]bool{}
	for _, l := range envLines {
		knownEnv[l] = true
	}
	cmdLines, err := runLines(bin, "commands")
	if err != nil {
		return err
	}
	for _, l := range cmdLines {
		knownCommands = append(knownCommands, strings.Fields(l))
	}
	if len(knownEnv) == 0 || len(knownCommands) == 0 {
		return fmt.Errorf("`guildhall env` (%d lines) and `guildhall commands` (%d lines) must both list something",
			len(knownEnv), len(knownCommands))
	}
	return nil
}

func runLines(bin string, args ...string) ([]string, error) {
	cmd := exec.Command(bin, args...)
	// A clean environment: the listing must not depend on the caller's.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("guildhall %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, sc.Err()
}

// otelVars are the OpenTelemetry variables tracing reads (internal/telemetry
// and the SDK's exporters and resource).
var otelVars = map[string]bool{
	"OTEL_EXPORTER_OTLP_ENDPOINT": true, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": true,
	"OTEL_EXPORTER_OTLP_PROTOCOL": true, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": true,
	"OTEL_EXPORTER_OTLP_HEADERS": true, "OTEL_EXPORTER_OTLP_TIMEOUT": true,
	"OTEL_EXPORTER_OTLP_CERTIFICATE": true, "OTEL_EXPORTER_OTLP_INSECURE": true,
	"OTEL_TRACES_EXPORTER": true, "OTEL_TRACES_SAMPLER": true, "OTEL_TRACES_SAMPLER_ARG": true,
	"OTEL_SERVICE_NAME": true, "OTEL_RESOURCE_ATTRIBUTES": true, "OTEL_SDK_DISABLED": true,
}

// requiredSecrets are the variables compose refuses to start without; the
// test supplies stand-ins, as an operator supplies real ones.
var requiredSecrets = map[string]string{
	"GUILDHALL_INTERNAL_TOKEN": "test-internal-token",
	"POSTGRES_PASSWORD":        "test-postgres-password",
}

// loadProject reads the compose file with only its own defaults (and the
// required secrets) interpolated, so a developer's shell cannot change what is tested.
func loadProject(t *testing.T) *types.Project {
	t.Helper()
	var env []string
	for k, v := range requiredSecrets {
		env = append(env, k+"="+v)
	}
	p, err := loadProjectEnv(env)
	if err != nil {
		t.Fatalf("load %s: %v", composeFile, err)
	}
	return p
}

// loadProjectEnv reads the compose file with exactly env as its environment
// (no .env file), as `docker compose config` would.
func loadProjectEnv(env []string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions([]string{composeFile},
		cli.WithWorkingDirectory("."),
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
		cli.WithEnv(env),
	)
	if err != nil {
		return nil, fmt.Errorf("compose options: %v", err)
	}
	return opts.LoadProject(context.Background())
}

// guildhallServices are the services run from this directory's Dockerfile.
func guildhallServices(t *testing.T, p *types.Project) []types.ServiceConfig {
	t.Helper()
	want, err := filepath.Abs(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var out []types.ServiceConfig
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Build == nil {
			continue
		}
		df := s.Build.Dockerfile
		if !filepath.IsAbs(df) {
			df = filepath.Join(s.Build.Context, df)
		}
		if filepath.Clean(df) != want {
			t.Errorf("service %q builds %s; expected this directory's %s", name, df, want)
			continue
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatalf("no service in %s builds %s", composeFile, dockerfile)
	}
	return out
}

// oneShot reports whether some service waits for s to exit successfully.
func oneShot(p *types.Project, s string) bool {
	for _, other := range p.Services {
		if d, ok := other.DependsOn[s]; ok && d.Condition == types.ServiceConditionCompletedSuccessfully {
			return true
		}
	}
	return false
}

// subcommand is args up to the first flag: the words that select a command.
func subcommand(args []string) []string {
	for i, a := range args {
		if strings.HasPrefix(a, "-") {
			return args[:i]
		}
	}
	return args
}

// isKnownCommand reports whether args starts with one of the binary's
// command paths; words after it are positional arguments.
func isKnownCommand(args []string) bool {
	if len(args) == 0 {
		return false
	}
	for _, known := range knownCommands {
		if len(known) <= len(args) && slices.Equal(known, args[:len(known)]) {
			return true
		}
	}
	return false
}

func commandList() string {
	var s []string
	for _, c := range knownCommands {
		s = append(s, strings.Join(c, " "))
	}
	return strings.Join(s, ", ")
}

func TestComposeEnvironmentIsKnown(t *testing.T) {
	p := loadProject(t)
	for _, name := range p.ServiceNames() {
		t.Run(name, func(t *testing.T) {
			for _, key := range sortedKeys(p.Services[name].Environment) {
				if strings.HasPrefix(key, "GUILDHALL_") && !knownEnv[key] {
					t.Errorf("service %q sets %s, which `guildhall env` does not list: a typo, or a setting the binary does not read",
						name, key)
				}
			}
		})
	}
	// The binary reads nothing else (but the OpenTelemetry SDK's standard
	// variables), so anything else on its containers is a misspelt name.
	for _, s := range guildhallServices(t, p) {
		t.Run(s.Name+"/only GUILDHALL_", func(t *testing.T) {
			for _, key := range sortedKeys(s.Environment) {
				if !strings.HasPrefix(key, "GUILDHALL_") && !otelVars[key] {
					t.Errorf("service %q sets %s; guildhall reads only GUILDHALL_* and the standard OTEL_* variables", s.Name, key)
				}
			}
		})
	}
}

func TestComposeCommandsExist(t *testing.T) {
	p := loadProject(t)
	for _, s := range guildhallServices(t, p) {
		t.Run(s.Name+"/command", func(t *testing.T) {
			if len(s.Entrypoint) > 0 {
				t.Errorf("service %q overrides the entrypoint with %q; command must stay arguments to %s",
					s.Name, s.Entrypoint, binPath)
			}
			if len(s.Command) == 0 {
				t.Fatalf("service %q has no command; name its role explicitly rather than rely on the image's CMD", s.Name)
			}
			if sub := subcommand(s.Command); !isKnownCommand(sub) {
				t.Errorf("service %q runs `guildhall %s`, not one of `guildhall commands`: %s",
					s.Name, strings.Join(sub, " "), commandList())
			}
		})
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
			continue // a missing healthcheck is TestComposeHealthchecks's business
		}
		t.Run(s.Name+"/healthcheck", func(t *testing.T) {
			test := s.HealthCheck.Test
			// Exec form only: the distroless image has no shell for CMD-SHELL.
			if len(test) < 3 || test[0] != "CMD" || test[1] != binPath {
				t.Fatalf("service %q healthcheck is %q; want [\"CMD\", %q, <subcommand>...] (no shell in the image)",
					s.Name, test, binPath)
			}
			if sub := subcommand(test[2:]); !isKnownCommand(sub) {
				t.Errorf("service %q healthcheck runs `guildhall %s`, not one of `guildhall commands`: %s",
					s.Name, strings.Join(sub, " "), commandList())
			}
		})
	}
}

func TestComposeStartupOrder(t *testing.T) {
	p := loadProject(t)
	type dep struct{ service, on, condition string }
	deps := []dep{
		{"migrate", "postgres", types.ServiceConditionHealthy},
		{"gateway", "membership", types.ServiceConditionHealthy},
		{"gateway", "roadmap", types.ServiceConditionHealthy},
		{"gateway", "finance", types.ServiceConditionHealthy},
	}
	for _, svc := range grpcServices {
		deps = append(deps, dep{svc, "migrate", types.ServiceConditionCompletedSuccessfully})
	}
	for _, d := range deps {
		t.Run(d.service+"->"+d.on, func(t *testing.T) {
			s, ok := p.Services[d.service]
			if !ok {
				t.Fatalf("no service %q in %s", d.service, composeFile)
			}
			got, ok := s.DependsOn[d.on]
			if !ok {
				t.Fatalf("service %q does not depend on %q; want condition %s", d.service, d.on, d.condition)
			}
			if got.Condition != d.condition {
				t.Errorf("service %q waits for %q with condition %q; want %q", d.service, d.on, got.Condition, d.condition)
			}
		})
	}
}

func TestComposeHealthchecks(t *testing.T) {
	p := loadProject(t)
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		t.Run(name, func(t *testing.T) {
			if oneShot(p, name) {
				// A job that others wait to finish must not be restarted.
				if s.Restart != "" && s.Restart != types.RestartPolicyNo {
					t.Errorf("one-shot service %q has restart %q; want \"no\"", name, s.Restart)
				}
				return
			}
			hc := s.HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
				t.Errorf("long-running service %q has no healthcheck, so nothing can wait for it with service_healthy", name)
			}
		})
	}
}

func TestComposeDatabases(t *testing.T) {
	p := loadProject(t)
	dsnKey := func(svc string) string { return "GUILDHALL_" + strings.ToUpper(svc) + "_DATABASE_URL" }

	// Every DSN, wherever it is set, names its service's database on a
	// service of this project.
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		for _, svc := range grpcServices {
			v, ok := s.Environment[dsnKey(svc)]
			if !ok {
				continue
			}
			t.Run(name+"/"+dsnKey(svc), func(t *testing.T) {
				if v == nil || *v == "" {
					t.Fatalf("service %q sets %s to nothing", name, dsnKey(svc))
				}
				u, err := url.Parse(*v)
				if err != nil {
					t.Fatalf("service %q: %s is not a URL: %v", name, dsnKey(svc), err)
				}
				if db := strings.TrimPrefix(u.Path, "/"); db != svc {
					t.Errorf("service %q: %s points at database %q; want %q", name, dsnKey(svc), db, svc)
				}
				if _, ok := p.Services[u.Hostname()]; !ok {
					t.Errorf("service %q: %s points at host %q, which is not a service of this project", name, dsnKey(svc), u.Hostname())
				}
			})
		}
	}

	// Each service reaches its own database and only that one; migrate all.
	for _, svc := range grpcServices {
		t.Run(svc+"/own database only", func(t *testing.T) {
			s, ok := p.Services[svc]
			if !ok {
				t.Fatalf("no service %q in %s", svc, composeFile)
			}
			if _, ok := s.Environment[dsnKey(svc)]; !ok {
				t.Errorf("service %q does not set %s", svc, dsnKey(svc))
			}
			if _, ok := s.Environment["GUILDHALL_DATABASE_URL"]; ok {
				t.Errorf("service %q sets GUILDHALL_DATABASE_URL; give it only %s", svc, dsnKey(svc))
			}
			for _, other := range grpcServices {
				if other != svc {
					if _, ok := s.Environment[dsnKey(other)]; ok {
						t.Errorf("service %q sets %s: services must not reach each other's databases", svc, dsnKey(other))
					}
				}
			}
		})
		t.Run("migrate sets "+dsnKey(svc), func(t *testing.T) {
			if _, ok := p.Services["migrate"].Environment[dsnKey(svc)]; !ok {
				t.Errorf("migrate does not set %s, so it would migrate %s in the fallback database", dsnKey(svc), svc)
			}
		})
	}
}

// TestComposePortsAgree checks that each gRPC service listens where the
// others dial it and where its healthcheck probes.
func TestComposePortsAgree(t *testing.T) {
	p := loadProject(t)
	for _, svc := range grpcServices {
		t.Run(svc, func(t *testing.T) {
			s, ok := p.Services[svc]
			if !ok {
				t.Fatalf("no service %q in %s", svc, composeFile)
			}
			prefix := "GUILDHALL_" + strings.ToUpper(svc)
			addr := envValue(s, prefix+"_ADDR")
			if addr == "" {
				t.Fatalf("service %q does not set %s_ADDR; set it so the ports below can be checked against it", svc, prefix)
			}
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				t.Fatalf("service %q: %s_ADDR %q: %v", svc, prefix, addr, err)
			}
			for _, other := range p.ServiceNames() {
				target := envValue(p.Services[other], prefix+"_TARGET")
				if target == "" {
					continue
				}
				host, tport, err := net.SplitHostPort(target)
				if err != nil || host != svc || tport != port {
					t.Errorf("service %q dials %s at %s_TARGET=%q; want %s:%s", other, svc, prefix, target, svc, port)
				}
			}
			if hc := s.HealthCheck; hc != nil && !hc.Disable && len(hc.Test) > 0 {
				if i := slices.Index(hc.Test, "--grpc"); i >= 0 && i+1 < len(hc.Test) {
					if _, hport, _ := net.SplitHostPort(hc.Test[i+1]); hport != port {
						t.Errorf("service %q listens on port %s but its healthcheck probes %s", svc, port, hc.Test[i+1])
					}
				} else {
					t.Errorf("service %q healthcheck %q has no --grpc address", svc, hc.Test)
				}
			}
			for _, pc := range s.Ports {
				if pc.Target != 0 && strconv.FormatUint(uint64(pc.Target), 10) != port {
					t.Errorf("service %q publishes container port %d but listens on %s", svc, pc.Target, port)
				}
			}
		})
	}
}

// instruction is one Dockerfile instruction with continuation lines joined.
type instruction struct {
	cmd  string // upper case
	args string
	line int
}

type stage struct {
	name   string
	base   string
	instrs []instruction
}

func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		stages  []stage
		pending string
		start   int
	)
	for i, raw := range strings.Split(string(data), "\n") {
		l := strings.TrimSpace(raw)
		if pending == "" && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if pending == "" {
			start = i + 1
		} else if strings.HasPrefix(l, "#") {
			continue // comments may sit inside a continued instruction
		}
		if cont, ok := strings.CutSuffix(l, `\`); ok {
			pending += cont + " "
			continue
		}
		full := pending + l
		pending = ""
		cmd, args, _ := strings.Cut(full, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			var st stage
			for j := 0; j < len(f); j++ {
				switch {
				case strings.HasPrefix(f[j], "--"):
				case strings.EqualFold(f[j], "AS") && j+1 < len(f):
					st.name = f[j+1]
					j++
				case st.base == "":
					st.base = f[j]
				}
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			continue // ARG before the first FROM
		}
		last := &stages[len(stages)-1]
		last.instrs = append(last.instrs, in)
	}
	if len(stages) == 0 {
		t.Fatalf("%s has no FROM", path)
	}
	return stages
}

// finalUser resolves who the last stage runs as: its own last USER, else its
// base stage's, else the base image's default ("" if unknown).
func finalUser(stages []stage, i int) (user, from string) {
	for j := len(stages[i].instrs) - 1; j >= 0; j-- {
		if in := stages[i].instrs[j]; in.cmd == "USER" {
			return in.args, fmt.Sprintf("USER on line %d", in.line)
		}
	}
	for j := 0; j < i; j++ {
		if stages[j].name != "" && stages[j].name == stages[i].base {
			return finalUser(stages, j)
		}
	}
	// distroless images name their non-root variants with a nonroot tag.
	ref, _, _ := strings.Cut(stages[i].base, "@") // drop any digest
	if _, tag, ok := strings.Cut(ref[strings.LastIndex(ref, "/")+1:], ":"); ok &&
		(tag == "nonroot" || strings.HasSuffix(tag, "-nonroot")) {
		return "nonroot", "base image " + stages[i].base
	}
	return "", "base image " + stages[i].base
}

var execForm = regexp.MustCompile(`^\[\s*(.*?)\s*\]$`)

// execArgs parses an exec-form JSON array of plain strings; ok is false for
// shell form.
func execArgs(s string) (args []string, ok bool) {
	m := execForm.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return nil, false
	}
	for _, a := range strings.Split(m[1], ",") {
		a = strings.TrimSpace(a)
		uq, err := strconv.Unquote(a)
		if err != nil {
			return nil, false
		}
		args = append(args, uq)
	}
	return args, true
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, dockerfile)
	final := stages[len(stages)-1]

	t.Run("final stage runs as non-root", func(t *testing.T) {
		user, from := finalUser(stages, len(stages)-1)
		name, _, _ := strings.Cut(user, ":")
		switch uid, err := strconv.Atoi(name); {
		case name == "":
			t.Errorf("final stage (FROM %s) sets no USER and its base is not a :nonroot image, so it runs as root", final.base)
		case err == nil && uid == 0, name == "root":
			t.Errorf("final stage runs as %q (%s); want a non-root user such as nonroot or 65532", user, from)
		}
	})

	t.Run("static build", func(t *testing.T) {
		found := false
		for _, st := range stages {
			cgoOff := false
			for _, in := range st.instrs {
				if (in.cmd == "ENV" || in.cmd == "ARG") && strings.Contains(in.args, "CGO_ENABLED=0") {
					cgoOff = true
				}
				if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
					continue
				}
				found = true
				if !cgoOff && !strings.Contains(in.args, "CGO_ENABLED=0") {
					t.Errorf("line %d builds without CGO_ENABLED=0; the binary must be static to run on %s", in.line, final.base)
				}
			}
		}
		if !found {
			t.Errorf("%s has no RUN ... go build", dockerfile)
		}
	})

	t.Run("entrypoint", func(t *testing.T) {
		var entry, command []string
		for _, in := range final.instrs {
			var ok bool
			switch in.cmd {
			case "ENTRYPOINT":
				if entry, ok = execArgs(in.args); !ok {
					t.Errorf("line %d: ENTRYPOINT must be exec form (no shell in the image), got %s", in.line, in.args)
				}
			case "CMD":
				if command, ok = execArgs(in.args); !ok {
					t.Errorf("line %d: CMD must be exec form, got %s", in.line, in.args)
				}
			}
		}
		// Compose passes `command` as arguments and healthchecks call binPath.
		if !slices.Equal(entry, []string{binPath}) {
			t.Errorf("final stage ENTRYPOINT is %q; want [%q]", entry, binPath)
		}
		if command != nil && !isKnownCommand(subcommand(command)) {
			t.Errorf("final stage CMD runs `guildhall %s`, not one of `guildhall commands`: %s",
				strings.Join(command, " "), commandList())
		}
	})
}

func envValue(s types.ServiceConfig, key string) string {
	if v := s.Environment[key]; v != nil {
		return *v
	}
	return ""
}

func sortedKeys(m types.MappingWithEquals) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
