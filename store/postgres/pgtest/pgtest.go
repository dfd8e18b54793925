// Package pgtest gives tests a PostgreSQL database of their own.
//
// NewDatabase creates a fresh, empty database on the server named by
// TEST_DATABASE_URL and drops it when the test ends, so tests never see each
// other's rows and leave nothing behind. Without a server the test is skipped
// with a loud message, except under CI=true, where a missing server is a
// failure: CI must not go green by testing nothing.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server tests use when TEST_DATABASE_URL is unset: the
// local development PostgreSQL with trust authentication.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// ServerURL returns TEST_DATABASE_URL, or DefaultURL when it is unset.
func ServerURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// NewDatabase creates an empty database named ymera_test_<random> and returns
// its URL. The database is dropped, its connections terminated, when t and
// its subtests finish; close pools opened on it in an earlier-registered
// cleanup or before, or let the drop cut them off. Migrating is the
// caller's job (postgres.DB.MigrateUp).
func NewDatabase(t testing.TB) string {
	t.Helper()
	server := ServerURL()
	base, err := url.Parse(server)
	if err != nil || (base.Scheme != "postgres" && base.Scheme != "postgresql") {
		t.Fatalf("pgtest: TEST_DATABASE_URL must be a postgres:// URL, got %q", server)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		noServer(t, base, err)
	}
	defer admin.Close(context.Background())

	name := "ymera_test_" + randomSuffix(t)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(t, server, name) })

	u := *base
	u.Path = "/" + name
	return u.String()
}

// dropDatabase drops name, cutting off whatever is still connected to it.
func dropDatabase(t testing.TB, server, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
		return
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// noServer skips the test, or fails it under CI=true.
func noServer(t testing.TB, server *url.URL, err error) {
	t.Helper()
	msg := fmt.Sprintf("SKIPPING PostgreSQL tests: no server at %s: %v (set TEST_DATABASE_URL)", server.Redacted(), err)
	if os.Getenv("CI") == "true" {
		t.Fatal(strings.Replace(msg, "SKIPPING", "FAILING (CI=true)", 1))
	}
	t.Skip(msg)
}

func randomSuffix(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("pgtest: random name: %v", err)
	}
	return hex.EncodeToString(b)
}
