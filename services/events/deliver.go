package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/job"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/events/store"
)

// Delivery states as stored (the enum's names).
var (
	statePending   = eventsv1.Delivery_STATE_PENDING.String()
	stateRetrying  = eventsv1.Delivery_STATE_RETRYING.String()
	stateSucceeded = eventsv1.Delivery_STATE_SUCCEEDED.String()
)

// sender POSTs signed deliveries through the guard's dialer. It follows no
// redirects (a 3xx is a failure, as a redirect could lead anywhere) and uses
// no proxy (which would dial for it, past the guard).
type sender struct {
	client *http.Client
}

func newSender(g *guard, timeout time.Duration) *sender {
	d := &net.Dialer{Timeout: timeout, Control: g.control}
	t := &http.Transport{DialContext: d.DialContext, Proxy: nil, MaxIdleConnsPerHost: 2,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: timeout, ResponseHeaderTimeout: timeout}
	return &sender{client: &http.Client{Transport: t, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// attempt is what one POST came to.
type attempt struct {
	status  int
	err     string
	latency time.Duration
}

func (a attempt) ok() bool { return a.err == "" && a.status >= 200 && a.status < 300 }

// post sends body to uri signed with secret as the Standard Webhooks
// specification says: webhook-id, webhook-timestamp, webhook-signature.
func (s *sender) post(ctx context.Context, uri, secret, msgID string, body []byte, now time.Time) attempt {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return attempt{err: "bad secret: " + err.Error()}
	}
	sig, err := wh.Sign(msgID, now, body)
	if err != nil {
		return attempt{err: "sign: " + err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, bytes.NewReader(body))
	if err != nil {
		return attempt{err: err.Error()}
	}
	req.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
	req.Header.Set("User-Agent", "Guildhall-Webhooks/1")
	req.Header.Set(standardwebhooks.HeaderWebhookID, msgID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return attempt{err: trim(err.Error()), latency: time.Since(start)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	a := attempt{status: resp.StatusCode, latency: time.Since(start)}
	if !a.ok() {
		a.err = "receiver answered " + resp.Status
	}
	return a
}

func trim(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}

// Jobs implements service.Part: Workers delivery workers, each taking one
// webhook with a delivery due at a time (claimed with SKIP LOCKED, so
// replicas share the webhooks and each has one attempt in flight).
func (s *Server) Jobs() []job.Job {
	out := make([]job.Job, 0, s.opts.Workers)
	for i := range s.opts.Workers {
		out = append(out, job.Job{Name: fmt.Sprintf("%s.webhooks.%d", config.Events, i+1), Interval: s.opts.Interval,
			Pass: s.deliverOnce})
	}
	return out
}

// batch is how many deliveries of one webhook one claim sends at most, one
// after the other, in one transaction.
const batch = 50

// deliverOnce claims one webhook with deliveries due and sends them in
// order, one at a time, until one fails, the batch is done or a second has
// passed. The webhook stays locked meanwhile, so no other worker or replica
// sends its deliveries out of turn; the outcomes commit together, so a
// process killed mid-batch leaves them all pending, and they are sent again
// with the same webhook-id (at least once).
func (s *Server) deliverOnce(ctx context.Context) (bool, error) {
	did := false
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		did = false
		w, err := s.q.ClaimWebhook(ctx, tx)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ds, err := s.q.NextDeliveries(ctx, tx, store.NextDeliveriesParams{WebhookID: w.ID, MaxCount: batch})
		if err != nil {
			return err
		}
		start := time.Now()
		for _, d := range ds {
			ev, err := eventFromRow(d.EventID, d.Source, d.Type, d.Subject, d.Time, d.Data)
			if err != nil {
				return err
			}
			ce, err := events.CloudEvent(ev)
			if err != nil {
				return err
			}
			body, err := ce.MarshalJSON()
			if err != nil {
				return err
			}
			a := s.client.post(ctx, w.Uri, w.Secret, d.EventID, body, s.now())
			if ctx.Err() != nil {
				return ctx.Err() // shutting down: leave them pending
			}
			did = true
			if err := s.record(ctx, tx, w, d, ev, a); err != nil || !a.ok() || time.Since(start) > time.Second {
				return err
			}
			w.ConsecutiveFailures = 0
		}
		return nil
	})
	return did, err
}

// record stores an attempt's outcome on the delivery and the webhook:
// success clears the failures; a failure schedules the next attempt with
// exponential backoff and jitter, and the FailureLimit-th in a row
// deactivates the webhook and logs an event saying so.
func (s *Server) record(ctx context.Context, tx pgx.Tx, w store.Webhook, d store.NextDeliveriesRow, ev *eventsv1.Event, a attempt) error {
	now := s.now()
	state := stateSucceeded
	if !a.ok() {
		state = stateRetrying
	}
	if err := s.q.FinishAttempt(ctx, tx, store.FinishAttemptParams{ID: d.ID, State: state, LastStatusCode: int32(a.status),
		LastError: a.err, LatencyUs: a.latency.Microseconds(), Now: now}); err != nil {
		return err
	}
	p := store.RecordAttemptParams{ID: w.ID, Active: true, Now: now}
	if a.ok() {
		s.metrics.outcome("succeeded")
		s.metrics.lag.Observe(now.Sub(ev.GetTime().AsTime()).Seconds())
		return s.q.RecordAttempt(ctx, tx, p)
	}
	s.metrics.outcome("failed")
	p.ConsecutiveFailures = w.ConsecutiveFailures + 1
	p.BackoffSeconds = s.backoff(int(p.ConsecutiveFailures)).Seconds()
	if int(p.ConsecutiveFailures) >= s.opts.FailureLimit {
		p.Active = false
		p.DisableReason = fmt.Sprintf("%d consecutive failed deliveries; the last: %s", p.ConsecutiveFailures, a.err)
		s.metrics.outcome("disabled")
		s.log.Warn("webhook deactivated after failed deliveries", zap.String("webhook", resource.Name(webhooks, w.ID)),
			zap.Int32("failures", p.ConsecutiveFailures), zap.String("last_error", a.err))
		if err := s.emit(ctx, tx, events.Event{Type: events.WebhookDisabled, Subject: resource.Name(webhooks, w.ID),
			Data:     &eventsv1.Webhook{Name: resource.Name(webhooks, w.ID), DisableReason: p.DisableReason},
			Audience: events.Holders(PermManageWebhooks), Time: now}); err != nil {
			return err
		}
	}
	return s.q.RecordAttempt(ctx, tx, p)
}

// emit appends an event of the events service itself to the log, in tx.
func (s *Server) emit(ctx context.Context, tx pgx.Tx, e events.Event) error {
	rec, err := events.Record(e)
	if err != nil {
		return err
	}
	_, err = s.appendEvents(ctx, tx, []*eventsv1.EventRecord{rec}, [][]byte{rec.GetDataJson()})
	return err
}

// backoff is the wait after the n-th consecutive failure: BackoffBase·2^(n-1)
// capped at BackoffMax, moved by up to ±20% at random so that webhooks
// failing together do not retry together.
func (s *Server) backoff(n int) time.Duration {
	d := s.opts.BackoffBase << min(n-1, 30)
	if d <= 0 || d > s.opts.BackoffMax {
		d = s.opts.BackoffMax
	}
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}

// GetDelivery implements AIP-131.
func (s *Server) GetDelivery(ctx context.Context, req *eventsv1.GetDeliveryRequest) (*eventsv1.Delivery, error) {
	w, id, ok := splitDelivery(req.GetName())
	if !ok {
		return nil, resource.NotFoundIfNoRows(pgx.ErrNoRows, req.GetName())
	}
	row, err := s.q.GetDelivery(ctx, s.db, store.GetDeliveryParams{WebhookID: w, ID: id})
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return deliveryFromRow(store.ListDeliveriesRow(row)), nil
}

// ListDeliveries implements AIP-132, newest first.
func (s *Server) ListDeliveries(ctx context.Context, req *eventsv1.ListDeliveriesRequest) (*eventsv1.ListDeliveriesResponse, error) {
	w := resource.ID(webhooks, req.GetParent())
	if _, err := s.q.GetWebhook(ctx, s.db, w); err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetParent())
	}
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(deliveries, w))
	if err != nil {
		return nil, err
	}
	before := int64(1<<63 - 1)
	if page.After() != "" {
		if before, err = strconv.ParseInt(page.After(), 10, 64); err != nil {
			return nil, pagination.BadToken()
		}
	}
	rows, err := s.q.ListDeliveries(ctx, s.db, store.ListDeliveriesParams{WebhookID: w, Before: before, PageSize: page.Limit()})
	if err != nil {
		return nil, err
	}
	resp := &eventsv1.ListDeliveriesResponse{}
	resp.Deliveries, resp.NextPageToken = pagination.FinishAs(page, rows, func(r store.ListDeliveriesRow) string { return strconv.FormatInt(r.ID, 10) }, deliveryFromRow)
	return resp, nil
}

