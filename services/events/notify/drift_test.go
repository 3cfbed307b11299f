package notify_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/mail/mailtest"
)

// TestDriftMail: with short drift windows, the inactive person and their
// team's lead each receive exactly one mail per stage (nudged, inactive);
// a lead who turned the team kind off receives none.
func TestDriftMail(t *testing.T) {
	t.Parallel()
	env, smtp := start(t, func(c *apptest.Config, _ *apptest.Clock) {
		c.DriftWindow, c.DriftNudgeGrace, c.DriftEmeritusAfter = time.Hour, time.Hour, 24*time.Hour
	})
	admin := env.WithToken(apptest.AdminToken)
	env.Team(t, "docs")
	env.Person(t, "ina", false)
	env.Member(t, "docs", "ina", "member")
	env.Person(t, "lea", false)
	env.Member(t, "docs", "lea", "lead")
	quiet := env.WithToken(env.Person(t, "quiet", false))
	env.Member(t, "docs", "quiet", "lead")
	// A second lead turned drift-team mail off.
	ok(t, quiet.Do(t, http.MethodPatch, "/v1/people/quiet/notificationSettings", `{"mutedKinds":["NOTIFICATION_KIND_DRIFT_TEAM"]}`), "mute")

	about := func(to, who string) []mailtest.Message {
		var out []mailtest.Message
		for _, m := range smtp.To(to) {
			if who == "" || strings.Contains(m.Subject, who) {
				out = append(out, m)
			}
		}
		return out
	}
	for i, stage := range []string{"Are you still with", "marked inactive"} {
		env.Clock.Advance(time.Hour + time.Minute)
		ok(t, admin.Do(t, http.MethodGet, "/v1/people/ina", ""), "read ina (drift is evaluated)")
		smtp.Wait(t, 30*time.Second, "ina's and lea's mail of stage "+stage, func([]mailtest.Message) bool {
			return len(about("ina@example.org", "")) >= i+1 && len(about("lea@example.org", "Test ina")) >= i+1
		})
		if got := about("ina@example.org", "")[i]; !strings.Contains(got.Subject, stage) {
			t.Errorf("ina's mail %d: %q, want %q", i, got.Subject, stage)
		}
	}
	time.Sleep(time.Second)
	if n := len(about("ina@example.org", "")); n != 2 {
		t.Errorf("ina got %d mails, want one per stage (2): %q", n, subjects(about("ina@example.org", "")))
	}
	if n := len(about("lea@example.org", "Test ina")); n != 2 {
		t.Errorf("lea got %d mails about ina, want one per stage (2): %q", n, subjects(about("lea@example.org", "Test ina")))
	}
	if n := len(about("quiet@example.org", "Test ina")); n != 0 {
		t.Errorf("a lead who muted team mail got %d about ina", n)
	}
}
