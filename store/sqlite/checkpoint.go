package sqlite

import (
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A WAL checkpoint copies committed pages from the write-ahead log into the
// database file and syncs both. By default SQLite runs one inside the
// commit that takes the log past 1,000 pages, so one commit in a few
// hundred also waited for two fsyncs: 10-15 ms on this project's test
// machine, which was the p99 of one task at a time (docs/performance.md,
// step 12). The write connection therefore leaves checkpoints to a
// connection and a goroutine of their own (checkpointer), which runs a
// PASSIVE checkpoint every checkpointEvery: it copies as much of the log
// as the readers allow, and neither waits for the writer or readers nor
// makes them wait.
// The writer checkpoints itself only past checkpointBackstop pages, should
// the checkpointer fall that far behind. Durability is unchanged: a commit
// is in the log, synced as synchronous=NORMAL says, before and after.
//
// The log starts over only at a moment when it is all copied and no reader
// still reads from it. Under a sustained load of reads and writes that
// moment can take long to come, and the log file then grows to about the
// backstop (32 MiB) before the writer's own checkpoints bring it back;
// the file keeps that size, as SQLite's log does. With the default 1,000
// pages, the writer ran those checkpoints from 4 MiB on.
const (
	checkpointEvery    = 250 * time.Millisecond
	checkpointBackstop = 8192 // pages of the log; 32 MiB at SQLite's 4 KiB pages
)

// checkpointer runs PASSIVE checkpoints on its own connection until stop.
type checkpointer struct {
	conn     *sql.DB
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	// backfilled is how many frames of the log the last checkpoint found
	// copied into the database file (tests); failing says it failed, so
	// that a failure is logged once, not at every tick.
	backfilled atomic.Int64
	failing    bool
}

// openCheckpointer opens the checkpointer's connection to path.
func openCheckpointer(path, busy string) (*checkpointer, error) {
	conn, err := sql.Open("sqlite", dsn(path, url.Values{"_pragma": {"busy_timeout(" + busy + ")"}}))
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxLifetime(0)
	conn.SetConnMaxIdleTime(0)
	return &checkpointer{conn: conn, stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// run checkpoints every checkpointEvery until close; db logs failures.
func (c *checkpointer) run(db *DB) {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		n, err := c.checkpoint()
		switch {
		case err != nil && !c.failing:
			db.log.Warn("sqlite: background checkpoint failed; the writer checkpoints past the backstop",
				"error", err, "backstop_pages", checkpointBackstop)
		case err == nil && c.failing:
			db.log.Info("sqlite: background checkpoints work again")
		}
		c.failing = err != nil
		c.backfilled.Store(n)
	}
}

// checkpoint runs one PASSIVE checkpoint and returns how many frames of
// the log are now copied into the database file.
func (c *checkpointer) checkpoint() (int64, error) {
	var busy, log, backfilled int64
	if err := c.conn.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &backfilled); err != nil {
		return 0, fmt.Errorf("store: checkpoint: %w", translate(err))
	}
	return max(backfilled, 0), nil // -1 when the file is not in WAL mode
}

// close stops run and closes the connection; it may be called again.
func (c *checkpointer) close() error {
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
	return c.conn.Close()
}

// walAutocheckpoint is the writer's pragma that makes it checkpoint only
// past the backstop.
var walAutocheckpoint = "wal_autocheckpoint(" + strconv.Itoa(checkpointBackstop) + ")"