// RedeliverDelivery queues the delivery's event again for its webhook.
func (s *Server) RedeliverDelivery(ctx context.Context, req *eventsv1.RedeliverDeliveryRequest) (*eventsv1.Delivery, error) {
	w, id, ok := splitDelivery(req.GetName())
	if !ok {
		return nil, resource.NotFoundIfNoRows(pgx.ErrNoRows, req.GetName())
	}
	var out *eventsv1.Delivery
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		// Under the log lock, as ingest queues, so the queue order holds.
		if err := s.q.LockLog(ctx, tx); err != nil {
			return err
		}
		newID, err := s.q.Redeliver(ctx, tx, store.RedeliverParams{WebhookID: w, ID: id})
		if err != nil {
			return resource.NotFoundIfNoRows(err, req.GetName())
		}
		row, err := s.q.GetDelivery(ctx, tx, store.GetDeliveryParams{WebhookID: w, ID: newID})
		if err != nil {
			return err
		}
		out = deliveryFromRow(store.ListDeliveriesRow(row))
		return nil
	})
	return out, err
}

func deliveryFromRow(r store.ListDeliveriesRow) *eventsv1.Delivery {
	d := &eventsv1.Delivery{
		Name: deliveryName(r.WebhookID, r.ID), EventId: r.EventID, EventType: r.EventType,
		State:    eventsv1.Delivery_State(eventsv1.Delivery_State_value[r.State]),
		Attempts: r.Attempts, LastStatusCode: r.LastStatusCode, LastError: r.LastError,
		Latency:    durationpb.New(time.Duration(r.LatencyUs) * time.Microsecond),
		CreateTime: timestamppb.New(r.CreateTime),
	}
	if r.LastAttemptTime != nil {
		d.LastAttemptTime = timestamppb.New(*r.LastAttemptTime)
	}
	if r.DeliverTime != nil {
		d.DeliverTime = timestamppb.New(*r.DeliverTime)
	}
	if r.RedeliveryOf.Valid {
		d.RedeliveryOf = deliveryName(r.WebhookID, r.RedeliveryOf.Int64)
	}
	return d
}
