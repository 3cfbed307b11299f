package notify_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/guildhall/guildhall/internal/mail/mailtest"
)

// TestExpenseApprovalMail: a submitted expense is mailed to those who may
// approve it (an admin, the members of a team granted finance.approve),
// never to its submitter or payee (separation of duties, also for a payee
// given by display name), nor to people without the permission, nor to an
// approver who turned the kind off; each once.
func TestExpenseApprovalMail(t *testing.T) {
	t.Parallel()
	env, smtp := start(t)
	a := env.Actors(t) // financer: a member of teams/finance, which holds finance.approve; root: an admin
	for _, p := range []string{"approver", "payee", "vendorish", "quiet"} {
		env.Person(t, p, false)
		env.Member(t, "finance", p, "member")
	}
	quiet := env.WithToken(env.Person(t, "quiet", false))
	ok(t, quiet.Do(t, http.MethodPatch, "/v1/people/quiet/notificationSettings", `{"mutedKinds":["NOTIFICATION_KIND_EXPENSE_APPROVAL"]}`), "mute")
	admin := env.WithToken(a.Admin)
	ok(t, admin.Do(t, http.MethodPost, "/v1/accounts?accountId=hosting", `{"displayName":"Hosting","type":"TYPE_EXPENSE","currencyCode":"EUR"}`), "account")

	submit := func(payee, description string) string {
		return ok(t, env.WithToken(a.FinanceTeam).Do(t, http.MethodPost, "/v1/expenses",
			`{"payee":"`+payee+`","category":"accounts/hosting","amount":{"currencyCode":"EUR","minorUnits":"2550"},"description":"`+description+`"}`),
			"submit")["name"].(string)
	}
	toPerson := submit("people/payee", "Mirror <hosting>")
	// A payee given as a name is the approver whose display name it is.
	submit("test VENDORISH", "Domain renewal")

	about := func(to, what string) []mailtest.Message {
		var out []mailtest.Message
		for _, m := range smtp.To(to) {
			if strings.Contains(m.Subject, what) {
				out = append(out, m)
			}
		}
		return out
	}
	smtp.Wait(t, 30*time.Second, "the approvers' mail", func([]mailtest.Message) bool {
		return len(about("approver@example.org", "Mirror")) == 1 && len(about("root@example.org", "Mirror")) == 1 &&
			len(about("approver@example.org", "Domain")) == 1 && len(about("payee@example.org", "Domain")) == 1
	})
	m := about("approver@example.org", "Mirror")[0]
	if m.Subject != "An expense awaits your approval: Mirror <hosting>" || !strings.Contains(m.Text, "An expense of EUR 25.50 awaits approval") ||
		!strings.Contains(m.Text, toPerson) || !strings.Contains(m.HTML, "Mirror &lt;hosting&gt;") || !strings.Contains(m.HTML, "EUR 25.50") {
		t.Errorf("approval mail: %q\n%s\n%s", m.Subject, m.Text, m.HTML)
	}
	// Let later passes run: nothing more goes out.
	time.Sleep(time.Second)
	for to, want := range map[string]int{
		"approver@example.org": 2, "root@example.org": 2,
		"financer@example.org":  0,                        // the submitter
		"payee@example.org":     1,                        // not for the expense they are paid by
		"vendorish@example.org": 1,                        // nor for the one paid to their name
		"quiet@example.org":     0,                        // turned the kind off
		"member@example.org":    0, "lead@example.org": 0, // no finance.approve
	} {
		if got := smtp.To(to); len(got) != want {
			t.Errorf("%s got %d mails, want %d: %q", to, len(got), want, subjects(got))
		}
	}
	if got := about("payee@example.org", "Mirror"); len(got) != 0 {
		t.Errorf("the payee was asked to approve their own expense")
	}
	if got := about("vendorish@example.org", "Domain"); len(got) != 0 {
		t.Errorf("the payee by name was asked to approve their own expense")
	}
	var skipped int
	if err := env.DB(t, "events").QueryRow(context.Background(), `SELECT count(*) FROM notify_sends
		WHERE recipient = 'people/quiet' AND kind = 'expense-approval' AND state = 'SKIPPED'`).Scan(&skipped); err != nil || skipped != 2 {
		t.Errorf("the muted approver's sends: %d skipped, %v", skipped, err)
	}
}

// TestNoMailAboutHistory: events of the kinds first mailed with events
// migration 00051 that were logged before it (up to its mark) are history:
// the notifier passes them without mail; those logged after are mailed.
func TestNoMailAboutHistory(t *testing.T) {
	t.Parallel()
	env, smtp := start(t)
	a := env.Actors(t)
	db := env.DB(t, "events")
	ctx := context.Background()
	mark := func(seq int64) {
		if _, err := db.Exec(ctx, `UPDATE notify_cursor SET seq = $1 WHERE name = 'mail-since:expenses-items-proposals'`, seq); err != nil {
			t.Fatal(err)
		}
	}
	mark(1 << 62) // everything logged is history, for now
	ok(t, env.WithToken(a.Admin).Do(t, http.MethodPost, "/v1/accounts?accountId=hosting", `{"displayName":"Hosting","type":"TYPE_EXPENSE","currencyCode":"EUR"}`), "account")
	submit := func(description string) string {
		return ok(t, env.WithToken(a.FinanceTeam).Do(t, http.MethodPost, "/v1/expenses",
			`{"payee":"Host Co","category":"accounts/hosting","amount":{"currencyCode":"EUR","minorUnits":"100"},"description":"`+description+`"}`),
			"submit")["name"].(string)
	}
	old := submit("Old news")
	// Wait until the notifier has passed the old expense's event.
	var seq int64
	deadline := time.Now().Add(30 * time.Second)
	for {
		var cursor int64
		err := db.QueryRow(ctx, `SELECT COALESCE((SELECT seq FROM events WHERE subject = $1), 0),
			COALESCE((SELECT seq FROM notify_cursor WHERE name = 'mail'), 0)`, old).Scan(&seq, &cursor)
		if err != nil {
			t.Fatal(err)
		}
		if seq > 0 && cursor >= seq {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the notifier did not pass %s (seq %d, cursor %d)", old, seq, cursor)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mark(seq) // as the migration marks the log at an upgrade
	submit("Fresh news")
	smtp.Wait(t, 30*time.Second, "the new expense's mail", func(m []mailtest.Message) bool {
		return len(smtp.To("root@example.org")) == 1
	})
	time.Sleep(time.Second)
	for _, m := range smtp.Messages() {
		if !strings.Contains(m.Subject, "Fresh news") {
			t.Errorf("mail about history: %q", m.Subject)
		}
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM notify_sends s JOIN events e ON e.id = s.event_id WHERE e.subject = $1`, old).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d sends planned for the old expense (%v)", n, err)
	}
}
