package mail

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// OptOut signs and checks the tokens of one-click opt-out links: a token
// names a recipient (a resource name, "people/jane" or "volunteers/42") and
// a kind of mail, with an HMAC-SHA256 over both, so it cannot be guessed or
// altered, and it works without signing in. The opt-out it asks for is
// idempotent: following a link twice leaves the kind off.
type OptOut struct{ key []byte }

// NewOptOut derives the signing key from secret (the services' shared
// GUILDHALL_INTERNAL_TOKEN, so every replica and service agrees without
// another setting). Changing the secret invalidates links already mailed.
func NewOptOut(secret string) *OptOut {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("guildhall mail opt-out v1"))
	return &OptOut{key: m.Sum(nil)}
}

// ErrBadToken is an opt-out token that is malformed or not signed by us.
var ErrBadToken = errors.New("opt-out token is not valid")

var b64 = base64.RawURLEncoding

// Token returns the token for recipient and kind (URL-safe, about 80
// characters for a person).
func (o *OptOut) Token(recipient, kind string) string {
	payload := recipient + " " + kind
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(o.mac(payload))
}

// Verify returns the recipient and kind a token names.
func (o *OptOut) Verify(token string) (recipient, kind string, err error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 512 {
		return "", "", ErrBadToken
	}
	payload, err1 := b64.DecodeString(p)
	mac, err2 := b64.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, o.mac(string(payload))) {
		return "", "", ErrBadToken
	}
	recipient, kind, ok = strings.Cut(string(payload), " ")
	if !ok || recipient == "" || kind == "" {
		return "", "", ErrBadToken
	}
	return recipient, kind, nil
}

func (o *OptOut) mac(payload string) []byte {
	m := hmac.New(sha256.New, o.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}
