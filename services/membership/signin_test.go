package membership_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/mail/mailtest"
)

// signinEnv runs Guildhall sending mail to a real SMTP server of the test.
func signinEnv(t *testing.T, opts ...apptest.Option) (*apptest.Env, *mailtest.Server) {
	t.Helper()
	smtp := mailtest.Start(t)
	opts = append([]apptest.Option{func(c *apptest.Config, _ *apptest.Clock) { c.SMTP = smtp.Config() }}, opts...)
	return apptest.Start(t, opts...), smtp
}

var linkCode = regexp.MustCompile(`/board/#signin=([a-z0-9]+)`)

// linkFor waits for the sign-in mail to addr (the n-th) and returns its code.
func linkFor(t *testing.T, smtp *mailtest.Server, addr string, n int) string {
	t.Helper()
	msgs := smtp.Wait(t, 10*time.Second, "sign-in mail to "+addr, func([]mailtest.Message) bool { return len(smtp.To(addr)) >= n })
	_ = msgs
	m := smtp.To(addr)[n-1]
	match := linkCode.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("no sign-in link in %q", m.Text)
	}
	return match[1]
}

// TestEmailSignIn: a link arrives by SMTP for a person's address (nothing
// for an unknown one, with the same answer); its code makes a session once,
// not twice, and not after expiry; only the code's hash is stored; the
// session renews, and stops working when revoked or expired.
func TestEmailSignIn(t *testing.T) {
	t.Parallel()
	env, smtp := signinEnv(t)
	db := env.DB(t, "membership")
	ctx := context.Background()
	adaToken := env.Person(t, "ada", false) // ada@example.org

	known := env.Do(t, "POST", "/v1/signIn:request", `{"email":"Ada@Example.org"}`)
	unknown := env.Do(t, "POST", "/v1/signIn:request", `{"email":"nobody@example.org"}`)
	if known.Status != http.StatusOK || unknown.Status != http.StatusOK || !bytes.Equal(known.Body, unknown.Body) {
		t.Fatalf("answers differ: %d %s / %d %s", known.Status, known.Body, unknown.Status, unknown.Body)
	}
	code := linkFor(t, smtp, "ada@example.org", 1)
	if m := smtp.To("ada@example.org")[0]; m.Subject == "" || m.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("sign-in mail: subject %q, Auto-Submitted %q", m.Subject, m.Header.Get("Auto-Submitted"))
	}
	if got := smtp.To("nobody@example.org"); len(got) != 0 {
		t.Fatalf("mail to an unknown address: %v", got)
	}
	// Only the hash is stored.
	sum := sha256.Sum256([]byte(code))
	var person string
	if err := db.QueryRow(ctx, `SELECT person_id FROM sign_in_codes WHERE code_hash = $1`, sum[:]).Scan(&person); err != nil || person != "ada" {
		t.Fatalf("stored code: %q %v", person, err)
	}
	var plain int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM sign_in_codes WHERE code_hash = $1::text::bytea`, code).Scan(&plain); err != nil || plain != 0 {
		t.Fatalf("code stored in plain: %d %v", plain, err)
	}

	// The code works once.
	res := mustOK(t, env.Do(t, "POST", "/v1/signIn:complete", `{"code":"`+code+`"}`), "complete")
	secret, _ := res["secret"].(string)
	tok, _ := res["token"].(map[string]any)
	if secret == "" || tok["session"] != true {
		t.Fatalf("session: %v", res)
	}
	session := env.WithToken(secret)
	if p := mustOK(t, session.Do(t, "GET", "/v1/caller", ""), "caller"); p["person"] != "people/ada" {
		t.Fatalf("session acts as %v", p["person"])
	}
	if again := env.Do(t, "POST", "/v1/signIn:complete", `{"code":"`+code+`"}`); again.Status != http.StatusUnauthorized {
		t.Fatalf("code used twice: HTTP %d %s", again.Status, again.Body)
	}

	// Renewal moves the expiry forward; only the owner (or an admin) may
	// renew, and only a session.
	name := tok["name"].(string)
	env.Clock.Advance(30 * time.Minute)
	renewed := mustOK(t, session.Do(t, "POST", "/v1/"+name+":renew", `{}`), "renew")
	if renewed["expireTime"] == tok["expireTime"] {
		t.Fatalf("renewal kept the expiry %v", renewed["expireTime"])
	}
	bob := env.WithToken(env.Person(t, "bob", false))
	if r := bob.Do(t, "POST", "/v1/"+name+":renew", `{}`); r.Status != http.StatusForbidden {
		t.Fatalf("another person renewing Ada's session: HTTP %d", r.Status)
	}
	own := list(t, mustOK(t, env.WithToken(adaToken).Do(t, "GET", "/v1/people/ada/tokens", ""), "tokens"), "tokens")
	for _, o := range own {
		if o["session"] != true {
			if r := session.Do(t, "POST", "/v1/"+o["name"].(string)+":renew", `{}`); r.Status != http.StatusBadRequest {
				t.Fatalf("renewing a token that is no session: HTTP %d %s", r.Status, r.Body)
			}
		}
	}

	// A session ends when it expires unless renewed.
	env.Clock.Advance(61 * time.Minute)
	if r := session.Do(t, "GET", "/v1/caller", ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("expired session: HTTP %d", r.Status)
	}

	// A link expires: 15 minutes by default.
	mustOK(t, env.Do(t, "POST", "/v1/signIn:request", `{"email":"ada@example.org"}`), "request again")
	late := linkFor(t, smtp, "ada@example.org", 2)
	env.Clock.Advance(16 * time.Minute)
	if r := env.Do(t, "POST", "/v1/signIn:complete", `{"code":"`+late+`"}`); r.Status != http.StatusUnauthorized {
		t.Fatalf("expired code: HTTP %d %s", r.Status, r.Body)
	}

	// A fresh session is revocable like any token.
	mustOK(t, env.Do(t, "POST", "/v1/signIn:request", `{"email":"ada@example.org"}`), "request a third")
	res = mustOK(t, env.Do(t, "POST", "/v1/signIn:complete", `{"code":"`+linkFor(t, smtp, "ada@example.org", 3)+`"}`), "complete")
	third := env.WithToken(res["secret"].(string))
	mustOK(t, third.Do(t, "POST", "/v1/"+res["token"].(map[string]any)["name"].(string)+":revoke", `{}`), "revoke")
	env.Clock.Advance(11 * time.Second) // past the authentication cache
	if r := third.Do(t, "GET", "/v1/caller", ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("revoked session: HTTP %d", r.Status)
	}
}

// TestSignInBadInput: a bad email or an empty code is a 400 naming the
// field, and nothing is stored.
func TestSignInBadInput(t *testing.T) {
	t.Parallel()
	env, _ := signinEnv(t)
	for _, tc := range []struct{ path, body, field string }{
		{"/v1/signIn:request", `{"email":"not-an-address"}`, "email"},
		{"/v1/signIn:request", `{}`, "email"},
		{"/v1/signIn:complete", `{"code":""}`, "code"},
	} {
		r := env.Do(t, "POST", tc.path, tc.body)
		if r.Status != http.StatusBadRequest || !fieldViolated(r.RPCStatus(t), tc.field) {
			t.Errorf("%s %s: HTTP %d %s, want 400 on %s", tc.path, tc.body, r.Status, r.Body, tc.field)
		}
	}
	var n int
	if err := env.DB(t, "membership").QueryRow(context.Background(), `SELECT count(*) FROM sign_in_codes`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("codes stored after bad input: %d %v", n, err)
	}
}

// TestSignInLimits: wrong codes are throttled with the other failed checks
// (429 with Retry-After past the allowance); links are rate-limited per
// email address and per client, with Retry-After.
func TestSignInLimits(t *testing.T) {
	t.Parallel()
	env, _ := signinEnv(t, func(c *apptest.Config, _ *apptest.Clock) { c.AuthFailuresPerMinute = 3 })
	for i := range 3 {
		if r := env.Do(t, "POST", "/v1/signIn:complete", `{"code":"wrong-code"}`); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: HTTP %d", i, r.Status)
		}
	}
	if r := env.Do(t, "POST", "/v1/signIn:complete", `{"code":"wrong-code"}`); r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth wrong code: HTTP %d Retry-After %q", r.Status, r.Header.Get("Retry-After"))
	}

	for i := range 3 {
		mustOK(t, env.Do(t, "POST", "/v1/signIn:request", `{"email":"someone@example.org"}`), "request")
		_ = i
	}
	r := env.Do(t, "POST", "/v1/signIn:request", `{"email":"SomeOne@example.org"}`)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth link for one address: HTTP %d Retry-After %q", r.Status, r.Header.Get("Retry-After"))
	}
	// Ten per client at once: four are spent, six more addresses pass.
	for i := range 6 {
		mustOK(t, env.Do(t, "POST", "/v1/signIn:request", `{"email":"p`+string(rune('a'+i))+`@example.org"}`), "request")
	}
	r = env.Do(t, "POST", "/v1/signIn:request", `{"email":"fresh@example.org"}`)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("eleventh link from one client: HTTP %d Retry-After %q", r.Status, r.Header.Get("Retry-After"))
	}
	// The allowance comes back with time.
	env.Clock.Advance(5 * time.Minute)
	mustOK(t, env.Do(t, "POST", "/v1/signIn:request", `{"email":"someone@example.org"}`), "after the wait")
}

// TestSignInTiming: a known and an unknown address take about as long, as
// the mail goes out off the request path.
func TestSignInTiming(t *testing.T) {
	t.Parallel()
	env, smtp := signinEnv(t)
	var known, unknown []time.Duration
	for i := range 4 {
		id := "timing-" + string(rune('a'+i))
		env.Person(t, id, false)
		for _, c := range []struct {
			email string
			into  *[]time.Duration
		}{{id + "@example.org", &known}, {"stranger-" + id + "@example.org", &unknown}} {
			start := time.Now()
			mustOK(t, env.Do(t, "POST", "/v1/signIn:request", `{"email":"`+c.email+`"}`), "request")
			*c.into = append(*c.into, time.Since(start))
		}
	}
	smtp.WaitN(t, 4, 10*time.Second)
	median := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return (d[len(d)/2-1] + d[len(d)/2]) / 2
	}
	mk, mu := median(known), median(unknown)
	t.Logf("median answer: known %v, unknown %v", mk, mu)
	if diff := (mk - mu).Abs(); diff > 100*time.Millisecond {
		t.Errorf("known and unknown addresses differ by %v (known %v, unknown %v)", diff, mk, mu)
	}
}
