package outbox

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/guildhall/guildhall/internal/sqlstate"
)

// BacklogCollector exports, per service, how many messages wait in the
// outbox and how old the oldest is: a backlog that only grows means the
// drainer is stuck or its receiver is down. Read at scrape time.
type BacklogCollector struct {
	mu      sync.Mutex
	pools   map[string]*pgxpool.Pool
	missing map[string]bool // services without an outbox table

	messages, age *prometheus.Desc
}

// NewBacklogCollector returns a collector with no pools; Add them as they open.
func NewBacklogCollector() *BacklogCollector {
	l := []string{"service"}
	return &BacklogCollector{
		pools:    map[string]*pgxpool.Pool{},
		missing:  map[string]bool{},
		messages: prometheus.NewDesc("guildhall_outbox_messages", "Messages written but not yet delivered.", l, nil),
		age:      prometheus.NewDesc("guildhall_outbox_oldest_message_age_seconds", "Age of the oldest undelivered message, in seconds; 0 when none wait.", l, nil),
	}
}

// Add watches the outbox in pool's schema; a service without one is skipped.
func (c *BacklogCollector) Add(service string, pool *pgxpool.Pool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pools[service] = pool
}

// Describe implements prometheus.Collector.
func (c *BacklogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.messages
	ch <- c.age
}

// Collect implements prometheus.Collector. A database that does not answer
// within a second leaves its series out of this scrape rather than stall it.
func (c *BacklogCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for svc, pool := range c.pools {
		if c.missing[svc] {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var n int64
		var age float64
		err := pool.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(create_time)), 0)::float8 FROM outbox`).Scan(&n, &age)
		cancel()
		if sqlstate.Is(err, sqlstate.UndefinedTable) { // this service has no outbox
			c.missing[svc] = true
			continue
		}
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(n), svc)
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, max(age, 0), svc)
	}
}
