// Package outbox is the transactional outbox: a service writes a message in
// the same transaction as the change it describes, and a background job
// delivers it later. A crash or an outage of the receiver neither fails the
// write nor loses the message; delivery is at least once, so receivers must be
// idempotent.
package outbox

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/job"
)

// Message is one row of the outbox: a topic and its payload, an encoded
// protobuf message that the topic's Sender decodes. Rows are made by
// NewMessage alone, whether Enqueue writes them or a batched statement does.
type Message struct {
	Topic   string
	Payload []byte
}

// NewMessage returns the row that queues msg under topic.
func NewMessage(topic string, msg proto.Message) (Message, error) {
	b, err := proto.Marshal(msg)
	if err != nil {
		return Message{}, fmt.Errorf("encode %s: %w", topic, err)
	}
	return Message{Topic: topic, Payload: b}, nil
}

// Enqueue adds msg under topic, inside tx.
func Enqueue(ctx context.Context, tx pgx.Tx, topic string, msg proto.Message) error {
	m, err := NewMessage(topic, msg)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (topic, payload) VALUES ($1, $2)`, m.Topic, m.Payload); err != nil {
		return fmt.Errorf("enqueue %s: %w", topic, err)
	}
	return nil
}

// Sender delivers a batch of one topic's payloads, oldest first. An error
// leaves the whole batch queued for a later try.
type Sender func(ctx context.Context, topic string, payloads [][]byte) error

// Route is a Sender that hands each topic's payloads to that topic's
// sender. A topic with no sender fails the batch, which stays queued: rows
// are never dropped for want of a receiver.
func Route(senders map[string]Sender) Sender {
	return func(ctx context.Context, topic string, payloads [][]byte) error {
		send, ok := senders[topic]
		if !ok {
			return fmt.Errorf("no sender for outbox topic %q", topic)
		}
		return send(ctx, topic, payloads)
	}
}

// Batch is how many messages one pass delivers at most.
const Batch = 200

// Job delivers db's queued messages with send, every interval while the
// queue is empty and pass after pass while it is not. Replicas share the
// queue: each pass claims its rows with FOR UPDATE SKIP LOCKED.
func Job(name string, db *pgxpool.Pool, send Sender, interval time.Duration) job.Job {
	return job.Job{Name: name, Interval: interval, Pass: func(ctx context.Context) (bool, error) {
		n, err := DrainOnce(ctx, db, send, Batch)
		return n == Batch, err
	}}
}

// DrainOnce delivers up to batch messages and reports how many were
// delivered. The rows stay locked (FOR UPDATE SKIP LOCKED) until they are
// delivered and deleted in one transaction, so replicas draining side by side
// never deliver the same row at once, and the rows of a replica that dies
// mid-batch unlock with its connection and are delivered by the next pass.
func DrainOnce(ctx context.Context, db *pgxpool.Pool, send Sender, batch int) (int, error) {
	delivered := 0
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, topic, payload FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, batch)
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
			if err := send(ctx, t, byTopic[t]); err != nil {
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

// Decoded is the Sender that decodes each payload as an M and hands the
// batch to send within a 10 s deadline. A row that does not decode is
// skipped, since it would block the queue forever; an empty batch is not
// sent. The receivers skip ids they have stored, so redelivery is harmless.
func Decoded[M proto.Message](send func(ctx context.Context, msgs []M) error) Sender {
	return func(ctx context.Context, _ string, payloads [][]byte) error {
		var msgs []M
		for _, p := range payloads {
			m := reflect.New(reflect.TypeFor[M]().Elem()).Interface().(M)
			if err := proto.Unmarshal(p, m); err != nil {
				continue
			}
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return send(ctx, msgs)
	}
}
