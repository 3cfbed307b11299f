package events

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the delivery metrics: attempts by outcome, the lag from an
// event's time to its delivery, and (read at scrape time) the backlog of
// undelivered deliveries with the age of the oldest.
type metrics struct {
	outcomes *prometheus.CounterVec
	lag      prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, s *Server) (*metrics, error) {
	m := &metrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guildhall_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome: succeeded, failed (will retry), disabled (the webhook was deactivated by this failure).",
		}, []string{"outcome"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "guildhall_webhook_delivery_lag_seconds",
			Help:    "Time from an event to its successful webhook delivery.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
		}),
	}
	for _, o := range []string{"succeeded", "failed", "disabled"} {
		m.outcomes.WithLabelValues(o)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.outcomes, m.lag, &backlog{s: s,
			pending: prometheus.NewDesc("guildhall_webhook_backlog", "Deliveries queued for active webhooks and not yet delivered.", nil, nil),
			age:     prometheus.NewDesc("guildhall_webhook_oldest_undelivered_age_seconds", "Age of the oldest event queued for an active webhook and not yet delivered, in seconds; 0 when none wait.", nil, nil),
		}} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) outcome(o string) { m.outcomes.WithLabelValues(o).Inc() }

// backlog reads the delivery backlog at scrape time; a database that does
// not answer within a second leaves it out of the scrape.
type backlog struct {
	s            *Server
	pending, age *prometheus.Desc
}

func (b *backlog) Describe(ch chan<- *prometheus.Desc) { ch <- b.pending; ch <- b.age }

func (b *backlog) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, err := b.s.q.Backlog(ctx, b.s.db, b.s.now())
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(b.pending, prometheus.GaugeValue, float64(r.Pending))
	ch <- prometheus.MustNewConstMetric(b.age, prometheus.GaugeValue, max(r.OldestAge, 0))
}
