// Package events is the events service: the event log every service writes
// to through its outbox (IngestEvents), the feed read from it (ListEvents),
// and webhooks that push it to integrators under the Standard Webhooks
// signature scheme. It owns the "events" schema and must not import the
// other services.
package events

import (
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	"github.com/guildhall/guildhall/services/events/store"
)

const (
	webhooks   = "webhooks"
	deliveries = "deliveries"
)

// Options is what the events service is built from.
type Options struct {
	DB  *pgxpool.Pool
	Log *zap.Logger
	Now func() time.Time
	// Metrics receives the delivery metrics; nil registers nowhere.
	Metrics prometheus.Registerer
	// Delivery tunes webhook delivery; zero fields take the defaults.
	Delivery Delivery
}

// Delivery tunes webhook delivery.
type Delivery struct {
	// Workers is how many deliveries run at once in this process (one per
	// webhook at a time). Default 8.
	Workers int
	// Timeout bounds one attempt, connecting to the last byte of the
	// answer. Default 10s.
	Timeout time.Duration
	// BackoffBase and BackoffMax shape the wait after a failed attempt:
	// BackoffBase·2^(failures-1), at most BackoffMax, ±20% jitter.
	// Defaults 1s and 10m.
	BackoffBase, BackoffMax time.Duration
	// FailureLimit is how many consecutive failed attempts deactivate a
	// webhook. Default 20 (about two hours of retries with the defaults).
	FailureLimit int
	// AllowedNetworks are private, loopback or link-local networks an
	// operator allows as webhook targets; every other such address is
	// refused (SSRF).
	AllowedNetworks []netip.Prefix
	// Interval is the pause of an idle worker. Default 250ms.
	Interval time.Duration
}

func (d Delivery) withDefaults() Delivery {
	if d.Workers <= 0 {
		d.Workers = 8
	}
	if d.Timeout <= 0 {
		d.Timeout = 10 * time.Second
	}
	if d.BackoffBase <= 0 {
		d.BackoffBase = time.Second
	}
	if d.BackoffMax <= 0 {
		d.BackoffMax = 10 * time.Minute
	}
	if d.FailureLimit <= 0 {
		d.FailureLimit = 20
	}
	if d.Interval <= 0 {
		d.Interval = 250 * time.Millisecond
	}
	return d
}

// Server implements eventsv1.EventServiceServer.
type Server struct {
	eventsv1.UnimplementedEventServiceServer
	db      *pgxpool.Pool
	q       *store.Queries
	log     *zap.Logger
	now     func() time.Time
	opts    Delivery
	guard   *guard
	metrics *metrics
	client  *sender
}

// NewServer returns the events service.
func NewServer(o Options) (*Server, error) {
	d := o.Delivery.withDefaults()
	s := &Server{db: o.DB, q: store.New(), log: o.Log, now: func() time.Time { return o.Now().UTC() }, opts: d,
		guard: &guard{allowed: d.AllowedNetworks}}
	m, err := newMetrics(o.Metrics, s)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.client = newSender(s.guard, d.Timeout)
	return s, nil
}

// Register implements service.Part.
func (s *Server) Register(r grpc.ServiceRegistrar) { eventsv1.RegisterEventServiceServer(r, s) }
