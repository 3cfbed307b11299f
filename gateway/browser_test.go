package gateway_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app"
	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/config"
)

// needTool finds what a browser or Node test needs. Missing, it skips the
// test on a developer's machine but fails it in CI (CI=true), where .ci/run
// installs Chromium and the npm packages first.
func needTool(t *testing.T, what, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if p, err := exec.LookPath(path); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found at %s (.ci/run installs it)", what, path)
	}
	t.Skipf("%s not found at %s; run .ci/run's setup (apt-get install chromium; npm ci --prefix tools/web)", what, path)
	return ""
}

// TestDocsAuthorizeInChromium opens /docs/ in headless Chromium, presses
// Authorize with a token, and creates a release from the page: the token
// must travel as a bearer token and the write must succeed.
func TestDocsAuthorizeInChromium(t *testing.T) {
	node := needTool(t, "node", "node")
	browser := needTool(t, "Chromium", envOr("CHROMIUM", "/usr/bin/chromium"))
	script, _ := filepath.Abs("../tools/web/docs-authorize.mjs")
	needTool(t, "playwright-core", "../tools/web/node_modules/playwright-core/package.json")

	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, env.BaseURL, apptest.AdminToken, "from-docs")
	cmd.Env = append(os.Environ(), "CHROMIUM="+browser)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("Authorize then a write from /docs/ failed: %v", err)
	}
	if res := env.Do(t, http.MethodGet, "/v1/releases/from-docs", ""); res.Status != http.StatusOK {
		t.Fatalf("the release written from the docs page is not there: %d %s", res.Status, res.Body)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// TestTypeScriptClientContract type-checks the generated TypeScript client
// (clients/typescript) with tsc and drives it against a live gateway loaded
// with the SME seed: paging, a create with a request id, a Money write, an
// update with etag and mask, a filtered list, a 400 mapped to form fields, the
// CSV export, and every answer checked against the served document.
func TestTypeScriptClientContract(t *testing.T) {
	npm := needTool(t, "npm", "npm")
	needTool(t, "the client's npm packages", "../clients/typescript/node_modules/typescript/package.json")
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	targets := map[string]string{}
	for _, svc := range config.Services {
		targets[svc] = env.Conn.Target()
	}
	if err := app.Seed(ctx, "sme", targets, apptest.AdminToken); err != nil {
		t.Fatalf("seed: %v", err)
	}
	cmd := exec.CommandContext(ctx, npm, "test", "--silent")
	cmd.Dir = "../clients/typescript"
	cmd.Env = append(os.Environ(), "GUILDHALL_URL="+env.BaseURL, "GUILDHALL_TOKEN="+apptest.AdminToken)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the TypeScript contract test failed: %v", err)
	}
}
