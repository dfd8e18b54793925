package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// defaultBenchPostgres is the server `ymera bench --store postgres` uses when
// neither DATABASE_URL nor TEST_DATABASE_URL names one: the local
// development PostgreSQL, as the tests use.
const defaultBenchPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// benchPostgresServer picks the server for a PostgreSQL bench run: the one in
// DATABASE_URL, else TEST_DATABASE_URL, else the local default. Only the
// server is taken from it; the bench never touches the database it names.
func benchPostgresServer(cfg Config, getenv func(string) (string, bool)) string {
	if cfg.DB.Driver == "postgres" && cfg.DB.DSN != "" {
		return cfg.DB.DSN
	}
	if u, _ := getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return defaultBenchPostgres
}

// createBenchDatabase creates an empty database ymera_bench_<random> on the
// server of serverURL and returns its URL, the server's version (for the
// report; "" if it cannot be read) and a function that drops the database
// (cutting off whatever is still connected). A throwaway database keeps
// bench rows out of real data and makes every run start from empty tables.
func createBenchDatabase(ctx context.Context, serverURL string) (dsn, version string, drop func(context.Context) error, err error) {
	base, err := url.Parse(serverURL)
	if err != nil || (base.Scheme != "postgres" && base.Scheme != "postgresql") {
		return "", "", nil, fmt.Errorf("bench: PostgreSQL server %q: expected a postgres:// URL", redactURL(serverURL))
	}
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		return "", "", nil, fmt.Errorf("bench: database name: %w", err)
	}
	name := "ymera_bench_" + hex.EncodeToString(suffix)

	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(cctx, serverURL)
	if err != nil {
		return "", "", nil, fmt.Errorf("bench: connect to %s: %w", base.Redacted(), err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", "", nil, fmt.Errorf("bench: create database %s: %w", name, err)
	}
	if err := admin.QueryRow(cctx, "SHOW server_version").Scan(&version); err != nil {
		version = "" // only the report misses it
	}
	u := *base
	u.Path = "/" + name
	drop = func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			return fmt.Errorf("bench: drop database %s: %w", name, err)
		}
		defer admin.Close(context.WithoutCancel(ctx))
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("bench: drop database %s: %w", name, err)
		}
		return nil
	}
	return u.String(), version, drop, nil
}

// redactURL hides a password in a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
