package mail

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts mail by outcome and kind:
// guildhall_mail_sent_total{kind} and guildhall_mail_failed_total{kind}
// (a failed attempt counts once; its retry that succeeds counts as sent).
type Metrics struct {
	sent, failed *prometheus.CounterVec
}

// NewMetrics registers the mail counters in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guildhall_mail_sent_total", Help: "Mail handed to the relay (or the log), by kind.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guildhall_mail_failed_total", Help: "Attempts to send mail that failed, by kind.",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.sent, m.failed)
	return m
}

// Wrap returns s counting every Send in m.
func (m *Metrics) Wrap(s Sender) Sender { return counted{s, m} }

type counted struct {
	s Sender
	m *Metrics
}

func (c counted) Send(ctx context.Context, msg Message) error {
	kind := msg.Kind
	if kind == "" {
		kind = "other"
	}
	err := c.s.Send(ctx, msg)
	if err != nil {
		c.m.failed.WithLabelValues(kind).Inc()
	} else {
		c.m.sent.WithLabelValues(kind).Inc()
	}
	return err
}
