// Package idempotency makes creates and other money-moving calls safe to
// retry (AIP-155): the first call with a request_id runs, and every later call
// with the same id gets the first response back, or ABORTED if its request
// differs. Each service keeps its keys in its own idempotency_keys table
// (request_id uuid primary key, method, request_hash, response, create_time),
// created by its first migration.
package idempotency

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/guildhall/guildhall/internal/apierr"
)

// Do runs fn at most once per requestID, inside tx. The key row is inserted
// first, so a concurrent duplicate blocks on it until tx ends and then replays
// the stored response; if tx rolls back, the key goes with it and a retry runs
// afresh. An empty requestID just runs fn.
func Do[T proto.Message](ctx context.Context, tx pgx.Tx, requestID, method string, req proto.Message, fn func() (T, error)) (T, error) {
	var zero T
	if requestID == "" {
		return fn()
	}
	hash, err := Hash(req)
	if err != nil {
		return zero, err
	}
	tag, err := tx.Exec(ctx,
		`INSERT INTO idempotency_keys (request_id, method, request_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		requestID, method, hash)
	if err != nil {
		return zero, fmt.Errorf("claim request id: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return replay[T](ctx, tx, requestID, method, hash)
	}
	out, err := fn()
	if err != nil {
		return zero, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(out)
	if err != nil {
		return zero, err
	}
	if _, err := tx.Exec(ctx, `UPDATE idempotency_keys SET response = $2 WHERE request_id = $1`, requestID, b); err != nil {
		return zero, fmt.Errorf("store response: %w", err)
	}
	return out, nil
}

func replay[T proto.Message](ctx context.Context, tx pgx.Tx, requestID, method string, hash []byte) (T, error) {
	var zero T
	var gotMethod string
	var gotHash, resp []byte
	err := tx.QueryRow(ctx, `SELECT method, request_hash, response FROM idempotency_keys WHERE request_id = $1`, requestID).
		Scan(&gotMethod, &gotHash, &resp)
	if err != nil {
		return zero, fmt.Errorf("read request id: %w", err)
	}
	if gotMethod != method || string(gotHash) != string(hash) || resp == nil {
		return zero, apierr.RequestIDReused(requestID)
	}
	out := zero.ProtoReflect().New().Interface().(T)
	if err := proto.Unmarshal(resp, out); err != nil {
		return zero, fmt.Errorf("decode stored response: %w", err)
	}
	return out, nil
}

// Hash fingerprints req without its request_id field, so a retry matches the
// first call exactly and a changed body does not.
func Hash(req proto.Message) ([]byte, error) {
	m := proto.Clone(req)
	if f := m.ProtoReflect().Descriptor().Fields().ByName("request_id"); f != nil {
		m.ProtoReflect().Clear(f)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}
