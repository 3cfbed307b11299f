package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
)

// Enum is a state kept as text in a History: a generated proto enum,
// stored as pgenum.Text.
type Enum interface {
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
// one way (Fill). The names are the service's own constants, never input.
type History struct {
	Collection string // the resources' collection, e.g. "releases"
	Table      string // e.g. "release_transitions"
	Key        string // the column of the resource's id, e.g. "release_id"
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

// Fill sets the `history` of each of msgs, resources of h's collection, to
// its recorded moves, read in one query. Every kind's history is a
// repeated message of from_state and to_state (its State enum), actor,
// time (google.protobuf.Timestamp) and note, like
// roadmap.v1.ReleaseTransition, so one function fills them all.
func Fill[M Named](ctx context.Context, db DB, h History, msgs ...M) error {
	if len(msgs) == 0 {
		return nil
	}
	ids := make([]string, len(msgs))
	byID := make(map[string]protoreflect.Message, len(msgs))
	for i, m := range msgs {
		ids[i] = resource.ID(h.Collection, m.GetName())
		byID[ids[i]] = m.ProtoReflect()
	}
	return h.read(ctx, db, ids, func(e stored) { appendMove(byID[e.ID], e) })
}

// FillFrom sets the `history` of msg to its recorded moves as read by the
// statement that read msg itself, so that one round trip reads both:
// history is a JSON array of the history table's rows, oldest first, as
// `(SELECT coalesce(jsonb_agg(t ORDER BY t.id), '[]') FROM <table> t
// WHERE t.<key> = <resource>.id)` gives it.
func FillFrom[M Named](msg M, history []byte) error {
	var moves []stored
	if err := json.Unmarshal(history, &moves); err != nil {
		return fmt.Errorf("lifecycle: history of %s: %w", msg.GetName(), err)
	}
	m := msg.ProtoReflect()
	for _, e := range moves {
		appendMove(m, e)
	}
	return nil
}

// appendMove appends e to the `history` of m.
func appendMove(m protoreflect.Message, e stored) {
	list := m.Mutable(m.Descriptor().Fields().ByName("history")).List()
	t := list.NewElement().Message()
	fields := t.Descriptor().Fields()
	set := func(name string, v protoreflect.Value) { t.Set(fields.ByName(protoreflect.Name(name)), v) }
	set("from_state", protoreflect.ValueOfEnum(pgenum.Number(fields.ByName("from_state").Enum(), e.From)))
	set("to_state", protoreflect.ValueOfEnum(pgenum.Number(fields.ByName("to_state").Enum(), e.To)))
	set("actor", protoreflect.ValueOfString(e.Actor))
	set("time", protoreflect.ValueOfMessage(timestamppb.New(e.Time).ProtoReflect()))
	set("note", protoreflect.ValueOfString(e.Note))
	list.Append(protoreflect.ValueOfMessage(t))
}

// Named is a resource message: it has a name, `{collection}/{id}`.
type Named interface {
	proto.Message
	GetName() string
}

// stored is one recorded move as the table keeps it; the JSON names are
// the table's columns (FillFrom reads rows as JSON). ID is the resource's.
type stored struct {
	ID    string    `json:"-"`
	From  string    `json:"from_state"`
	To    string    `json:"to_state"`
	Actor string    `json:"actor"`
	Time  time.Time `json:"time"`
	Note  string    `json:"note"`
}

func (h History) read(ctx context.Context, db DB, ids []string, each func(stored)) error {
	key, table := pgx.Identifier{h.Key}.Sanitize(), pgx.Identifier{h.Table}.Sanitize()
	where, arg := key+` = ANY($1)`, any(ids)
	if len(ids) == 1 {
		// One resource's history (a Get, a write's reply): with = the
		// server keeps the statement's generic plan, where ANY($1) was
		// planned again on every call.
		where, arg = key+` = $1`, ids[0]
	}
	rows, err := db.Query(ctx, `SELECT `+key+`::text, from_state, to_state, actor, time, note FROM `+table+
		` WHERE `+where+` ORDER BY `+key+`, id`, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e stored
		if err := rows.Scan(&e.ID, &e.From, &e.To, &e.Actor, &e.Time, &e.Note); err != nil {
			return err
		}
		each(e)
	}
	return rows.Err()
}
