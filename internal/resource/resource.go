// Package resource holds the AIP standard-method mechanics every service
// shares: resource names, etags, and the transactional create and update
// cycles. Services supply only their own reads and writes.
package resource

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/fieldmask"
	"github.com/guildhall/guildhall/internal/idempotency"
	"github.com/guildhall/guildhall/internal/sqlstate"
)

// Name joins a collection and an id: Name("people", "jcrisp") is "people/jcrisp".
func Name(collection, id string) string { return collection + "/" + id }

// ID returns the id in name, which the proto rules have already checked has
// the form collection/id.
func ID(collection, name string) string { return strings.TrimPrefix(name, collection+"/") }

// SplitChild returns the ids in a nested name,
// `{parents}/{parent}/{children}/{child}`, or "", "" for any other shape.
func SplitChild(name string) (parent, child string) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 {
		return "", ""
	}
	return parts[1], parts[3]
}

// Etag renders a row version as an etag.
func Etag(version int64) string { return strconv.FormatInt(version, 10) }

// Versioned is a resource with an etag.
type Versioned interface {
	proto.Message
	GetName() string
	GetEtag() string
}

// CheckEtag fails with ABORTED when the caller sent an etag that is not the
// current one. An empty etag means the caller does not care.
func CheckEtag(current Versioned, sent string) error {
	if sent != "" && sent != current.GetEtag() {
		return apierr.EtagMismatch(current.GetName())
	}
	return nil
}

// InTx runs fn in a transaction, at most once per requestID (see package
// idempotency): a retry of the same request gets the first response back.
func InTx[T proto.Message](ctx context.Context, pool *pgxpool.Pool, requestID, method string, req proto.Message, fn func(pgx.Tx) (T, error)) (T, error) {
	var out T
	err := database.InTx(ctx, pool, func(tx pgx.Tx) error {
		var err error
		out, err = idempotency.Do(ctx, tx, requestID, method, req, func() (T, error) { return fn(tx) })
		return err
	})
	return out, err
}

// Create is InTx for a create: a unique violation from insert means the
// name is taken.
func Create[T proto.Message](ctx context.Context, pool *pgxpool.Pool, name, requestID, method string, req proto.Message, insert func(pgx.Tx) (T, error)) (T, error) {
	out, err := InTx(ctx, pool, requestID, method, req, insert)
	if IsUniqueViolation(err) || errors.Is(err, pgx.ErrNoRows) {
		return out, apierr.AlreadyExists(name)
	}
	return out, err
}

// Update is the AIP-134 cycle in one transaction: lock and load the current
// resource, check the etag, apply the mask, validate, save.
func Update[T Versioned](ctx context.Context, pool *pgxpool.Pool, patch T, mask *fieldmaskpb.FieldMask, updatable []string,
	load func(pgx.Tx) (T, error), validate func(T) error, save func(pgx.Tx, T) (T, error),
) (T, error) {
	var out T
	err := database.InTx(ctx, pool, func(tx pgx.Tx) error {
		cur, err := load(tx)
		if errors.Is(err, pgx.ErrNoRows) {
			return apierr.NotFound(patch.GetName())
		}
		if err != nil {
			return err
		}
		if err := CheckEtag(cur, patch.GetEtag()); err != nil {
			return err
		}
		if !slices.Contains(updatable, "state") && fieldmask.Asks(cur, patch, mask, "state") {
			return StateOutputOnly(patch)
		}
		if _, err := fieldmask.Apply(cur, patch, mask, updatable); err != nil {
			return err
		}
		if err := validate(cur); err != nil {
			return err
		}
		out, err = save(tx, cur)
		return err
	})
	return out, err
}

// StateOutputOnly is the refusal of an update that asks to change a
// resource's state: state is output only on update (AIP-216) and moves only
// through the resource's own methods, which record who moved it and when.
// The violation names the request field, e.g. `item.state`.
func StateOutputOnly(m proto.Message) error {
	return apierr.InvalidField(snake(string(m.ProtoReflect().Descriptor().Name()))+".state",
		"state is output only on update (AIP-216): it changes only through the resource's own methods "+
			"(a status update for an item, :transition for others), which record who changed it and when")
}

// snake turns a message name (TeamMember) into its request field (team_member).
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Delete locks and loads the resource, checks the etag, and removes it.
func Delete[T Versioned](ctx context.Context, pool *pgxpool.Pool, name, etag string, load func(pgx.Tx) (T, error), remove func(pgx.Tx) error) error {
	return database.InTx(ctx, pool, func(tx pgx.Tx) error {
		cur, err := load(tx)
		if errors.Is(err, pgx.ErrNoRows) {
			return apierr.NotFound(name)
		}
		if err != nil {
			return err
		}
		if err := CheckEtag(cur, etag); err != nil {
			return err
		}
		return remove(tx)
	})
}

// NotFoundIfNoRows turns pgx.ErrNoRows into NOT_FOUND for name.
func NotFoundIfNoRows(err error, name string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return apierr.NotFound(name)
	}
	return err
}

// IsUniqueViolation reports a PostgreSQL unique_violation.
func IsUniqueViolation(err error) bool {
	return sqlstate.Is(err, sqlstate.UniqueViolation)
}

// Required reports the named fields whose values are empty, as BadRequest
// violations under prefix (e.g. "person").
func Required(prefix string, fields map[string]bool) error {
	var v []apierr.FieldViolation
	for _, f := range slices.Sorted(maps.Keys(fields)) {
		if !fields[f] {
			v = append(v, apierr.FieldViolation{Field: prefix + "." + f, Description: "value is required"})
		}
	}
	if len(v) > 0 {
		return apierr.Invalid(v...)
	}
	return nil
}

// NewID returns a server-assigned id: a UUIDv7, which sorts by creation time,
// so keyset pagination by id lists oldest (or newest) first for free.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// IsForeignKeyViolation reports a PostgreSQL foreign_key_violation: a
// reference to a row that does not exist.
func IsForeignKeyViolation(err error) bool {
	return sqlstate.Is(err, sqlstate.ForeignKeyViolation)
}
