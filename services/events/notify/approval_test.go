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
