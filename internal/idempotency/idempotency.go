// Package idempotency makes creates and other money-moving calls safe to
// retry (AIP-155): the first call with a request_id runs, and every later call
// with the same id gets the first response back, or ABORTED if its request
// differs.
//
// Request ids are scoped per caller, as Stripe scopes idempotency keys per
// account: a key is (caller, request_id), so another caller sending the same
// id runs its own request and never receives the first caller's reply. The
// caller is the authenticated person or service; anonymous callers cannot be
// told apart, so their scope is the request itself (see Scope).
//
// Each service keeps its keys in an idempotency_keys table of its own schema
// (caller, request_id, method, request_hash, response, create_time; primary
// key (caller, request_id)), made by this package's migration line (Line).
// Its rows are made by NewKey alone, whether Do writes them or a batched
// statement does.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
)

// Scope is the caller part of a key: `people/{person}`,
// `services/{service}` or `guests/{hash of issuer and subject}` for an
// authenticated caller. An anonymous caller's
// scope is the fingerprint of its request, so an anonymous retry of the same
// request replays (the replayer sent every field already), while the same id
// with another body is a new request rather than someone else's reply.
func Scope(p *auth.Principal, hash []byte) string {
	switch {
	case p.GetPerson() != "":
		return p.GetPerson()
	case p.GetService() != "":
		return "services/" + strings.TrimPrefix(p.GetService(), "services/")
	case p.GetSubject() != "":
		// A guest: their OpenID Connect identity, hashed to a fixed length.
		sum := sha256.Sum256([]byte(p.GetIssuer() + "\x00" + p.GetSubject()))
		return "guests/" + hex.EncodeToString(sum[:])
	}
	return "anonymous/" + hex.EncodeToString(hash)
}

// Key is one row of idempotency_keys: the caller's scope (Scope), a request
// id (a UUID), the method it was first used with, the fingerprint of that
// request (Hash) and the encoded response (nil while the first call runs).
type Key struct {
	Caller      string
	RequestID   string
	Method      string
	RequestHash []byte
	Response    []byte
}

// NewKey returns the row for req, sent by the caller of ctx to method with
// requestID, answered by resp (nil: not answered yet).
func NewKey(ctx context.Context, requestID, method string, req, resp proto.Message) (Key, error) {
	k := Key{RequestID: requestID, Method: method}
	var err error
	if k.RequestHash, err = Hash(req); err != nil {
		return Key{}, err
	}
	k.Caller = Scope(auth.From(ctx), k.RequestHash)
	if resp != nil {
		if k.Response, err = encodeResponse(resp); err != nil {
			return Key{}, err
		}
	}
	return k, nil
}

// encodeResponse is how a stored response is encoded; replay decodes it.
func encodeResponse(resp proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(resp)
}

// Do runs fn at most once per caller (from ctx) and requestID, inside tx. The key row is inserted
// first, so a concurrent duplicate blocks on it until tx ends and then replays
// the stored response; if tx rolls back, the key goes with it and a retry runs
// afresh. An empty requestID just runs fn.
func Do[T proto.Message](ctx context.Context, tx pgx.Tx, requestID, method string, req proto.Message, fn func() (T, error)) (T, error) {
	var zero T
	if requestID == "" {
		return fn()
	}
	key, err := NewKey(ctx, requestID, method, req, nil)
	if err != nil {
		return zero, err
	}
	tag, err := tx.Exec(ctx,
		`INSERT INTO idempotency_keys (caller, request_id, method, request_hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		key.Caller, key.RequestID, key.Method, key.RequestHash)
	if err != nil {
		return zero, fmt.Errorf("claim request id: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return replay[T](ctx, tx, key)
	}
	out, err := fn()
	if err != nil {
		return zero, err
	}
	b, err := encodeResponse(out)
	if err != nil {
		return zero, err
	}
	if _, err := tx.Exec(ctx, `UPDATE idempotency_keys SET response = $3 WHERE caller = $1 AND request_id = $2`, key.Caller, key.RequestID, b); err != nil {
		return zero, fmt.Errorf("store response: %w", err)
	}
	return out, nil
}

func replay[T proto.Message](ctx context.Context, tx pgx.Tx, key Key) (T, error) {
	var zero T
	var gotMethod string
	var gotHash, resp []byte
	err := tx.QueryRow(ctx, `SELECT method, request_hash, response FROM idempotency_keys WHERE caller = $1 AND request_id = $2`, key.Caller, key.RequestID).
		Scan(&gotMethod, &gotHash, &resp)
	if err != nil {
		return zero, fmt.Errorf("read request id: %w", err)
	}
	if gotMethod != key.Method || string(gotHash) != string(key.RequestHash) || resp == nil {
		return zero, apierr.RequestIDReused(key.RequestID)
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
