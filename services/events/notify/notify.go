// Package notify mails people about the events that concern them. It reads
// the events service's log with a durable cursor of its own, works out who
// should hear about each event (through the membership service, over gRPC),
// records one send per (event, recipient, kind) and then sends each record
// once, through package mail with the templates of mail/templates.
//
// Exactly once, as far as mail allows: planning writes the send records and
// moves the cursor in one transaction, so an event is planned once however
// often a pass is retried; a send is marked SENDING (committed) before the
// relay is contacted, so a second replica or a retry never sends it again.
// A relay's refusal puts it back to PENDING with a backoff (4xx) or marks it
// FAILED (5xx, or too many attempts). A process that dies between handing a
// mail to the relay and recording it leaves the record SENDING; it is never
// retried (at most once), and every attempt carries the same Message-ID.
//
// Privacy: each kind goes only to people who may read what it says (the
// person themself, the leads of their teams, approvers, owners), and a
// muted kind (NotificationSettings, or an opt-out link) is never sent.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	netmail "net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/job"
	"github.com/guildhall/guildhall/internal/mail"
	"github.com/guildhall/guildhall/internal/mail/templates"
	"github.com/guildhall/guildhall/internal/pgenum"
)

// Options are what a Notifier is built from.
type Options struct {
	// DB is the events service's pool: the log and the send records.
	DB *pgxpool.Pool
	// Members is the membership service, called as a Guildhall service.
	Members membershipv1.MembershipServiceClient
	// Roadmap is the roadmap service, called as a Guildhall service: items
	// and proposals that mail is about (nil: no roadmap mail).
	Roadmap roadmapv1.RoadmapServiceClient
	Mail    mail.Sender
	// TemplatesDir overrides built-in templates (GUILDHALL_MAIL_TEMPLATES).
	TemplatesDir string
	// OptOut signs the one-click opt-out links.
	OptOut *mail.OptOut
	// Site names the community in mail; its URL (GUILDHALL_PUBLIC_URL) is
	// the base of links.
	Site     templates.Site
	Log      *zap.Logger
	Now      func() time.Time
	Interval time.Duration
}

// Notifier plans and sends notification mail.
type Notifier struct {
	o         Options
	templates *templates.Set
}

// New returns a notifier.
func New(o Options) (*Notifier, error) {
	t, err := templates.Load(o.TemplatesDir)
	if err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	return &Notifier{o: o, templates: t}, nil
}

// Batch bounds the events planned, and the mails sent, in one pass.
const Batch = 100

// MaxAttempts is how often a send is tried before it is FAILED.
const MaxAttempts = 8

// sendingTimeout is how long a send may stay SENDING before it is given up
// as UNKNOWN (its process died mid-send): never resent.
const sendingTimeout = 10 * time.Minute

// Job is the notifier's background work, "events.notify": one replica at a
// time (an advisory lock on the events database), so the cursor has one
// writer; the sends it records are claimed row by row all the same.
func (n *Notifier) Job() job.Job {
	return job.Job{Name: "events.notify", Interval: n.o.Interval, Exclusive: n.o.DB, Pass: n.Pass}
}

// Pass plans the events that arrived since the cursor, then sends what is
// due. more reports a full batch of either.
func (n *Notifier) Pass(ctx context.Context) (more bool, err error) {
	planned, err := n.plan(ctx)
	if err != nil {
		return false, fmt.Errorf("plan notifications: %w", err)
	}
	sent, err := n.send(ctx)
	if err != nil {
		return false, fmt.Errorf("send notifications: %w", err)
	}
	return planned == Batch || sent == Batch, nil
}

// logEvent is one event of the log, as the notifier reads it.
type logEvent struct {
	Seq     int64
	ID      string
	Type    string
	Subject string
	Time    time.Time
	Data    map[string]any
}

func (e logEvent) str(key string) string {
	s, _ := e.Data[key].(string)
	return s
}

