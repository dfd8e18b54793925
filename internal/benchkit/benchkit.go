// Package benchkit holds what the benchmark commands (bench/compare,
// bench/abtest) share: bringing the PostgreSQL server to the same state
// before each run, the median they report, and running their children so
// that an interrupt leaves nothing behind.
package benchkit

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Settler brings the PostgreSQL server the runs share to the same state
// before each of them. Every task a run completes leaves a dead row
// version (an insert, then an update), and every run writes a WAL's worth
// of pages. Without a vacuum the next run meets tables and indexes full
// of dead rows, which a server with autovacuum off (as the one this was
// measured on) never clears; without a checkpoint one falls wherever the
// WAL fills up, and the full-page writes after it land in whichever run
// comes next. Runs fell 17-30 % from the first round to the later ones
// that way (docs/performance.md, step 19).
//
// A Settler without a Server does nothing. A failure (a role that may not
// CHECKPOINT, say) is reported once on stderr, and the runs go on without
// that step.
type Settler struct {
	Server    string   // a connection string to the server, for the CHECKPOINT
	Databases []string // connection strings of the databases to VACUUM first
	Name      string   // the command, naming the report of a failure
	warned    bool
}

// Settle vacuums the databases, then checkpoints the server.
func (s *Settler) Settle(ctx context.Context) {
	if s.Server == "" {
		return
	}
	for _, db := range s.Databases {
		s.exec(ctx, db, "VACUUM")
	}
	s.exec(ctx, s.Server, "CHECKPOINT")
}

func (s *Settler) exec(ctx context.Context, dsn, stmt string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		_, err = conn.Exec(ctx, stmt)
		_ = conn.Close(context.Background())
	}
	if err != nil && !s.warned {
		s.warned = true
		fmt.Fprintf(os.Stderr, "%s: %s before a run failed (runs go on without it): %v\n", s.Name, stmt, err)
	}
}

// Median is the median of v, leaving v as it was; 0 for none.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ServerVersion is the version of the PostgreSQL server at dsn (its
// server_version, such as "15.20 (Debian 15.20-0+deb12u1)"), printed
// beside the figures taken on it; "" when it cannot be read.
func ServerVersion(ctx context.Context, dsn string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return ""
	}
	defer conn.Close(context.Background())
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return ""
	}
	return v
}
