package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/guildhall/guildhall/internal/config"
)

// SMTP sends mail to a relay with github.com/wneessen/go-mail, one
// connection per message (notification volumes are small, and a relay
// that dropped an idle connection costs nothing this way). It is safe for
// concurrent use.
type SMTP struct {
	client *gomail.Client
	from   *mail.Address
	domain string // of From, for Message-IDs
}

// SMTPOption adjusts an SMTP sender.
type SMTPOption func(*smtpOptions)

type smtpOptions struct {
	tls     *tls.Config
	timeout time.Duration
}

// WithTLSConfig sets the TLS configuration, e.g. a test relay's roots;
// the default verifies the relay's certificate against the system's roots.
func WithTLSConfig(c *tls.Config) SMTPOption { return func(o *smtpOptions) { o.tls = c } }

// WithTimeout bounds connecting and each SMTP command (default 15s).
func WithTimeout(d time.Duration) SMTPOption { return func(o *smtpOptions) { o.timeout = d } }

// NewSMTP returns a sender to the relay cfg names (config.SMTP documents
// the TLS policies). With a username it authenticates with the strongest
// mechanism the relay offers, and never in clear text without TLS.
func NewSMTP(cfg config.SMTP, opts ...SMTPOption) (*SMTP, error) {
	o := smtpOptions{timeout: 15 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("GUILDHALL_SMTP_FROM %q: %w", cfg.From, err)
	}
	copts := []gomail.Option{gomail.WithPort(int(cfg.Port)), gomail.WithTimeout(o.timeout)}
	switch cfg.TLS {
	case "mandatory":
		copts = append(copts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "opportunistic":
		copts = append(copts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case "implicit":
		copts = append(copts, gomail.WithSSL())
	case "none":
		copts = append(copts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return nil, fmt.Errorf("GUILDHALL_SMTP_TLS: %q is not one of %s", cfg.TLS, strings.Join(config.SMTPTLSPolicies, ", "))
	}
	if o.tls != nil {
		c := o.tls.Clone()
		if c.ServerName == "" {
			c.ServerName = cfg.Host
		}
		copts = append(copts, gomail.WithTLSConfig(c))
	}
	if cfg.Username != "" {
		copts = append(copts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	client, err := gomail.NewClient(cfg.Host, copts...)
	if err != nil {
		return nil, fmt.Errorf("SMTP client for %s: %w", cfg.Host, err)
	}
	_, domain, _ := strings.Cut(from.Address, "@")
	return &SMTP{client: client, from: from, domain: domain}, nil
}

// Send delivers m to the relay. A 5xx refusal is Permanent; a relay that
// cannot be reached, or answers 4xx, is not.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if m.ID != "" {
		msg.SetMessageIDWithValue(m.ID + "@" + s.domain)
	} else {
		msg.SetMessageID()
	}
	// Automated mail: no out-of-office replies to it (RFC 3834).
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	if m.Unsubscribe != "" {
		if strings.HasPrefix(m.Unsubscribe, "https://") {
			if err := msg.SetListUnsubscribeOneClick(m.Unsubscribe); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalid, err)
			}
		} else {
			// RFC 8058 one-click is for https only; plain http (a laptop)
			// still gets the link.
			msg.SetListUnsubscribe(m.Unsubscribe)
		}
	}
	for k, v := range m.Headers {
		msg.SetGenHeader(gomail.Header(k), v)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	err := s.client.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return nil
	}
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		return permanentError{fmt.Errorf("SMTP relay refused mail: %w", err)}
	}
	return fmt.Errorf("SMTP: %w", err)
}