func (e logEvent) strs(key string) []string {
	raw, _ := e.Data[key].([]any)
	var out []string
	for _, r := range raw {
		if s, ok := r.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// send is one planned mail: a kind to a recipient about an event.
type send struct {
	EventID   string
	Recipient string // people/… or volunteers/…
	Kind      string // a template name, e.g. "drift-nudge"
	Fields    map[string]string
}

// plan reads events after the cursor, records their sends and moves the
// cursor past them, in one transaction.
func (n *Notifier) plan(ctx context.Context) (int, error) {
	var cursor, since int64
	if err := n.o.DB.QueryRow(ctx, `SELECT COALESCE((SELECT seq FROM notify_cursor WHERE name = 'mail'), 0),
		COALESCE((SELECT seq FROM notify_cursor WHERE name = $1), 0)`, sinceMark).Scan(&cursor, &since); err != nil {
		return 0, err
	}
	rows, err := n.o.DB.Query(ctx, `SELECT seq, id::text, type, subject, time, data FROM events
		WHERE seq > $1 AND type = ANY($2) ORDER BY seq LIMIT $3`, cursor, handledTypes(), Batch)
	if err != nil {
		return 0, err
	}
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (logEvent, error) {
		var e logEvent
		var data []byte
		if err := r.Scan(&e.Seq, &e.ID, &e.Type, &e.Subject, &e.Time, &data); err != nil {
			return e, err
		}
		return e, json.Unmarshal(data, &e.Data)
	})
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	// Recipients are resolved outside the transaction: a membership call
	// that fails fails the pass, and the next pass plans the same events.
	var sends []send
	pl := n.planner()
	for _, e := range evs {
		if e.Seq <= since && slices.Contains(sinceTypes(), e.Type) {
			continue // logged before these types were mailed: history, not news
		}
		s, err := pl.recipients(ctx, e)
		if err != nil {
			return 0, fmt.Errorf("event %s (%s): %w", e.ID, e.Type, err)
		}
		sends = append(sends, s...)
	}
	last := evs[len(evs)-1].Seq
	err = database.InTx(ctx, n.o.DB, func(tx pgx.Tx) error {
		for _, s := range sends {
			fields, err := json.Marshal(s.Fields)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO notify_sends (event_id, recipient, kind, fields, create_time, next_attempt_time)
				VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING`, s.EventID, s.Recipient, s.Kind, fields, n.o.Now()); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO notify_cursor (name, seq) VALUES ('mail', $1)
			ON CONFLICT (name) DO UPDATE SET seq = GREATEST(notify_cursor.seq, EXCLUDED.seq)`, last)
		return err
	})
	return len(evs), err
}

// due is a send claimed for this pass.
type due struct {
	send
	Attempts int
}

// send claims due sends (marking them SENDING, committed), mails them and
// records each outcome.
func (n *Notifier) send(ctx context.Context) (int, error) {
	now := n.o.Now()
	if _, err := n.o.DB.Exec(ctx, `UPDATE notify_sends SET state = 'UNKNOWN', last_error = 'the process died while sending'
		WHERE state = 'SENDING' AND last_attempt_time < $1`, now.Add(-sendingTimeout)); err != nil {
		return 0, err
	}
	rows, err := n.o.DB.Query(ctx, `UPDATE notify_sends s SET state = 'SENDING', attempts = attempts + 1, last_attempt_time = $1
		FROM (SELECT event_id, recipient, kind FROM notify_sends
		      WHERE state = 'PENDING' AND next_attempt_time <= $1
		      ORDER BY create_time, event_id LIMIT $2 FOR UPDATE SKIP LOCKED) d
		WHERE (s.event_id, s.recipient, s.kind) = (d.event_id, d.recipient, d.kind)
		RETURNING s.event_id::text, s.recipient, s.kind, s.fields, s.attempts`, now, Batch)
	if err != nil {
		return 0, err
	}
	claimed, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
		var d due
		var fields []byte
		if err := r.Scan(&d.EventID, &d.Recipient, &d.Kind, &fields, &d.Attempts); err != nil {
			return d, err
		}
		return d, json.Unmarshal(fields, &d.Fields)
	})
	if err != nil {
		return 0, err
	}
	for _, d := range claimed {
		state, msg, retryIn := n.deliver(ctx, d)
		next := now.Add(retryIn)
		if _, err := n.o.DB.Exec(ctx, `UPDATE notify_sends SET state = $4, last_error = $5, next_attempt_time = $6,
			sent_time = CASE WHEN $4 = 'SENT' THEN $7::timestamptz END
			WHERE event_id = $1 AND recipient = $2 AND kind = $3`,
			d.EventID, d.Recipient, d.Kind, state, msg, next, n.o.Now()); err != nil {
			return 0, err
		}
	}
	return len(claimed), nil
}

