package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/internal/ended"
)

// Options tune the database. The zero value of each field selects the
// default in brackets.
type Options struct {
	// BusyTimeout is how long a statement waits for a lock held by another
	// process (a backup, the sqlite3 shell) before failing with
	// store.ErrUnavailable [5s]. Writers of this process never wait on each
	// other here: they queue for the single write connection.
	BusyTimeout time.Duration
	// ReadConns is the size of the read pool [max(4, GOMAXPROCS)]. In WAL
	// mode readers do not block the writer or each other.
	ReadConns int
	// Logger receives migration progress [discarded].
	Logger *slog.Logger
	// Now is the clock used where a method has no time argument (updated_at
	// on Update) [time.Now].
	Now func() time.Time
}

// withDefaults returns o with every zero field replaced by its default.
func (o Options) withDefaults() Options {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.ReadConns <= 0 {
		o.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// DB is an open SQLite store. It implements store.Store and store.Migrator
// and is safe for concurrent use.
//
// SQLite allows one writer at a time. Rather than let concurrent writers
// collide and fail with SQLITE_BUSY, every write goes through write, a pool
// of exactly one connection, so writers queue in Go; reads go through read,
// a pool of query-only connections that WAL lets run beside the writer.
type DB struct {
	write  *sql.DB
	read   *sql.DB
	stmts  stmtCache // prepared reads (stmt.go)
	wstmts stmtCache // prepared writes of the group-commit writers (stmt.go)
	ckpt   *checkpointer
	ended  ended.Rows // tasks.GetEnded
	log    *slog.Logger
	now    func() time.Time
}

var (
	_ store.Store    = (*DB)(nil)
	_ store.Migrator = (*DB)(nil)
)

// Open opens (creating it and its directory if needed) the database file at
// path. It does not migrate (see MigrateUp). The file is put in WAL mode with
// synchronous=NORMAL: a crash of the process loses nothing, a power loss can
// lose the last transactions but never corrupts the file.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsAny(path, "?#") {
		// A memory database would be a different database on each of the
		// two pools; URI options are ours to set.
		return nil, fmt.Errorf("store: open sqlite %q: need a plain file path", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}

	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	write, err := sql.Open("sqlite", dsn(path, url.Values{
		// temp_store(MEMORY) keeps each statement's undo journal in memory.
		// By default SQLite moves one past 64 KiB to a temporary file, which
		// the group-commit writers' statements of many rows (chunks.go) pass:
		// a file created, written and dropped per statement, 10-30 % of
		// their CPU at the few dozen rows a batch has under load. The price:
		// a temporary B-tree too (a sort, or an index a migration builds) is
		// held in memory rather than spilled to disk.
		// wal_autocheckpoint: checkpoints are the checkpointer's
		// (checkpoint.go), the writer's only past its backstop.
		"_pragma": {"busy_timeout(" + busy + ")", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)",
			"temp_store(MEMORY)", walAutocheckpoint},
		// Take the write lock at BEGIN, so a transaction never has to upgrade
		// a read lock (which can fail with SQLITE_BUSY regardless of the timeout).
		"_txlock": {"immediate"},
	}))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Connect now: it creates the file and switches it to WAL before any
	// reader opens it, and a bad path fails here rather than at first use.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, translate(err))
	}

	read, err := sql.Open("sqlite", dsn(path, url.Values{
		"_pragma": {"busy_timeout(" + busy + ")", "foreign_keys(1)", "query_only(1)"},
	}))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	read.SetMaxOpenConns(opts.ReadConns)
	read.SetMaxIdleConns(opts.ReadConns)

	ckpt, err := openCheckpointer(path, busy)
	if err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	db := &DB{write: write, read: read, ckpt: ckpt, log: opts.Logger, now: opts.Now}
	go ckpt.run(db)
	return db, nil
}

// dsn is the driver's name for path with query parameters. Without a
// "file:" prefix the driver strips the parameters and opens path as is.
func dsn(path string, q url.Values) string {
	return path + "?" + q.Encode()
}

// Users returns the user repository.
func (db *DB) Users() store.Users { return users{db} }

// Agents returns the agent repository.
func (db *DB) Agents() store.Agents { return agents{db} }

// Tasks returns the task repository.
func (db *DB) Tasks() store.Tasks { return tasks{db} }

// Projects returns the project repository.
func (db *DB) Projects() store.Projects { return projects{db} }

// Submissions returns the submission repository.
func (db *DB) Submissions() store.Submissions { return submissions{db} }

// Files returns the file repository.
func (db *DB) Files() store.Files { return files{db} }

// ServiceKeys reaches service keys.
func (db *DB) ServiceKeys() store.ServiceKeys { return serviceKeys{db} }

// Ping checks that both pools can reach the file.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", translate(err))
	}
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", translate(err))
	}
	return nil
}

// Backend returns "sqlite".
func (db *DB) Backend() string { return "sqlite" }

// Close stops the checkpointer and closes both pools; the last connection
// to close checkpoints the rest of the log. It first lets SQLite refresh
// the planner's statistics where they have drifted, as SQLite recommends
// doing before a long-lived connection closes; that is bounded and usually
// a no-op.
func (db *DB) Close() error {
	ckptErr := db.ckpt.close()
	_, _ = db.write.Exec("PRAGMA analysis_limit = 400; PRAGMA optimize")
	return errors.Join(ckptErr, db.stmts.close(), db.wstmts.close(), db.read.Close(), db.write.Close())
}

// inTx runs f in a transaction on the write connection, committing when f
// returns nil and rolling back otherwise. f must use tx alone: any other
// write would wait for the connection f holds.
func (db *DB) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		return errors.Join(err, rollback(tx))
	}
	return tx.Commit()
}

// rollback rolls tx back; a transaction already ended is not an error.
func rollback(tx *sql.Tx) error {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	return nil
}
