// Command pipefloor is the task pipeline of DESIGN.md "Speed", bare: the
// shape YMERA is built on, with none of the product around it. It answers
// the requests of `ymera bench --url` the way YMERA does:
//
//   - POST /tasks reads the task's JSON and hands it to one insert writer,
//     which gathers tasks for up to -linger or -batch rows, inserts them in
//     one COPY into YMERA's own tasks table (migrated with YMERA's
//     migrations, so with every index the product has), then publishes
//     each to a JetStream work queue (file store) back to back; the POST
//     answers 201 once its row is committed and its message stored, and
//     with ?wait= once its task has also ended.
//   - One pull consumer hands each message to a no-op agent, whose result
//     goes to one result writer: one UPDATE ... FROM unnest(...) per batch,
//     and each message acknowledged after that commit.
//
// What it leaves out is what YMERA adds to that shape: authentication,
// request validation and problem details, rate limits, metrics other than
// the process's CPU, logs, traces, live events, the outbox that survives a
// crash between commit and publish, actors and their supervision, retries,
// dead letters, and a task's history. Driven by the same client as YMERA,
// River and bench/httpfloor, it measures what the pipeline itself costs on
// this machine today: the ceiling the product's overhead is read against
// (docs/performance.md, "The pipeline floor"). With -schema bare it
// writes a tasks table stripped to its primary key, which prices the
// product's schema in PostgreSQL's CPU. It is a tool, not the
// product, and it keeps none of the product's guarantees beyond the commit
// before the 201 and the commit before the acknowledgement.
//
// With -store sqlite the tasks table is a SQLite file, written through
// YMERA's own store (its batch statements, one writer connection, its
// checkpointer), the way the product writes its embedded default
// (tables.go): the reference of the SQLite row.
//
// With -via nats it is the pipeline of the "via NATS" row instead: tasks
// published straight to JetStream from this process, each one's row made
// finished by the result writer (nats.go); it then prints one report and
// exits.
//
//	bin/pipefloor -addr 127.0.0.1:18300 -database postgres://postgres@127.0.0.1:5432/pipefloor &
//	bin/ymera bench --url http://127.0.0.1:18300 --concurrency 256 --duration 10s --json
//	bin/pipefloor -via nats -tasks 50000 -database postgres://postgres@127.0.0.1:5432/pipefloor2
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/ymera/ymera/store/postgres"
)

const (
	streamName = "FLOOR_TASKS"
	subject    = "floor.tasks"
	// maxWait bounds ?wait=, as YMERA's gateway does.
	maxWait = time.Minute
)

