// Package mail sends Guildhall's mail: one Message to one person through a
// Sender. NewSender picks the sender the configuration asks for: SMTP
// through github.com/wneessen/go-mail when GUILDHALL_SMTP_HOST is set, or
// the log when it is not (dev). Metrics counts what was sent and what failed.
//
// Mail is never sent from a request path: callers are background jobs that
// record, before sending, that a message is due (see the notifier), so a
// retry or a second replica does not send it twice. Message.ID keeps one
// Message-ID across such retries.
//
// This package imports no service; the templates that fill a Message live
// in package mail/templates.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/guildhall/guildhall/internal/config"
)

// Message is one mail to one recipient.
type Message struct {
	// Kind names what the mail is about ("drift.nudge", "signin.link"). It
	// labels metrics and logs; the recipient never sees it.
	Kind string
	// To is the recipient, an RFC 5322 address ("Jane <jane@example.org>"
	// or "jane@example.org").
	To string
	// Subject is the subject line, one line of text.
	Subject string
	// Text is the plain-text body; required. HTML, if set, is sent as its
	// alternative (multipart/alternative, text first).
	Text, HTML string
	// ID, if set, makes the Message-ID "<ID@domain of the sender>". Give the
	// same ID to every attempt at the same mail (e.g. derived from event,
	// recipient and kind), so a receiver can drop a duplicate. Letters,
	// digits and . - _ only. Empty: a random Message-ID.
	ID string
	// Unsubscribe, if set, is the one-click opt-out URL: it becomes the
	// List-Unsubscribe header (RFC 2369), and for an https URL also
	// List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), which
	// tells the mail client to POST to it without opening a page.
	Unsubscribe string
	// Headers are further header fields (e.g. "Auto-Submitted"). Names of
	// the fields above are refused.
	Headers map[string]string
}

// Sender sends mail.
type Sender interface {
	// Send delivers m to the relay (or wherever the sender puts mail). An
	// invalid message fails with an error wrapping ErrInvalid; a refusal
	// that a retry cannot fix (a 5xx reply) is Permanent.
	Send(ctx context.Context, m Message) error
}

// ErrInvalid marks a message that cannot be sent as it is: a bad address,
// no subject or text, a header with a line break.
var ErrInvalid = errors.New("invalid mail message")

// permanentError is a failure a retry would repeat.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent reports whether err is a failure that sending again would
// repeat: an invalid message, or the relay's permanent (5xx) refusal.
// Anything else (a relay that is down, a 4xx) is worth retrying.
func Permanent(err error) bool {
	var p permanentError
	return errors.Is(err, ErrInvalid) || errors.As(err, &p)
}

// reserved are the header fields Message sets from its own fields.
var reserved = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "subject": true, "message-id": true, "date": true,
	"list-unsubscribe": true, "list-unsubscribe-post": true, "content-type": true,
	"content-transfer-encoding": true, "mime-version": true,
}

// Validate reports what is wrong with m, wrapping ErrInvalid.
func (m Message) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if _, err := mail.ParseAddress(m.To); err != nil {
		return bad("recipient %q is not an address", m.To)
	}
	if strings.TrimSpace(m.Subject) == "" || strings.ContainsAny(m.Subject, "\r\n") {
		return bad("subject must be one non-empty line")
	}
	if strings.TrimSpace(m.Text) == "" {
		return bad("text body is empty")
	}
	if strings.Trim(m.ID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != "" {
		return bad("message id %q has characters other than letters, digits and . - _", m.ID)
	}
	if m.Unsubscribe != "" {
		u, err := url.Parse(m.Unsubscribe)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bad("unsubscribe link %q is not an http(s) URL", m.Unsubscribe)
		}
	}
	for k, v := range m.Headers {
		if reserved[strings.ToLower(k)] || k == "" || strings.ContainsAny(k, ": \r\n") || strings.ContainsAny(v, "\r\n") {
			return bad("header %q cannot be set this way", k)
		}
	}
	return nil
}

// NewSender returns the sender cfg asks for: SMTP if a host is set, else
// one that writes each mail to log (as dev does; it says so once).
func NewSender(cfg config.SMTP, log *zap.Logger) (Sender, error) {
	if cfg.Host == "" {
		log.Info("no SMTP host (GUILDHALL_SMTP_HOST): mail is written to the log, not sent")
		return NewLog(log), nil
	}
	return NewSMTP(cfg)
}

// Log is the sender of a laptop: each mail becomes a log line with its
// text, so that links in it (sign-in, opt-out) can be followed.
type Log struct{ log *zap.Logger }

// NewLog returns a sender that writes mail to log at Info.
func NewLog(log *zap.Logger) *Log { return &Log{log: log} }

// Send logs m.
func (l *Log) Send(_ context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	l.log.Info("mail (logged, not sent)", zap.String("kind", m.Kind), zap.String("to", m.To),
		zap.String("subject", m.Subject), zap.String("message_id", m.ID),
		zap.String("unsubscribe", m.Unsubscribe), zap.String("text", m.Text))
	return nil
}
