package mail_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/mail"
	"github.com/guildhall/guildhall/internal/mail/mailtest"
)

func message() mail.Message {
	return mail.Message{
		Kind: "test.kind", To: "Jane Crisp <jane@example.org>", Subject: "Ünïcode subject, and long enough to be folded perhaps",
		Text: "Hello Jane,\r\nline two with = and a very long line " + strings.Repeat("x", 120) + "\r\n",
		HTML: "<p>Hello <b>Jane</b></p>", ID: "evt-42.jane.test-kind",
		Unsubscribe: "https://guildhall.example.org/v1/unsubscribe?token=abc",
		Headers:     map[string]string{"X-Guildhall-Kind": "test.kind"},
	}
}

func TestSMTPDelivers(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	s, err := mail.NewSMTP(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	m := message()
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitN(t, 1, 5*time.Second)[0]
	if len(got.To) != 1 || got.To[0] != "jane@example.org" || got.From != "guildhall@example.org" {
		t.Errorf("envelope: from %q to %v", got.From, got.To)
	}
	checks := map[string][2]string{
		"subject":               {got.Subject, m.Subject},
		"text":                  {got.Text, m.Text},
		"html":                  {got.HTML, m.HTML},
		"message-id":            {got.MessageID(), "evt-42.jane.test-kind@example.org"},
		"list-unsubscribe":      {got.Header.Get("List-Unsubscribe"), "<" + m.Unsubscribe + ">"},
		"list-unsubscribe-post": {got.Header.Get("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click"},
		"auto-submitted":        {got.Header.Get("Auto-Submitted"), "auto-generated"},
		"extra header":          {got.Header.Get("X-Guildhall-Kind"), "test.kind"},
		"from":                  {got.Header.Get("From"), `"Guildhall" <guildhall@example.org>`},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s: got %q, want %q", name, c[0], c[1])
		}
	}
}

func TestSMTPPlainHTTPUnsubscribeIsNotOneClick(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	s, err := mail.NewSMTP(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	m := message()
	m.Unsubscribe, m.HTML = "http://localhost:8080/v1/unsubscribe?token=abc", ""
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitN(t, 1, 5*time.Second)[0]
	if got.Header.Get("List-Unsubscribe") != "<"+m.Unsubscribe+">" || got.Header.Get("List-Unsubscribe-Post") != "" {
		t.Errorf("RFC 8058 one-click needs https: got List-Unsubscribe %q, -Post %q",
			got.Header.Get("List-Unsubscribe"), got.Header.Get("List-Unsubscribe-Post"))
	}
	if got.HTML != "" || got.Text != m.Text {
		t.Errorf("text only: got text %q html %q", got.Text, got.HTML)
	}
}

func TestSMTPSTARTTLSAndAuth(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.WithSTARTTLS(), mailtest.WithAuth("relay", "s3cret"))
	cfg := srv.Config()
	s, err := mail.NewSMTP(cfg, mail.WithTLSConfig(&tls.Config{RootCAs: srv.RootCAs(), MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), message()); err != nil {
		t.Fatal(err)
	}
	srv.WaitN(t, 1, 5*time.Second)

	// A relay whose certificate is not trusted is never sent to under the
	// mandatory policy, and a wrong password is refused.
	untrusted, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := untrusted.Send(context.Background(), message()); err == nil {
		t.Error("sent over a TLS connection with an untrusted certificate")
	}
	cfg.Password = "wrong"
	wrong, err := mail.NewSMTP(cfg, mail.WithTLSConfig(&tls.Config{RootCAs: srv.RootCAs(), MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.Send(context.Background(), message()); err == nil {
		t.Error("sent with a wrong password")
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages arrived, want 1", n)
	}
}

func TestSMTPMandatoryTLSRefusesPlainRelay(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	cfg := srv.Config()
	cfg.TLS = "mandatory"
	s, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), message()); err == nil {
		t.Error("sent in clear text under the mandatory TLS policy")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages arrived, want 0", n)
	}
}

func TestSMTPFailuresAndMetrics(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	smtp, err := mail.NewSMTP(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := mail.NewMetrics(reg).Wrap(smtp)
	srv.Fail(451, 550)
	ctx := context.Background()

	err = s.Send(ctx, message())
	if err == nil || mail.Permanent(err) {
		t.Errorf("451: got %v, want a temporary failure", err)
	}
	err = s.Send(ctx, message())
	if err == nil || !mail.Permanent(err) {
		t.Errorf("550: got %v, want a permanent failure", err)
	}
	if err := s.Send(ctx, message()); err != nil {
		t.Errorf("third attempt: %v", err)
	}
	bad := message()
	bad.To = "not an address"
	if err := s.Send(ctx, bad); !errors.Is(err, mail.ErrInvalid) || !mail.Permanent(err) {
		t.Errorf("bad recipient: got %v, want ErrInvalid", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages arrived, want 1", n)
	}
	if sent := testutil.ToFloat64(mustVec(t, reg, "guildhall_mail_sent_total")); sent != 1 {
		t.Errorf("sent = %v, want 1", sent)
	}
	if failed := testutil.ToFloat64(mustVec(t, reg, "guildhall_mail_failed_total")); failed != 3 {
		t.Errorf("failed = %v, want 3", failed)
	}
}

// mustVec returns the collector of one metric family from reg, for ToFloat64.
func mustVec(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() != "test.kind" {
					t.Errorf("%s labelled %v", name, m.GetLabel())
				}
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, "", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
			}
		}
	})
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

func TestInvalidMessages(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string]func(*mail.Message){
		"no recipient":        func(m *mail.Message) { m.To = "" },
		"subject line break":  func(m *mail.Message) { m.Subject = "a\r\nBcc: x@example.org" },
		"no text":             func(m *mail.Message) { m.Text = " " },
		"id with brackets":    func(m *mail.Message) { m.ID = "a>b" },
		"unsubscribe mailto":  func(m *mail.Message) { m.Unsubscribe = "mailto:x@example.org" },
		"reserved header":     func(m *mail.Message) { m.Headers = map[string]string{"Bcc": "x@example.org"} },
		"header value breaks": func(m *mail.Message) { m.Headers = map[string]string{"X-A": "a\nBcc: x"} },
	} {
		m := message()
		edit(&m)
		if err := m.Validate(); !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestNewSenderLogsWithoutHost(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	s, err := mail.NewSender(config.SMTP{}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), message()); err != nil {
		t.Fatal(err)
	}
	entries := logs.FilterMessage("mail (logged, not sent)").All()
	if len(entries) != 1 || entries[0].ContextMap()["to"] != message().To || !strings.Contains(entries[0].ContextMap()["text"].(string), "Hello Jane") {
		t.Fatalf("logged mail: %+v", logs.All())
	}
}