type options struct {
	addr string
	// store: postgres, or sqlite (database is then a file's path; see
	// tables.go).
	store    string
	database string
	linger   time.Duration
	batch    int
	conns    int
	// resultWriters: result writers, each committing its batches one at a
	// time; the design has one.
	resultWriters int
	// bare: strip the tasks table to its primary key after migrating
	// (stripTasks).
	bare bool
	// cpuprofile: write a CPU profile of the whole life of the process.
	cpuprofile string
	// listening, when set, hears the address once the server listens.
	listening func(addr string)

	// via: http, the bench's requests (above), or nats: tasks published
	// straight to JetStream by publishers in this process (nats.go).
	via string
	// -via nats: tasks to publish, by publishers goroutines, pubBatch a
	// batch; the report goes to out.
	tasks, publishers, pubBatch int
	out                         io.Writer
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:18300", "address to listen on")
	flag.StringVar(&o.database, "database", "", "URL of an existing PostgreSQL database, or with -store sqlite the path of a SQLite file "+
		"(made if missing); it is migrated with YMERA's migrations (required)")
	flag.StringVar(&o.store, "store", "postgres", "postgres, or sqlite: the tasks table in a SQLite file, written through YMERA's own store")
	flag.DurationVar(&o.linger, "linger", 500*time.Microsecond, "how long each writer gathers a batch after its first item")
	flag.IntVar(&o.batch, "batch", 256, "most items in one batch of each writer")
	flag.IntVar(&o.conns, "conns", 8, "PostgreSQL connections")
	flag.IntVar(&o.resultWriters, "result-writers", 1, "result writers, each committing its batches one at a time (the design has one)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the process's life to this file")
	schema := flag.String("schema", "product", "the tasks table: product (as YMERA's migrations leave it) or bare (its primary key alone: "+
		"secondary indexes, foreign keys, checks and triggers dropped, for good, so give it a database of its own)")
	flag.StringVar(&o.via, "via", "http", "where tasks come from: http (the bench's requests at -addr) or nats (published straight to JetStream "+
		"by -publishers in this process; it prints one JSON report and exits)")
	flag.IntVar(&o.tasks, "tasks", 50000, "-via nats: tasks to publish")
	flag.IntVar(&o.publishers, "publishers", 8, "-via nats: concurrent publishers")
	flag.IntVar(&o.pubBatch, "pubbatch", 64, "-via nats: tasks a publisher publishes before it awaits their PubAcks")
	flag.Parse()
	o.out = os.Stdout
	switch {
	case o.via != "http" && o.via != "nats":
		fmt.Fprintf(os.Stderr, "pipefloor: -via=%s: expected http or nats\n", o.via)
		os.Exit(2)
	case o.store != "postgres" && o.store != "sqlite":
		fmt.Fprintf(os.Stderr, "pipefloor: -store=%s: expected postgres or sqlite\n", o.store)
		os.Exit(2)
	case o.store == "sqlite" && (o.via == "nats" || *schema != "product"):
		fmt.Fprintln(os.Stderr, "pipefloor: -store sqlite: only -via http on the product's schema")
		os.Exit(2)
	case o.via == "nats" && o.tasks < 1:
		fmt.Fprintf(os.Stderr, "pipefloor: -tasks=%d: expected a positive integer\n", o.tasks)
		os.Exit(2)
	case o.via == "nats" && o.publishers < 1:
		fmt.Fprintf(os.Stderr, "pipefloor: -publishers=%d: expected a positive integer\n", o.publishers)
		os.Exit(2)
	case o.via == "nats" && o.pubBatch < 1:
		fmt.Fprintf(os.Stderr, "pipefloor: -pubbatch=%d: expected a positive integer\n", o.pubBatch)
		os.Exit(2)
	}
	switch *schema {
	case "product":
	case "bare":
		o.bare = true
	default:
		fmt.Fprintf(os.Stderr, "pipefloor: -schema=%s: expected product or bare\n", *schema)
		os.Exit(2)
	}
	switch {
	case o.database == "":
		fmt.Fprintln(os.Stderr, "pipefloor: -database is required")
		os.Exit(2)
	case o.linger < 0:
		fmt.Fprintf(os.Stderr, "pipefloor: -linger=%s: expected a duration of 0 or more\n", o.linger)
		os.Exit(2)
	case o.batch < 1:
		fmt.Fprintf(os.Stderr, "pipefloor: -batch=%d: expected a positive integer\n", o.batch)
		os.Exit(2)
	case o.resultWriters < 1:
		fmt.Fprintf(os.Stderr, "pipefloor: -result-writers=%d: expected a positive integer\n", o.resultWriters)
		os.Exit(2)
	case o.conns < 1+o.resultWriters:
		fmt.Fprintf(os.Stderr, "pipefloor: -conns=%d: expected %d or more (one for each writer)\n", o.conns, 1+o.resultWriters)
		os.Exit(2)
	}
	if o.cpuprofile != "" {
		out, err := os.Create(o.cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(out)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "pipefloor: -cpuprofile=%s: %v\n", o.cpuprofile, err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	o.listening = func(addr string) { fmt.Println("pipefloor: listening on http://" + addr) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "pipefloor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	f, stop, err := start(ctx, o)
	if err != nil {
		return err
	}
	defer stop()
	if o.via == "nats" {
		return f.flood(ctx) // nats.go
	}
	return f.listen(ctx)
}

// start sets the pipeline up: the database migrated (and stripped for
// -schema bare), the tasks' user, an embedded nats-server with the work
// queue and its consumer, and the writers. stop takes it down.
func start(ctx context.Context, o options) (f *floor, stop func(), err error) {
	var cleanups []func()
	undo := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	defer func() {
		if err != nil {
			undo() // what was set up before the failure
		}
	}()
	table, pg, user, closeTable, err := openTable(ctx, o) // tables.go
	if err != nil {
		return nil, nil, err
	}
	cleanups = append(cleanups, closeTable)

	dir, err := os.MkdirTemp("", "pipefloor-")
	if err != nil {
		return nil, nil, err
	}
	cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		return nil, nil, err
	}
	ns.Start()
	cleanups = append(cleanups, ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		return nil, nil, errors.New("embedded nats-server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		return nil, nil, err
	}
	cleanups = append(cleanups, nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, nil, err
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: streamName, Subjects: []string{subject},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage}); err != nil {
		return nil, nil, err
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, streamName, jetstream.ConsumerConfig{Durable: "floor",
		AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 8192})
	if err != nil {
		return nil, nil, err
	}

	f = &floor{o: o, table: table, pg: pg, js: js, user: user,
		submits: make(chan *submission, 4*o.batch), ended: make(chan jetstream.Msg, 4*o.batch),
		done: make(chan struct{}), failed: make(chan error, 1)}
	var wg sync.WaitGroup
	wctx, cancelWriters := context.WithCancel(context.Background())
	cleanups = append(cleanups, func() {
		cancelWriters()
		wg.Wait()
	})
	wg.Go(func() { f.insertLoop(wctx) })
	for range max(o.resultWriters, 1) { // 1 unless set
		wg.Go(func() { f.resultLoop(wctx) })
	}
	// The no-op agent: each task ends at once, and its result goes to the
	// result writer.
	cc, err := cons.Consume(func(m jetstream.Msg) { f.ended <- m }, jetstream.PullMaxMessages(512))
	if err != nil {
		return nil, nil, err
	}
	cleanups = append(cleanups, cc.Stop)
	return f, undo, nil
}

// listen answers the bench's requests over HTTP until ctx ends.
func (f *floor) listen(ctx context.Context) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f.metrics = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &fasthttp.Server{Handler: f.serve, Name: "pipefloor"}
	ln, err := net.Listen("tcp", f.o.addr)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if f.o.listening != nil {
		f.o.listening(ln.Addr().String())
	}
	select {
	case err = <-served:
	case <-ctx.Done():
		err = srv.Shutdown()
	}
	return err
}

// migrate brings the database to YMERA's schema.
func migrate(ctx context.Context, url string) error {
	db, err := postgres.Open(ctx, url, postgres.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.MigrateUp(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// stripTasks drops from the tasks table everything but its primary key:
// its secondary indexes, its constraints other than the key (the foreign
// keys to users and agents, the checks) and its triggers. What is left is
// the narrowest table the pipeline can write, and the difference between
// a run on it and a run on the product's table is what PostgreSQL spends
// on the product's schema (docs/performance.md, "The pipeline floor").
// It reads the catalogue instead of naming them, so that whatever a later
// migration adds is stripped too.
func stripTasks(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// Constraints first: an index that backs one goes with it.
	for _, q := range []string{
		`SELECT format('ALTER TABLE tasks DROP CONSTRAINT %I', conname) FROM pg_constraint
			WHERE conrelid = 'tasks'::regclass AND contype <> 'p'`,
		`SELECT format('DROP INDEX %I', i.relname) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
			WHERE x.indrelid = 'tasks'::regclass AND NOT x.indisprimary`,
		`SELECT format('DROP TRIGGER %I ON tasks', tgname) FROM pg_trigger
			WHERE tgrelid = 'tasks'::regclass AND NOT tgisinternal`,
	} {
		rows, _ := conn.Query(ctx, q)
		stmts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("strip the tasks table: %w", err)
		}
		for _, stmt := range stmts {
			if _, err := conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("strip the tasks table: %s: %w", stmt, err)
			}
		}
	}
	return nil
}

type floor struct {
	o       options
	table   tasksTable
	pg      *pgTable // the table on PostgreSQL; nil on SQLite
	js      jetstream.JetStream
	user    uuid.UUID
	submits chan *submission
	ended   chan jetstream.Msg
	// waiters: task id → closed when the task's result is committed, for
	// the POSTs that wait.
	waiters sync.Map
	metrics fasthttp.RequestHandler

	// -via nats (nats.go): completed counts the committed results; done
	// closes once it reaches o.tasks, failed hears a result batch that
	// could not be committed.
	completed atomic.Int64
	doneOnce  sync.Once
	done      chan struct{}
	failed    chan error
}

// submission is one POST's task on its way through the insert writer.
type submission struct {
	id     uuid.UUID
	name   string
	kind   string
	params json.RawMessage
	// stored gets nil once the row is committed and the message stored.
	stored chan error
}

func (f *floor) serve(c *fasthttp.RequestCtx) {
	path := c.Path()
	c.SetContentType("application/json")
	switch {
	case c.IsGet() && bytes.Equal(path, []byte("/health")):
		c.SetBodyString(`{"status":"healthy"}`)
	case c.IsGet() && bytes.Equal(path, []byte("/metrics")):
		f.metrics(c)
	case c.IsPost() && bytes.Equal(path, []byte("/auth/register")):
		c.SetStatusCode(fasthttp.StatusCreated)
		c.SetBodyString(`{"access_token":"floor","user_id":"` + f.user.String() + `"}`)
	case c.IsPost() && bytes.Equal(path, []byte("/tasks")):
		f.submit(c)
	case c.IsGet() && bytes.HasPrefix(path, []byte("/tasks/")):
		f.get(c, string(path[len("/tasks/"):]))
	default:
		problem(c, fasthttp.StatusNotFound, "no such route")
	}
}

func (f *floor) submit(c *fasthttp.RequestCtx) {
	var body struct {
		Name       string          `json:"name"`
		TaskType   string          `json:"task_type"`
		Parameters json.RawMessage `json:"parameters"`
	}
	if err := json.Unmarshal(c.PostBody(), &body); err != nil {
		problem(c, fasthttp.StatusBadRequest, "body: "+err.Error())
		return
	}
	if body.Name == "" || body.TaskType == "" {
		problem(c, fasthttp.StatusUnprocessableEntity, "name and task_type are required")
		return
	}
	if len(body.Parameters) == 0 {
		body.Parameters = json.RawMessage(`{}`)
	}
	var wait time.Duration
	if w := c.QueryArgs().Peek("wait"); w != nil {
		d, err := time.ParseDuration(string(w))
		if err != nil || d < 0 || d > maxWait {
			problem(c, fasthttp.StatusUnprocessableEntity, "wait: expected a duration from 0 to "+maxWait.String())
			return
		}
		wait = d
	}
	s := &submission{id: uuid.Must(uuid.NewV7()), name: body.Name, kind: body.TaskType, params: body.Parameters,
		stored: make(chan error, 1)}
	id := s.id.String()
	var done chan struct{}
	if wait > 0 {
		done = make(chan struct{})
		f.waiters.Store(id, done)
	}
	f.submits <- s
	if err := <-s.stored; err != nil {
		f.waiters.Delete(id)
		problem(c, fasthttp.StatusServiceUnavailable, err.Error())
		return
	}
	c.SetStatusCode(fasthttp.StatusCreated)
	c.Response.AppendBodyString(`{"task_id":"` + id + `","status":"queued"`)
	if done != nil {
		t := time.NewTimer(wait)
		select {
		case <-done:
			c.Response.AppendBodyString(`,"task":{"id":"` + id + `","status":"completed"}`)
		case <-t.C:
			f.waiters.Delete(id)
		}
		t.Stop()
	}
	c.Response.AppendBodyString(`}`)
}

func (f *floor) get(c *fasthttp.RequestCtx, id string) {
	if uuid.Validate(id) != nil {
		problem(c, fasthttp.StatusNotFound, "no such task")
		return
	}
	// Not the RequestCtx as the context: its Done reads the server's state
	// without a lock, racing with Shutdown.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	status, err := f.table.status(ctx, id)
	switch {
	case errors.Is(err, errNoTask):
		problem(c, fasthttp.StatusNotFound, "no such task")
	case err != nil:
		problem(c, fasthttp.StatusServiceUnavailable, err.Error())
	default:
		c.SetBodyString(`{"id":"` + id + `","status":"` + status + `"}`)
	}
}

func problem(c *fasthttp.RequestCtx, status int, detail string) {
	b, _ := json.Marshal(map[string]any{"title": fasthttp.StatusMessage(status), "status": status, "detail": detail})
	c.SetStatusCode(status)
	c.SetContentType("application/problem+json")
	c.SetBody(b)
}

// gather appends to batch what arrives on in until the batch is full or
// linger has passed since its first item; it returns nil once ctx ends.
func gather[T any](ctx context.Context, in <-chan T, batch []T, limit int, linger time.Duration, t *time.Timer) []T {
	select {
	case v := <-in:
		batch = append(batch, v)
	case <-ctx.Done():
		return nil
	}
	t.Reset(linger)
	defer t.Stop()
	for len(batch) < limit {
		select {
		case v := <-in:
			batch = append(batch, v)
		case <-t.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// insertLoop is the insert writer: a batch's rows committed at once (one
// COPY on PostgreSQL; tables.go), then its messages published back to
// back; each caller hears once its own PubAck is in, while the next batch
// is gathered.
func (f *floor) insertLoop(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	var batch []*submission
	for {
		batch = gather(ctx, f.submits, batch[:0], f.o.batch, f.o.linger, t)
		if batch == nil {
			return
		}
		if err := f.table.insertQueued(ctx, batch); err != nil {
			for _, s := range batch {
				s.stored <- fmt.Errorf("insert: %w", err)
			}
			continue
		}
		acks := make([]jetstream.PubAckFuture, len(batch))
		errs := make([]error, len(batch))
		for i, s := range batch {
			acks[i], errs[i] = f.js.PublishAsync(subject, taskBody(s.id, s.name, s.kind, s.params))
		}
		go func(batch []*submission) {
			for i, s := range batch {
				if errs[i] == nil {
					select {
					case <-acks[i].Ok():
					case errs[i] = <-acks[i].Err():
					}
				}
				s.stored <- errs[i]
			}
		}(batch)
		batch = nil // the goroutine owns it now
	}
}

// taskBody is a task's message: its id, then its JSON.
func taskBody(id uuid.UUID, name, kind string, params json.RawMessage) []byte {
	msg := make([]byte, 0, 64+len(name)+len(kind)+len(params))
	msg = append(msg, id.String()...)
	msg = append(msg, `{"name":`...)
	msg = strconv.AppendQuote(msg, name)
	msg = append(msg, `,"task_type":`...)
	msg = strconv.AppendQuote(msg, kind)
	msg = append(msg, `,"parameters":`...)
	msg = append(msg, params...)
	return append(msg, '}')
}

// resultLoop is the result writer: a batch of ended tasks committed at
// once (one UPDATE on PostgreSQL; or, -via nats, their rows made finished
// in one COPY), then each message acknowledged and each waiting POST
// woken.
func (f *floor) resultLoop(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	var batch []jetstream.Msg
	ids := make([]string, 0, f.o.batch)
	for {
		batch = gather(ctx, f.ended, batch[:0], f.o.batch, f.o.linger, t)
		if batch == nil {
			return
		}
		var err error
		ids = ids[:0]
		if f.o.via == "nats" {
			ids, err = f.pg.insertFinished(ctx, batch, ids)
		} else {
			for _, m := range batch {
				if d := m.Data(); len(d) >= 36 {
					ids = append(ids, string(d[:36]))
				}
			}
			err = f.table.finish(ctx, ids)
		}
		for _, m := range batch {
			if err != nil {
				_ = m.Nak() // redelivered, and tried again
				continue
			}
			_ = m.Ack()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "pipefloor: result batch:", err)
			select {
			case f.failed <- err:
			default:
			}
			continue
		}
		for _, id := range ids {
			if done, ok := f.waiters.LoadAndDelete(id); ok {
				close(done.(chan struct{}))
			}
		}
		if n := f.completed.Add(int64(len(batch))); f.o.tasks > 0 && n >= int64(f.o.tasks) {
			f.doneOnce.Do(func() { close(f.done) })
		}
	}
}
