// Package database opens a service's PostgreSQL pool and applies its embedded
// goose migrations. Each service lives in its own schema, named after the
// service, so the same code works whether the services share one database (dev,
// tests) or each has its own (compose).
package database

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/guildhall/guildhall/internal/sqlstate"
)

// DefaultMaxConns is a pool's size unless the URL or MaxConns says otherwise.
const DefaultMaxConns = 16

// DefaultConnectTimeout bounds one connection attempt unless the URL sets
// connect_timeout.
const DefaultConnectTimeout = 5 * time.Second

// Option adjusts a pool.
type Option func(*pgxpool.Config)

// MaxConns sizes the pool; 0 keeps the default.
func MaxConns(n int32) Option {
	return func(c *pgxpool.Config) {
		if n > 0 {
			c.MaxConns = n
		}
	}
}

// Open connects to url with the schema as search_path and checks the
// connection. The pool is the caller's to Close.
func Open(ctx context.Context, url, schema string, opts ...Option) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = "guildhall-" + schema
	cfg.MaxConns = DefaultMaxConns
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// Without a bound, a request waits as long as the kernel keeps
		// trying to reach a server that went away; then it is UNAVAILABLE.
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	for _, o := range opts {
		o(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database %s: %w", redact(url), err)
	}
	return pool, nil
}

// EnsureDatabase creates the database named in url if it does not exist, by
// way of the server's maintenance database. Safe to call again.
func EnsureDatabase(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	name := cfg.Database
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	if !sqlstate.Is(err, sqlstate.InvalidCatalogName) {
		return fmt.Errorf("connect to database %s: %w", redact(url), err)
	}
	cfg.Database = "postgres"
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to maintenance database: %w", err)
	}
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if sqlstate.Is(err, sqlstate.DuplicateDatabase, sqlstate.UniqueViolation) { // created meanwhile
		return nil
	}
	return err
}

// Line is a migration line owned by a platform package (the tables it keeps
// in every service's schema, such as idempotency_keys), versioned apart from
// the service's own migrations in a table of its own, goose_<name>_version.
type Line struct {
	Name       string
	Migrations fs.FS
}

// VersionTable is the goose version table of the line.
func (l Line) VersionTable() string { return "goose_" + l.Name + "_version" }

// Migrate brings schema in the database at url up to date: first each
// platform line, then the service's own goose migrations in fsys (if not
// nil; their version table is goose's default, goose_db_version).
// Concurrent callers wait on an advisory lock, so every replica may call it
// on start.
func Migrate(ctx context.Context, url, schema string, fsys fs.FS, lines ...Line) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if err := createSchema(ctx, db, schema); err != nil {
		return err
	}
	for _, l := range lines {
		if err := up(ctx, db, l.Migrations, schema+" "+l.Name, goose.WithTableName(l.VersionTable())); err != nil {
			return err
		}
	}
	if fsys == nil {
		return nil
	}
	return up(ctx, db, fsys, schema)
}

func up(ctx context.Context, db *sql.DB, fsys fs.FS, what string, opts ...goose.ProviderOption) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	opts = append([]goose.ProviderOption{goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true)}, opts...)
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("load %s migrations: %w", what, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", what, err)
	}
	return nil
}

func createSchema(ctx context.Context, db *sql.DB, schema string) error {
	_, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
	if sqlstate.Is(err, sqlstate.UniqueViolation) { // another replica won the race
		return nil
	}
	if err != nil {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	return nil
}

// Redact hides the password of a database URL for logs.
func Redact(url string) string { return redact(url) }

func redact(url string) string {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return "(unparseable url)"
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}
