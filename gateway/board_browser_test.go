package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/app"
	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/config"
)

// TestBoardInChromium opens the reference board in Debian's Chromium against
// Guildhall loaded with the SME seed (as `guildhall dev --seed sme` runs it)
// and runs tools/web/board.mjs: the figures on screen must equal the API's,
// the volunteer form must show the API's field errors for bad input and the
// acknowledgement for good input, axe-core must find no serious or critical
// violation, and the page must break no CSP rule. Screenshots at desktop and
// phone widths go to artifacts/board/ (BOARD_ARTIFACTS moves it), which CI
// keeps. Afterwards the offer made through the page must be stored, once.
func TestBoardInChromium(t *testing.T) {
	t.Parallel()
	node := needTool(t, "node", "node")
	browser := needTool(t, "Chromium", envOr("CHROMIUM", "/usr/bin/chromium"))
	script, _ := filepath.Abs("../tools/web/board.mjs")
	needTool(t, "playwright-core", "../tools/web/node_modules/playwright-core/package.json")
	needTool(t, "axe-core", "../tools/web/node_modules/axe-core/axe.min.js")
	artifacts, _ := filepath.Abs(envOr("BOARD_ARTIFACTS", "../artifacts/board"))

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

	name := "Board Tester " + uuid.NewString()[:8]
	cmd := exec.CommandContext(ctx, node, script, env.BaseURL, apptest.AdminToken, artifacts, name)
	cmd.Env = append(os.Environ(), "CHROMIUM="+browser)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the board in Chromium failed its checks: %v", err)
	}

	// The offer typed into the page is stored once, as typed.
	res := env.WithToken(apptest.AdminToken).Do(t, http.MethodGet, "/v1/volunteers?pageSize=1000", "")
	var list struct {
		Volunteers []struct {
			DisplayName, Contact, Interests string
			HoursPerMonth                   int
			Skills                          []string
		}
	}
	if res.Status != http.StatusOK || json.Unmarshal(res.Body, &list) != nil {
		t.Fatalf("list volunteers: %d %s", res.Status, res.Body)
	}
	var found int
	for _, v := range list.Volunteers {
		if v.DisplayName == name {
			found++
			if v.Contact != "board-tester@example.org" || v.HoursPerMonth != 6 || len(v.Skills) != 2 || v.Interests != "the wiki" {
				t.Errorf("the stored offer is not what was typed: %+v", v)
			}
		}
	}
	if found != 1 {
		t.Errorf("%d offers named %q are stored, want 1", found, name)
	}
	for _, shot := range []string{"board-desktop.png", "board-phone.png"} {
		if st, err := os.Stat(filepath.Join(artifacts, shot)); err != nil || st.Size() == 0 {
			t.Errorf("screenshot %s: %v", shot, err)
		}
	}
}
