package mail_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/internal/mail"
)

func TestOptOutTokens(t *testing.T) {
	t.Parallel()
	o := mail.NewOptOut("gh_internal-secret")
	tok := o.Token("people/jane", "drift-nudge")
	who, kind, err := o.Verify(tok)
	if err != nil || who != "people/jane" || kind != "drift-nudge" {
		t.Fatalf("Verify(Token) = %q %q %v", who, kind, err)
	}
	payload, sig, _ := strings.Cut(tok, ".")
	forged := mail.NewOptOut("gh_internal-secret").Token("people/bob", "drift-nudge")
	fp, _, _ := strings.Cut(forged, ".")
	for name, bad := range map[string]string{
		"empty":           "",
		"no signature":    payload,
		"other's payload": fp + "." + sig,
		"other secret":    mail.NewOptOut("another").Token("people/jane", "drift-nudge"),
		"truncated sig":   tok[:len(tok)-2],
		"not base64":      "!!!.???",
		"way too long":    strings.Repeat("a", 600) + "." + sig,
	} {
		if _, _, err := o.Verify(bad); !errors.Is(err, mail.ErrBadToken) {
			t.Errorf("%s: got %v, want ErrBadToken", name, err)
		}
	}
}
