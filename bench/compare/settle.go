package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// settler brings the PostgreSQL server both sides share to the same state
// before each run. Every task either side completes leaves a dead row
// version (an insert, then an update), and every run writes a WAL's worth
// of pages. Without a vacuum the next run, of either side, meets tables and
// indexes full of dead rows, which a server with autovacuum off (as the
// one this was measured on) never clears; without a checkpoint one falls
// wherever the WAL fills up, and the full-page writes after it land in
// whichever run comes next. Both sides fell 17-30 % from the first round
// to the later ones that way (docs/performance.md, step 19).
//
// The zero settler does nothing. A failure (a role that may not CHECKPOINT,
// say) is reported once and the runs go on without that step.
type settler struct {
	server    string
	databases []string
	warned    bool
}

func (s *settler) settle(ctx context.Context) {
	if s.server == "" {
		return
	}
	for _, db := range s.databases {
		s.exec(ctx, db, "VACUUM")
	}
	s.exec(ctx, s.server, "CHECKPOINT")
}

func (s *settler) exec(ctx context.Context, dsn, stmt string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		_, err = conn.Exec(ctx, stmt)
		conn.Close(context.Background())
	}
	if err != nil && !s.warned {
		s.warned = true
		fmt.Fprintf(os.Stderr, "compare: %s before a run failed (runs go on without it): %v\n", stmt, err)
	}
}
