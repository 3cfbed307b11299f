// Package outbox is the transactional outbox: a service writes a message in
// the same transaction as the change it describes, and a background drainer
// delivers it later. A crash or an outage of the receiver neither fails the
// write nor loses the message; delivery is at least once, so receivers must be
// idempotent.
package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// Schema is the table each service that uses an outbox creates in a migration.
const Schema = `CREATE TABLE outbox (
    id          bigserial   PRIMARY KEY,
    topic       text        NOT NULL,
    payload     bytea       NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);`

// Enqueue adds msg under topic, inside tx.
func Enqueue(ctx context.Context, tx pgx.Tx, topic string, msg proto.Message) error {
	b, err := proto.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (topic, payload) VALUES ($1, $2)`, topic, b); err != nil {
		return fmt.Errorf("enqueue %s: %w", topic, err)
	}
	return nil
}

// Sender delivers a batch of one topic's payloads, oldest first. An error
// leaves the whole batch queued for a later try.
type Sender func(ctx context.Context, topic string, payloads [][]byte) error

// Drainer delivers queued messages in the background.
type Drainer struct {
	db       *pgxpool.Pool
	send     Sender
	log      *zap.Logger
	interval time.Duration
	batch    int
}

// NewDrainer returns a drainer polling every interval.
func NewDrainer(db *pgxpool.Pool, send Sender, log *zap.Logger, interval time.Duration) *Drainer {
	return &Drainer{db: db, send: send, log: log, interval: interval, batch: 200}
}

// Run drains until ctx ends, backing off while the receiver fails.
func (d *Drainer) Run(ctx context.Context) {
	wait := d.interval
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		n, err := d.DrainOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			wait = min(wait*2, 30*time.Second)
			d.log.Warn("outbox delivery failed; will retry", zap.Error(err), zap.Duration("retry_in", wait))
		case n == d.batch:
			wait = 0 // more is waiting
		default:
			wait = d.interval
		}
	}
}

// DrainOnce delivers up to one batch and reports how many were delivered.
// Rows are locked with SKIP LOCKED, so several replicas drain side by side
// without delivering the same row twice at once.
func (d *Drainer) DrainOnce(ctx context.Context) (int, error) {
	delivered := 0
	err := pgx.BeginFunc(ctx, d.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, topic, payload FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, d.batch)
		if err != nil {
			return err
		}
		var ids []int64
		byTopic := map[string][][]byte{}
		var topics []string
		for rows.Next() {
			var id int64
			var topic string
			var payload []byte
			if err := rows.Scan(&id, &topic, &payload); err != nil {
				return err
			}
			if _, seen := byTopic[topic]; !seen {
				topics = append(topics, topic)
			}
			ids = append(ids, id)
			byTopic[topic] = append(byTopic[topic], payload)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, t := range topics {
			if err := d.send(ctx, t, byTopic[t]); err != nil {
				return fmt.Errorf("deliver %s: %w", t, err)
			}
		}
		if len(ids) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE id = ANY($1)`, ids); err != nil {
				return err
			}
		}
		delivered = len(ids)
		return nil
	})
	return delivered, err
}
