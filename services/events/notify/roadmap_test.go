package notify_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/mail/mailtest"
)

// roadmapJobs makes the roadmap's jobs quick: items go stale after an hour.
func roadmapJobs(c *apptest.Config, _ *apptest.Clock) {
	c.StaleAfter = time.Hour
	c.JobIntervals["roadmap.stale"] = 50 * time.Millisecond
	c.JobIntervals["roadmap.proposals"] = 50 * time.Millisecond
}

func about(smtp *mailtest.Server, to, what string) []mailtest.Message {
	var out []mailtest.Message
	for _, m := range smtp.To(to) {
		if strings.Contains(m.Subject, what) {
			out = append(out, m)
		}
	}
	return out
}

// TestItemStaleMail: an item that goes stale is mailed once to its owner
// people and the leads of its owner team, and to nobody else.
func TestItemStaleMail(t *testing.T) {
	t.Parallel()
	env, smtp := start(t, roadmapJobs)
	a := env.Actors(t) // lead leads teams/development
	admin := env.WithToken(a.Admin)
	item := ok(t, admin.Do(t, http.MethodPost, "/v1/items", `{"title":"LDAP <sync>","ownerTeam":"teams/development","ownerPeople":["people/member","people/lead"]}`), "item")["name"].(string)
	ok(t, admin.Do(t, http.MethodPost, "/v1/"+item+"/updates", `{"text":"started","newState":"STATE_IN_PROGRESS"}`), "start")
	env.Clock.Advance(2 * time.Hour)
	smtp.Wait(t, 30*time.Second, "the owners' mail", func([]mailtest.Message) bool {
		return len(about(smtp, "member@example.org", "stale")) == 1 && len(about(smtp, "lead@example.org", "stale")) == 1
	})
	m := about(smtp, "member@example.org", "stale")[0]
	if m.Subject != "Your item is stale: LDAP <sync>" || !strings.Contains(m.Text, item) || !strings.Contains(m.HTML, "LDAP &lt;sync&gt;") {
		t.Errorf("stale mail: %q\n%s\n%s", m.Subject, m.Text, m.HTML)
	}
	time.Sleep(time.Second)
	// The lead is an owner twice over (owner people and team lead): one mail.
	for to, want := range map[string]int{"member@example.org": 1, "lead@example.org": 1, "otherlead@example.org": 0, "financer@example.org": 0, "root@example.org": 0} {
		if got := smtp.To(to); len(got) != want {
			t.Errorf("%s got %d mails, want %d: %q", to, len(got), want, subjects(got))
		}
	}
}

// TestProposalMail: a day before a proposal closes, those of its team who
// have not voted are reminded, once (and not one who turned reminders
// off; while votes are hidden, all of the team); when its close time passes, with no CloseProposal and no reader,
// the roadmap.proposals job closes it, ProposalClosed is emitted once, and
// the whole electorate hears the outcome.
func TestProposalMail(t *testing.T) {
	t.Parallel()
	env, smtp := start(t, roadmapJobs)
	admin := env.WithToken(apptest.AdminToken)
	env.Team(t, "docs")
	tokens := map[string]string{}
	for _, p := range []string{"voter", "idle", "quiet"} {
		tokens[p] = env.Person(t, p, false)
		env.Member(t, "docs", p, "member")
	}
	env.Person(t, "outsider", false)
	ok(t, env.WithToken(tokens["quiet"]).Do(t, http.MethodPatch, "/v1/people/quiet/notificationSettings",
		`{"mutedKinds":["NOTIFICATION_KIND_PROPOSAL_CLOSING"]}`), "mute")

	closeAt := env.Clock.Now().Add(48 * time.Hour).UTC()
	proposal := func(question string, hidden bool) string {
		p := ok(t, admin.Do(t, http.MethodPost, "/v1/proposals", `{"question":"`+question+`","method":"METHOD_SINGLE_CHOICE",
			"options":["yes","no"],"eligibleTeam":"teams/docs","hideTallyUntilClose":`+strconv.FormatBool(hidden)+`,
			"closeTime":"`+closeAt.Format(time.RFC3339)+`"}`), "proposal")["name"].(string)
		ok(t, admin.Do(t, http.MethodPost, "/v1/"+p+":open", `{}`), "open")
		ok(t, env.WithToken(tokens["voter"]).Do(t, http.MethodPost, "/v1/"+p+":vote", `{"choices":["yes"]}`), "vote")
		return p
	}
	p := proposal("Move to <Matrix>?", false)
	// While its votes are hidden until close, nobody can tell who voted:
	// everyone who may vote is reminded, the voter too.
	secret := proposal("Secret ballot?", true)

	// Not yet within a day of the close: no reminder.
	time.Sleep(500 * time.Millisecond)
	if n := len(smtp.Messages()); n != 0 {
		t.Fatalf("%d mails two days before the close: %q", n, subjects(smtp.Messages()))
	}
	env.Clock.Advance(25 * time.Hour)
	smtp.Wait(t, 30*time.Second, "the reminders", func([]mailtest.Message) bool {
		return len(about(smtp, "idle@example.org", "Matrix")) == 1 && len(about(smtp, "idle@example.org", "Secret")) == 1 &&
			len(about(smtp, "voter@example.org", "Secret")) == 1
	})
	m := about(smtp, "idle@example.org", "Matrix")[0]
	if m.Subject != "Voting closes in 24 hours: Move to <Matrix>?" || !strings.Contains(m.Text, closeAt.Format("2006-01-02 15:04 UTC")) ||
		!strings.Contains(m.HTML, "Move to &lt;Matrix&gt;?") {
		t.Errorf("reminder: %q\n%s\n%s", m.Subject, m.Text, m.HTML)
	}

	env.Clock.Advance(24 * time.Hour)
	smtp.Wait(t, 30*time.Second, "the outcomes", func([]mailtest.Message) bool {
		return len(about(smtp, "voter@example.org", "Decided")) == 2 && len(about(smtp, "idle@example.org", "Decided")) == 2 &&
			len(about(smtp, "quiet@example.org", "Decided")) == 2
	})
	if m := about(smtp, "voter@example.org", "Decided: Move"); len(m) != 1 || !strings.Contains(m[0].Text, "yes (1 of 3 eligible voted)") {
		t.Errorf("outcome: %v", m)
	}
	// Reading the closed proposal emits nothing more.
	if got := ok(t, admin.Do(t, http.MethodGet, "/v1/"+p, ""), "read"); got["state"] != "STATE_CLOSED" {
		t.Errorf("state after close: %v", got["state"])
	}
	time.Sleep(time.Second)
	// voter: the secret ballot's reminder and two outcomes; idle: two of
	// each; quiet turned reminders off: the outcomes only.
	for to, want := range map[string]int{"voter@example.org": 3, "idle@example.org": 4, "quiet@example.org": 2, "outsider@example.org": 0} {
		if got := smtp.To(to); len(got) != want {
			t.Errorf("%s got %d mails, want %d: %q", to, len(got), want, subjects(got))
		}
	}
	for _, p := range []string{p, secret} {
		for typ, want := range map[string]int{events.ProposalClosingSoon: 1, events.ProposalClosed: 1} {
			var n int
			if err := env.DB(t, "events").QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type = $1 AND subject = $2`, typ, p).Scan(&n); err != nil || n != want {
				t.Errorf("%s: %d %s events (%v), want %d", p, n, typ, err, want)
			}
		}
	}
}
