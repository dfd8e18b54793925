package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/internal/ended"
)

// Options tune the connection pool. The zero value of each field selects the
// default in brackets, which matches the seed's DB_* settings, so that
// `Options{}` is a sensible production pool.
type Options struct {
	// PoolSize is the number of connections the pool is sized for under
	// steady load (DB_POOL_SIZE) [20].
	PoolSize int
	// MaxOverflow is how many connections a burst may open beyond PoolSize
	// (DB_MAX_OVERFLOW) [10]; negative means none. The pool never holds more
	// than PoolSize+MaxOverflow connections.
	MaxOverflow int
	// MinConns is how many connections stay open while idle, so the first
	// requests after a quiet spell do not pay for a handshake [2, at most
	// PoolSize].
	MinConns int
	// PoolTimeout bounds the wait for a free connection (DB_POOL_TIMEOUT)
	// [30s]. It bounds only the wait, not the statement: past it the
	// operation fails with store.ErrUnavailable.
	PoolTimeout time.Duration
	// PoolRecycle is the age after which a connection is closed and
	// replaced (DB_POOL_RECYCLE) [1h], spreading reconnects over a tenth of
	// that so that a pool does not reconnect all at once.
	PoolRecycle time.Duration
	// Echo logs every SQL statement (text, duration, command tag, error; never
	// the arguments, which can hold password hashes) at info level
	// (DB_ECHO). Info, not debug: an operator who turns it on wants to see it.
	Echo bool
	// Logger receives the echo output and migration progress [discarded].
	Logger *slog.Logger
	// Tracer, if set, traces every query as well, e.g. for OpenTelemetry.
	Tracer pgx.QueryTracer
	// Now is the clock used where a method has no time argument (updated_at
	// on Update) [time.Now].
	Now func() time.Time
}

// withDefaults returns o with every zero field replaced by its default.
func (o Options) withDefaults() Options {
	if o.PoolSize <= 0 {
		o.PoolSize = 20
	}
	switch {
	case o.MaxOverflow == 0:
		o.MaxOverflow = 10
	case o.MaxOverflow < 0:
		o.MaxOverflow = 0
	}
	if o.MinConns <= 0 {
		o.MinConns = 2
	}
	o.MinConns = min(o.MinConns, o.PoolSize)
	if o.PoolTimeout <= 0 {
		o.PoolTimeout = 30 * time.Second
	}
	if o.PoolRecycle <= 0 {
		o.PoolRecycle = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// DB is an open PostgreSQL store. It implements store.Store and
// store.Migrator and is safe for concurrent use.
type DB struct {
	pool        *pgxpool.Pool
	sqlDB       *sql.DB // the same pool seen through database/sql, for goose
	log         *slog.Logger
	poolTimeout time.Duration
	now         func() time.Time
	reads       *taskReads // tasks.Get
	details     *taskReads // tasks.GetWithAttempts
	ended       ended.Rows // tasks.GetEnded
}

var (
	_ store.Store    = (*DB)(nil)
	_ store.Migrator = (*DB)(nil)
)

// Open returns a store on the database at url (postgres:// or postgresql://,
// or a key=value DSN). It does not connect before the first use, so a
// database that is down at startup surfaces as store.ErrUnavailable from Ping
// and from each call until it is back; it does not migrate either (see
// MigrateUp).
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn redacts passwords from its parse errors (best effort).
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	cfg.MaxConns = int32(opts.PoolSize + opts.MaxOverflow)
	cfg.MinConns = int32(opts.MinConns)
	cfg.MaxConnLifetime = opts.PoolRecycle
	cfg.MaxConnLifetimeJitter = opts.PoolRecycle / 10

	// Plan every statement at execution, describing it once: the default
	// cached prepared statements kept a generic plan made while a table was
	// small (a hash join over a sequential scan) and made batched UPDATEs
	// ~15 ms each in the pipeline prototype.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe

	var tracers []pgx.QueryTracer
	if opts.Echo {
		tracers = append(tracers, echoTracer{log: opts.Logger})
	}
	if opts.Tracer != nil {
		tracers = append(tracers, opts.Tracer)
	}
	switch len(tracers) {
	case 1:
		cfg.ConnConfig.Tracer = tracers[0]
	case 2:
		cfg.ConnConfig.Tracer = multitracer.New(tracers...)
	}

	// Return timestamps in UTC whatever the session time zone, so that both
	// backends hand back the same time.Time for the same instant.
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{
			Name:  "timestamptz",
			OID:   pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	db := &DB{
		pool:        pool,
		sqlDB:       stdlib.OpenDBFromPool(pool),
		log:         opts.Logger,
		poolTimeout: opts.PoolTimeout,
		now:         opts.Now,
	}
	db.reads = &taskReads{db: db, inFlight: rowReadsInFlight}
	db.details = &taskReads{db: db, withAttempts: true, inFlight: detailReadsInFlight}
	return db, nil
}

// Pool returns the underlying pool for the hot path that the repository
// methods do not cover: group-committed inserts with CopyFrom and batched
// result updates with UPDATE ... FROM unnest(...). Errors from it are not
// translated to store sentinels.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

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

// Ping checks that the server answers; store.ErrUnavailable when it does not.
func (db *DB) Ping(ctx context.Context) error {
	c, err := db.acquire(ctx)
	if err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	defer c.Release()
	if err := c.Ping(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", translate(err))
	}
	return nil
}

// Backend returns "postgres".
func (db *DB) Backend() string { return "postgres" }

// Close closes every connection. Calls in flight finish first.
func (db *DB) Close() error {
	err := db.sqlDB.Close()
	db.pool.Close()
	return err
}

// Advisories returns what the server's settings mean for YMERA and its
// operators should change, one sentence each; none when all is well. It
// reads the settings only. Today there is one: autovacuum off, under which
// every finished task leaves a dead row version in tasks that nothing
// reclaims, so the table and its indexes grow without end.
func (db *DB) Advisories(ctx context.Context) ([]string, error) {
	var autovacuum string
	if err := db.queryRow(ctx, `SELECT current_setting('autovacuum')`).Scan(&autovacuum); err != nil {
		return nil, fmt.Errorf("store: read settings: %w", translate(err))
	}
	var out []string
	if autovacuum != "on" {
		out = append(out, "PostgreSQL autovacuum is off: every finished task leaves a dead row version in tasks, "+
			"which only a VACUUM reclaims; turn autovacuum on or run VACUUM tasks regularly")
	}
	return out, nil
}