// deliver mails one send and says what became of it: SENT, SKIPPED (no
// address, or the kind is muted), PENDING again after retryIn, or FAILED.
func (n *Notifier) deliver(ctx context.Context, d due) (state, msg string, retryIn time.Duration) {
	log := n.o.Log.With(zap.String("event", d.EventID), zap.String("recipient", d.Recipient), zap.String("kind", d.Kind))
	r, err := n.o.Members.GetMailRecipient(ctx, &membershipv1.GetMailRecipientRequest{Recipient: d.Recipient})
	if err != nil {
		if isNotFound(err) {
			return "SKIPPED", "the recipient is gone", 0
		}
		return n.retry(d, err, log)
	}
	setting := settingOf(d.Kind)
	if r.GetEmail() == "" {
		return "SKIPPED", "no email address", 0
	}
	if slices.Contains(r.GetMutedKinds(), setting) {
		return "SKIPPED", "the recipient turned this kind off", 0
	}
	link := n.unsubscribeURL(d.Recipient, pgenum.Text(setting))
	out, err := n.templates.Render(d.Kind, templates.Data{Site: n.o.Site, Recipient: r.GetDisplayName(), Unsubscribe: link, Fields: d.Fields})
	if err != nil {
		log.Error("mail template failed", zap.Error(err))
		return "FAILED", err.Error(), 0
	}
	to := (&netmail.Address{Name: r.GetDisplayName(), Address: r.GetEmail()}).String()
	err = n.o.Mail.Send(ctx, mail.Message{
		Kind: d.Kind, To: to, Subject: out.Subject, Text: out.Text, HTML: out.HTML,
		ID: messageID(d.send), Unsubscribe: link,
	})
	switch {
	case err == nil:
		return "SENT", "", 0
	case mail.Permanent(err):
		log.Warn("mail refused", zap.Error(err))
		return "FAILED", err.Error(), 0
	default:
		return n.retry(d, err, log)
	}
}

func (n *Notifier) retry(d due, err error, log *zap.Logger) (string, string, time.Duration) {
	if d.Attempts >= MaxAttempts {
		log.Warn("mail given up", zap.Error(err), zap.Int("attempts", d.Attempts))
		return "FAILED", err.Error(), 0
	}
	log.Info("mail will be retried", zap.Error(err), zap.Int("attempts", d.Attempts))
	return "PENDING", err.Error(), min(time.Minute<<(d.Attempts-1), 6*time.Hour)
}

func (n *Notifier) unsubscribeURL(recipient, kind string) string {
	return strings.TrimSuffix(n.o.Site.URL, "/") + "/v1/notifications:unsubscribe?token=" + url.QueryEscape(n.o.OptOut.Token(recipient, kind))
}

// messageID is the same for every attempt at one send.
func messageID(s send) string {
	r := strings.NewReplacer("/", ".", "_", "-")
	return "notify." + s.EventID + "." + r.Replace(s.Recipient) + "." + s.Kind
}

func isNotFound(err error) bool { return status.Code(err) == codes.NotFound }
