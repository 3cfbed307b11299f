// Package sqlstate names the PostgreSQL error codes (SQLSTATE) Guildhall
// acts on, spelled as PostgreSQL's "Appendix A. PostgreSQL Error Codes"
// names them, and reads them from errors, so no other package compares
// five-character literals.
package sqlstate

import (
	"errors"
	"slices"

	"github.com/jackc/pgx/v5/pgconn"
)

// The codes, by class.
const (
	ReadOnlySQLTransaction = "25006" // class 25, invalid transaction state
	NumericValueOutOfRange = "22003" // class 22, data exception
	RestrictViolation      = "23001" // class 23, integrity constraint violation
	ForeignKeyViolation    = "23503"
	UniqueViolation        = "23505"
	CheckViolation         = "23514"
	InvalidCatalogName     = "3D000" // class 3D: the database does not exist
	SerializationFailure   = "40001" // class 40, transaction rollback
	DeadlockDetected       = "40P01"
	UndefinedTable         = "42P01" // class 42, syntax error or access rule violation
	DuplicateDatabase      = "42P04"
	LockNotAvailable       = "55P03" // class 55, object not in prerequisite state
	QueryCanceled          = "57014" // class 57, operator intervention
	AdminShutdown          = "57P01"
	CrashShutdown          = "57P02"
	CannotConnectNow       = "57P03"
)

// The classes, the codes' first two characters.
const (
	ClassConnectionException   = "08"
	ClassInsufficientResources = "53"
	ClassSystemError           = "58"
)

// InClass reports whether err is a PostgreSQL error of one of classes.
func InClass(err error, classes ...string) bool {
	pg := Of(err)
	return pg != nil && len(pg.Code) == 5 && slices.Contains(classes, pg.Code[:2])
}

// Of returns err's PostgreSQL error, or nil when err is not one.
func Of(err error) *pgconn.PgError {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg
	}
	return nil
}

// Is reports whether err is a PostgreSQL error with one of codes.
func Is(err error, codes ...string) bool {
	pg := Of(err)
	return pg != nil && slices.Contains(codes, pg.Code)
}
