package notify_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/mail/mailtest"
)

// start runs Guildhall mailing to a real SMTP server, with short job intervals.
func start(t *testing.T, opts ...apptest.Option) (*apptest.Env, *mailtest.Server) {
	t.Helper()
	smtp := mailtest.Start(t)
	opts = append([]apptest.Option{func(c *apptest.Config, _ *apptest.Clock) {
		c.SMTP = smtp.Config()
		c.PublicURL = "https://guildhall.example.org"
		for _, j := range []string{"events.notify", "membership.outbox", "roadmap.outbox", "finance.outbox"} {
			c.JobIntervals[j] = 100 * time.Millisecond
		}
	}}, opts...)
	return apptest.Start(t, opts...), smtp
}

func ok(t *testing.T, res *apptest.Response, what string) map[string]any {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("%s: HTTP %d %s", what, res.Status, res.Body)
	}
	return res.JSON(t)
}

func subjects(msgs []mailtest.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Subject)
	}
	return out
}

// TestVolunteerHearsBack: someone who offers help gets the acknowledgement,
// then "matched", then "welcome", each once, with a one-click opt-out.
func TestVolunteerHearsBack(t *testing.T) {
	t.Parallel()
	env, smtp := start(t)
	admin := env.WithToken(apptest.AdminToken)
	env.Team(t, "docs")
	ok(t, env.Do(t, http.MethodPost, "/v1/volunteers", `{"displayName":"Vic","contact":"vic@example.org"}`), "offer help")
	got := smtp.Wait(t, 30*time.Second, "the acknowledgement", func(m []mailtest.Message) bool { return len(m) >= 1 })
	ack := got[0]
	if ack.To[0] != "vic@example.org" || !strings.Contains(ack.Subject, "Thank you for offering") ||
		!strings.HasPrefix(ack.Header.Get("List-Unsubscribe"), "<https://guildhall.example.org/v1/notifications:unsubscribe?token=") ||
		ack.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.Contains(ack.Text, "Hello Vic,") {
		t.Fatalf("acknowledgement: to %v %q %v\n%s", ack.To, ack.Subject, ack.Header, ack.Text)
	}

	vol := ok(t, admin.Do(t, http.MethodGet, "/v1/volunteers", ""), "list offers")["volunteers"].([]any)[0].(map[string]any)["name"].(string)
	pos := ok(t, admin.Do(t, http.MethodPost, "/v1/teams/docs/positions", `{"title":"Wiki gardener","role":"ROLE_MEMBER"}`), "position")["name"].(string)
	ok(t, admin.Do(t, http.MethodPost, "/v1/"+vol+":transition", `{"state":"STATE_CONTACTED"}`), "contacted")
	ok(t, admin.Do(t, http.MethodPost, "/v1/"+vol+":transition", `{"state":"STATE_MATCHED","position":"`+pos+`"}`), "matched")
	ok(t, admin.Do(t, http.MethodPost, "/v1/"+vol+":transition", `{"state":"STATE_ONBOARDING"}`), "onboarding")
	got = smtp.Wait(t, 30*time.Second, "matched and welcome", func(m []mailtest.Message) bool { return len(m) >= 3 })
	// Sends planned in one pass may go out in either order.
	rest := strings.Join(subjects(got[1:]), "|")
	if !strings.Contains(rest, "Wiki gardener") || !strings.Contains(rest, "Welcome to Team docs") {
		t.Errorf("subjects: %q", subjects(got))
	}
	// Later passes send nothing again.
	time.Sleep(time.Second)
	if n := len(smtp.Messages()); n != 3 {
		t.Errorf("%d mails, want 3: %q", n, subjects(smtp.Messages()))
	}
	var sent int
	if err := env.DB(t, "events").QueryRow(context.Background(), `SELECT count(*) FROM notify_sends WHERE state = 'SENT'`).Scan(&sent); err != nil || sent != 3 {
		t.Errorf("sent records: %d, %v", sent, err)
	}
}
