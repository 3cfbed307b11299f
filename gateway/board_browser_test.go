package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/app"
	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/mail/mailtest"
)

// mailLink is the sign-in link in a mail: the public address, then the code.
var mailLink = regexp.MustCompile(`(https?://[^\s/]+)/board/#signin=([a-z0-9]+)`)

// TestBoardInChromium opens the reference board in Debian's Chromium against
// Guildhall loaded with the SME seed (as `guildhall dev --seed sme` runs it)
// and runs tools/web/board.mjs: the figures on screen must equal the API's,
// the volunteer form must show the API's field errors for bad input and the
// acknowledgement for good input, axe-core must find no serious or critical
// violation, and the page must break no CSP rule. Then a seeded person signs
// in by email: the script asks for a link through the page, this test takes
// it from the mail (a real SMTP server) and hands it over, and the script
// opens it, votes on an item and offers help signed in, and sees the offer
// under "Your offers". Screenshots at desktop and phone widths, and signed
// in, go to artifacts/board/ (BOARD_ARTIFACTS moves it), which CI keeps.
// Afterwards the anonymous offer must be stored once, and the vote and the
// signed-in offer must be the person's.
func TestBoardInChromium(t *testing.T) {
	t.Parallel()
	node := needTool(t, "node", "node")
	browser := needTool(t, "Chromium", envOr("CHROMIUM", "/usr/bin/chromium"))
	script, _ := filepath.Abs("../tools/web/board.mjs")
	needTool(t, "playwright-core", "../tools/web/node_modules/playwright-core/package.json")
	needTool(t, "axe-core", "../tools/web/node_modules/axe-core/axe.min.js")
	artifacts, _ := filepath.Abs(envOr("BOARD_ARTIFACTS", "../artifacts/board"))

	smtp := mailtest.Start(t)
	const publicURL = "https://guildhall.example.org"
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) {
		c.SMTP = smtp.Config()
		c.PublicURL = publicURL
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	targets := map[string]string{}
	for _, svc := range config.Services {
		targets[svc] = env.Conn.Target()
	}
	if err := app.Seed(ctx, "sme", targets, apptest.AdminToken); err != nil {
		t.Fatalf("seed: %v", err)
	}
	admin := env.WithToken(apptest.AdminToken)
	// The seed gives no one an email (the text it follows names none); an
	// admin gives Terry Fage, a tester and no lead, one to sign in with.
	const person, email = "tfage", "terry.fage@example.org"
	if res := admin.Do(t, http.MethodPatch, "/v1/people/"+person+"?updateMask=email", `{"email":"`+email+`"}`); res.Status != http.StatusOK {
		t.Fatalf("give %s an email: %d %s", person, res.Status, res.Body)
	}

	// The mailbox, for the script: GET /link waits for the sign-in mail to
	// email and answers with its link, moved from the public address to the
	// gateway under test.
	links := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) && r.Context().Err() == nil {
			if msgs := smtp.To(email); len(msgs) > 0 {
				m := mailLink.FindStringSubmatch(msgs[len(msgs)-1].Text)
				if m == nil || m[1] != publicURL {
					http.Error(w, "no link to "+publicURL+"/board/ in the mail: "+msgs[len(msgs)-1].Text, http.StatusBadGateway)
					return
				}
				_, _ = io.WriteString(w, env.BaseURL+"/board/#signin="+m[2])
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		http.Error(w, "no sign-in mail to "+email, http.StatusGatewayTimeout)
	}))
	defer links.Close()

	name := "Board Tester " + uuid.NewString()[:8]
	cmd := exec.CommandContext(ctx, node, script, env.BaseURL, apptest.AdminToken, artifacts, name,
		links.URL+"/link", email, "people/"+person)
	cmd.Env = append(os.Environ(), "CHROMIUM="+browser)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	err := cmd.Run()
	out := stdout.Bytes()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("the board in Chromium failed its checks: %v", err)
	}
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	var summary struct{ VotedItem, SignedInOffer string }
	if err := json.Unmarshal(lines[len(lines)-1], &summary); err != nil || summary.VotedItem == "" || summary.SignedInOffer == "" {
		t.Fatalf("the script's summary names no vote or signed-in offer: %v %s", err, lines[len(lines)-1])
	}

	// The vote cast through the page is the person's, and the signed-in
	// offer is theirs.
	var voter string
	if err := env.DB(t, "roadmap").QueryRow(ctx, `SELECT person FROM item_votes WHERE item_id = $1 AND person = $2`,
		strings.TrimPrefix(summary.VotedItem, "items/"), "people/"+person).Scan(&voter); err != nil {
		t.Errorf("no vote of %s for %s is stored: %v", person, summary.VotedItem, err)
	}
	var offeredBy, contact string
	if err := env.DB(t, "membership").QueryRow(ctx, `SELECT offered_by_person, contact FROM volunteers WHERE display_name = $1`,
		summary.SignedInOffer).Scan(&offeredBy, &contact); err != nil || offeredBy != person {
		t.Errorf("the signed-in offer %q: offered by %q (want %q): %v", summary.SignedInOffer, offeredBy, person, err)
	}
	// Signing out revoked the session.
	var live int
	if err := env.DB(t, "membership").QueryRow(ctx, `SELECT count(*) FROM tokens WHERE person_id = $1 AND session AND revoke_time IS NULL`,
		person).Scan(&live); err != nil || live != 0 {
		t.Errorf("%d sessions of %s are still live after signing out: %v", live, person, err)
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
	for _, shot := range []string{"board-desktop.png", "board-phone.png", "board-signed-in.png"} {
		if st, err := os.Stat(filepath.Join(artifacts, shot)); err != nil || st.Size() == 0 {
			t.Errorf("screenshot %s: %v", shot, err)
		}
	}
}
