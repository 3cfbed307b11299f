package lifecycle

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/pgenum"
)

// Enum is a state kept as text in a History: a generated proto enum,
// stored as pgenum.Text.
type Enum interface {
	~int32
	State
	protoreflect.Enum
}

// History is where a kind of resource keeps its moves, one row a move, in
// a table of its own with the same columns for every kind:
//
//	id bigserial, <Key> (the resource's id), from_state text (pgenum; ""
//	when it was created), to_state text, actor text, time timestamptz,
//	note text
//
// Every service writes and reads its histories through it, so that who
// moved what and when is recorded one way (Record, Created) and read back
// one way (Read). The names are the service's own constants, never input.
type History struct {
	Table string // e.g. "release_transitions"
	Key   string // the column of the resource's id, e.g. "release_id"
}

// Entry is one recorded move, as Read returns it. From is the zero state
// for the entry that records the resource's creation.
type Entry[S Enum] struct {
	From, To S
	Actor    string
	Time     time.Time
	Note     string
}

// DB runs History's statements: a pool, or a transaction.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (h History) insert(ctx context.Context, db DB, id, from, to, actor string, at time.Time, note string) error {
	_, err := db.Exec(ctx, `INSERT INTO `+pgx.Identifier{h.Table}.Sanitize()+` (`+pgx.Identifier{h.Key}.Sanitize()+
		`, from_state, to_state, actor, time, note) VALUES ($1, $2, $3, $4, $5, $6)`, id, from, to, actor, at.UTC(), note)
	return err
}

// Record is the Spec.Record that keeps each move of the resource id in h.
func Record[S Enum](ctx context.Context, h History, id string) func(pgx.Tx, Move[S]) error {
	return func(tx pgx.Tx, m Move[S]) error {
		return h.insert(ctx, tx, id, pgenum.Text(m.From), pgenum.Text(m.To), m.Actor, m.Time, m.Note)
	}
}

// Created keeps the first state of the resource id, made by the caller
// (auth.Actor) at now, the service clock.
func Created[S Enum](ctx context.Context, tx pgx.Tx, h History, id string, state S, now time.Time, note string) error {
	return h.insert(ctx, tx, id, "", pgenum.Text(state), auth.Actor(ctx), now, note)
}

// Read returns the recorded moves of the resources ids, oldest first, by
// id; an id without any is absent.
func Read[S Enum](ctx context.Context, db DB, h History, ids ...string) (map[string][]Entry[S], error) {
	rows, err := db.Query(ctx, `SELECT `+pgx.Identifier{h.Key}.Sanitize()+`::text, from_state, to_state, actor, time, note FROM `+
		pgx.Identifier{h.Table}.Sanitize()+` WHERE `+pgx.Identifier{h.Key}.Sanitize()+` = ANY($1) ORDER BY `+
		pgx.Identifier{h.Key}.Sanitize()+`, id`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var zero S
	d := zero.Descriptor()
	out := map[string][]Entry[S]{}
	for rows.Next() {
		var (
			id, from, to string
			e            Entry[S]
		)
		if err := rows.Scan(&id, &from, &to, &e.Actor, &e.Time, &e.Note); err != nil {
			return nil, err
		}
		e.From, e.To, e.Time = S(pgenum.Number(d, from)), S(pgenum.Number(d, to)), e.Time.UTC()
		out[id] = append(out[id], e)
	}
	return out, rows.Err()
}
