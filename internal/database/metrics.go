package database

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Tracer traces every statement on the pool's connections (see
// internal/telemetry); nil leaves the pool untraced.
func Tracer(t pgx.QueryTracer) Option {
	return func(c *pgxpool.Config) {
		if t != nil {
			c.ConnConfig.Tracer = t
		}
	}
}

// PoolCollector exports connection-pool statistics to Prometheus, one series
// per service's pool. Values are read from pgxpool at scrape time.
type PoolCollector struct {
	pools map[string]*pgxpool.Pool

	acquired, idle, total, max       *prometheus.Desc
	acquires, emptyAcquires, cancels *prometheus.Desc
	acquireSeconds, waitSeconds      *prometheus.Desc
}

// NewPoolCollector returns a collector with no pools; Add them as they open.
func NewPoolCollector() *PoolCollector {
	l := []string{"service"}
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("guildhall_db_pool_"+name, help, l, nil)
	}
	return &PoolCollector{
		pools:          map[string]*pgxpool.Pool{},
		acquired:       d("acquired_connections", "Connections currently checked out of the pool by a request or job."),
		idle:           d("idle_connections", "Open connections waiting in the pool."),
		total:          d("connections", "Open connections, acquired, idle and being opened."),
		max:            d("max_connections", "The pool's size limit (GUILDHALL_DB_MAX_CONNS)."),
		acquires:       d("acquires_total", "Connections taken from the pool."),
		emptyAcquires:  d("waited_acquires_total", "Acquires that found no idle connection and had to wait or open one."),
		cancels:        d("canceled_acquires_total", "Acquires abandoned because the caller's context ended."),
		acquireSeconds: d("acquire_seconds_total", "Time spent acquiring connections, in seconds."),
		waitSeconds:    d("acquire_wait_seconds_total", "Time spent waiting for a connection when none was idle, in seconds."),
	}
}

// Add exports pool under the service label.
func (c *PoolCollector) Add(service string, pool *pgxpool.Pool) { c.pools[service] = pool }

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max, c.acquires, c.emptyAcquires, c.cancels, c.acquireSeconds, c.waitSeconds} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	for svc, p := range c.pools {
		s := p.Stat()
		g := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, svc)
		}
		n := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, svc)
		}
		g(c.acquired, float64(s.AcquiredConns()))
		g(c.idle, float64(s.IdleConns()))
		g(c.total, float64(s.TotalConns()))
		g(c.max, float64(s.MaxConns()))
		n(c.acquires, float64(s.AcquireCount()))
		n(c.emptyAcquires, float64(s.EmptyAcquireCount()))
		n(c.cancels, float64(s.CanceledAcquireCount()))
		n(c.acquireSeconds, s.AcquireDuration().Seconds())
		n(c.waitSeconds, s.EmptyAcquireWaitTime().Seconds())
	}
}
