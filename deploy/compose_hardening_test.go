package deploy_test

import (
	"bufio"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// TestComposeRequiresSecrets: without any one secret, compose refuses to
// start and names it; there is no silent default password.
func TestComposeRequiresSecrets(t *testing.T) {
	for missing := range requiredSecrets {
		t.Run(missing, func(t *testing.T) {
			var env []string
			for k, v := range requiredSecrets {
				if k != missing {
					env = append(env, k+"="+v)
				}
			}
			for _, value := range []string{"", "="} { // unset, then set to nothing
				e := env
				if value == "=" {
					e = append(slices.Clone(env), missing+"=")
				}
				_, err := loadProjectEnv(e)
				if err == nil || !strings.Contains(err.Error(), missing) {
					t.Errorf("compose with %s %s loaded (err %v); want a refusal naming it", missing, map[string]string{"": "unset", "=": "empty"}[value], err)
				}
			}
		})
	}
	// The password reaches both PostgreSQL and every service's URL.
	p := loadProject(t)
	if got := envValue(p.Services["postgres"], "POSTGRES_PASSWORD"); got != requiredSecrets["POSTGRES_PASSWORD"] {
		t.Errorf("postgres gets POSTGRES_PASSWORD=%q; want the operator's", got)
	}
	for _, svc := range grpcServices {
		dsn := envValue(p.Services[svc], "GUILDHALL_"+strings.ToUpper(svc)+"_DATABASE_URL")
		if !strings.Contains(dsn, ":"+requiredSecrets["POSTGRES_PASSWORD"]+"@") {
			t.Errorf("%s's database URL %q does not use POSTGRES_PASSWORD", svc, dsn)
		}
	}
}

var interpolated = regexp.MustCompile(`\$\{([A-Z0-9_]+)`)

// TestComposeEnvExample: .env.example names every variable the compose file
// interpolates and nothing else, and filled in, it starts compose.
func TestComposeEnvExample(t *testing.T) {
	compose, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range interpolated.FindAllStringSubmatch(string(compose), -1) {
		used[m[1]] = true
	}
	f, err := os.Open(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf(".env.example line %q is not NAME=value", line)
			continue
		}
		listed[k] = v
	}
	for k := range used {
		if _, ok := listed[k]; !ok {
			t.Errorf("%s interpolates %s, which .env.example does not list", composeFile, k)
		}
	}
	var env []string
	for k, v := range listed {
		if !used[k] {
			t.Errorf(".env.example lists %s, which %s does not use", k, composeFile)
		}
		if _, secret := requiredSecrets[k]; secret {
			if v != "" {
				t.Errorf(".env.example gives secret %s a value; leave it empty so nobody runs with a published secret", k)
			}
			v = "filled-in"
		}
		env = append(env, k+"="+v)
	}
	if _, err := loadProjectEnv(env); err != nil {
		t.Errorf("compose with .env.example filled in: %v", err)
	}
	ignore, err := os.ReadFile(filepath.Join("..", ".gitignore"))
	if err != nil || !strings.Contains(string(ignore), "/deploy/.env\n") {
		t.Errorf(".gitignore does not ignore /deploy/.env, where the secrets go")
	}
}

// TestComposeInternalPortsStayLocal: the gRPC services are published on
// loopback only; the gateway is the public face.
func TestComposeInternalPortsStayLocal(t *testing.T) {
	p := loadProject(t)
	for _, name := range p.ServiceNames() {
		if name == "gateway" {
			continue
		}
		for _, pc := range p.Services[name].Ports {
			ip, err := netip.ParseAddr(pc.HostIP)
			if err != nil || !ip.IsLoopback() {
				t.Errorf("service %q publishes port %d on %q; internal ports must bind 127.0.0.1", name, pc.Target, pc.HostIP)
			}
		}
	}
}

// TestComposeRestartAndLogRotation: long-running services come back after a
// crash or reboot, and no container's log grows without bound.
func TestComposeRestartAndLogRotation(t *testing.T) {
	p := loadProject(t)
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if !oneShot(p, name) && s.Restart != types.RestartPolicyUnlessStopped && s.Restart != types.RestartPolicyAlways {
			t.Errorf("service %q restart policy %q; want unless-stopped", name, s.Restart)
		}
		l := s.Logging
		if l == nil || l.Driver != "json-file" && l.Driver != "local" || l.Options["max-size"] == "" || l.Options["max-file"] == "" {
			t.Errorf("service %q logging %+v; want a json-file or local driver with max-size and max-file", name, l)
		}
	}
}

// TestImageVersion: the image is built with its version stamped in the way
// the binary reads it, from a build argument compose passes.
func TestImageVersion(t *testing.T) {
	stages := parseDockerfile(t, dockerfile)
	var stamped bool
	for _, st := range stages {
		hasArg := false
		for _, in := range st.instrs {
			if in.cmd == "ARG" && strings.HasPrefix(in.args, "VERSION") {
				hasArg = true
			}
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
				if !strings.Contains(in.args, "-X main.version=${VERSION}") || !hasArg {
					t.Errorf("line %d builds without -X main.version=${VERSION} from an ARG VERSION", in.line)
				}
				stamped = true
			}
		}
	}
	if !stamped {
		t.Fatal("no go build in the Dockerfile")
	}
	p := loadProject(t)
	for _, s := range guildhallServices(t, p) {
		if v := s.Build.Args["VERSION"]; v == nil || *v == "" {
			t.Errorf("service %q builds without the VERSION build argument", s.Name)
		}
	}
	// The flag really lands where `guildhall version` reads it.
	bin := filepath.Join(t.TempDir(), "guildhall")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.9.9-test", "-o", bin, "./cmd/guildhall")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "v9.9.9-test" {
		t.Errorf("guildhall version = %q (%v); want the -X main.version value", out, err)
	}
}
