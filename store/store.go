package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ymera/ymera/actors"
)

// Errors callers branch on. Backends wrap them with context; test with errors.Is.
var (
	// ErrNotFound: no record has that key.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique key is taken (username, email, task id), or a
	// conditional transition found the record in another state.
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable: the database cannot be reached; the caller may retry.
	ErrUnavailable = errors.New("store: unavailable")
)

// RecordError is the error of one operation on one record, reading
// "store: <Op> <ID>: <Err>" as fmt.Errorf("store: %s %s: %w", ...) would.
// Backends return it where a miss is routine and frequent: a task
// published straight to NATS has no row when its first delivery asks for
// one, thousands of times a second, and fmt.Errorf formatted each of those
// misses for a message nobody reads (1.3 % of the process's CPU in a
// profile of `ymera bench --via nats`).
type RecordError struct {
	// Op names the operation and the kind of record, e.g. "get task".
	Op string
	// ID is the record's key as the caller gave it.
	ID string
	// Err is what went wrong, often ErrNotFound.
	Err error
}

func (e *RecordError) Error() string { return "store: " + e.Op + " " + e.ID + ": " + e.Err.Error() }

// Unwrap returns Err, so that errors.Is(err, ErrNotFound) holds.
func (e *RecordError) Unwrap() error { return e.Err }

// Store is one open database. It is safe for concurrent use.
type Store interface {
	Users() Users
	Agents() Agents
	Tasks() Tasks
	Projects() Projects
	Submissions() Submissions
	Files() Files
	ServiceKeys() ServiceKeys
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Backend names the implementation: "postgres" or "sqlite".
	Backend() string
	Close() error
}

// Roles a user can hold.
const (
	RoleUser    = "user"
	RoleAdmin   = "admin"
	RoleService = "service"
)

// User is an account.
type User struct {
	ID             string
	Username       string
	Email          string
	HashedPassword string
	FirstName      string
	LastName       string
	Role           string
	IsActive       bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	LastLogin      *time.Time
}

// UserUpdate names the fields to change; nil leaves a field as it is.
type UserUpdate struct {
	Email          *string
	HashedPassword *string
	FirstName      *string
	LastName       *string
	Role           *string
	IsActive       *bool
	LastLogin      *time.Time
}

// Users reaches user accounts.
type Users interface {
	// Create stores u; ID and timestamps must be set by the caller.
	// ErrConflict if the username or email is taken.
	Create(ctx context.Context, u User) error
	Get(ctx context.Context, id string) (User, error)
	GetByUsername(ctx context.Context, username string) (User, error)
	// List returns users ordered by id, after the cursor (exclusive), at most limit.
	List(ctx context.Context, after string, limit int) ([]User, error)
	// Update applies the non-nil fields and bumps updated_at; returns the new record.
	Update(ctx context.Context, id string, upd UserUpdate) (User, error)
	// Count returns how many users exist (used to seed the first admin).
	Count(ctx context.Context) (int, error)
}

// Agent is a registered agent: a built-in pool or an external one.
type Agent struct {
	ID            string
	Name          string
	Description   string
	Capabilities  []string
	Config        json.RawMessage
	Status        string
	LastHeartbeat *time.Time
	OwnerID       string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// AgentUpdate names the fields to change; nil leaves a field as it is.
type AgentUpdate struct {
	Name          *string
	Description   *string
	Capabilities  *[]string
	Config        *json.RawMessage
	Status        *string
	LastHeartbeat *time.Time
}

// AgentFilter selects agents. Empty fields match everything.
type AgentFilter struct {
	OwnerID string
	Status  string
	After   string // cursor: id, exclusive
	Limit   int
}

// Agents reaches agent registrations.
type Agents interface {
	Create(ctx context.Context, a Agent) error
	Get(ctx context.Context, id string) (Agent, error)
	List(ctx context.Context, f AgentFilter) ([]Agent, error)
	Update(ctx context.Context, id string, upd AgentUpdate) (Agent, error)
	Delete(ctx context.Context, id string) error
}

// Task is a task with its lifecycle as the store keeps it.
type Task struct {
	actors.Task
	Status       actors.Status
	Result       json.RawMessage // nil until finished
	ErrorMessage string
	// Attempts counts starts; Lease identifies the delivery that holds a
	// running task (the JetStream stream sequence of its message).
	Attempts    int
	Lease       int64
	StartedAt   *time.Time
	CompletedAt *time.Time
	UpdatedAt   time.Time
}

// TaskFilter selects tasks, newest first. Empty fields match everything.
type TaskFilter struct {
	UserID   string
	Status   actors.Status
	TaskType string
	Priority actors.Priority
	// Before is the cursor: only tasks with an id lower than it (ids are
	// UUIDv7, so lower is older).
	Before string
	Limit  int
}

// Outcome is how an attempt ended.
type Outcome struct {
	Status       actors.Status // completed, failed, timeout, cancelled, dead_letter
	Result       json.RawMessage
	ErrorMessage string
	// StartedAt, when set, is when an attempt began whose start no Start
	// recorded: the runner records the start of a short attempt together
	// with its outcome, in one write (runner/deferred.go). Finish
	// then applies also to a task never started (pending, or queued with no
	// attempts), counting this attempt (attempts 1) under the lease, with
	// started_at = StartedAt; to a task running under the lease it applies
	// as without it. Zero: Start recorded the attempt's start, as usual.
	StartedAt time.Time
}

// Tasks reaches tasks. Transitions are conditional: each names what it
// expects and returns ErrConflict when the task is no longer in that state.
type Tasks interface {
	// Create stores t with status pending. ErrConflict if the id exists.
	Create(ctx context.Context, t actors.Task) error
	// CreateBatch is Create for many tasks in one commit (group commit of
	// submissions): errs[i] is what Create would have returned for ts[i]
	// called in turn (ErrConflict for an id that exists, also earlier in the
	// batch). A non-nil err means no task was stored (e.g. ErrUnavailable),
	// and errs is then nil.
	CreateBatch(ctx context.Context, ts []actors.Task) (errs []error, err error)
	// EnqueueBatch is CreateBatch for the submit writer, which publishes the
	// tasks' messages itself: errs[i] is CreateBatch's verdict for ts[i],
	// but the rows it stores together go in as queued, and in the same
	// commit an outbox entry lists their ids (outbox is its id). The entry
	// stands for "these messages may not be stored yet": the writer clears
	// it once their PubAcks are in, and the Sweeper republishes the tasks
	// of an entry left behind (Outbox). A task the backend must store on
	// its own (a malformed one CreateBatch would create alone) is stored
	// as Create stores it, pending and out of the entry, for the pending
	// sweep. outbox is 0 when no row went into the entry; a non-nil err
	// means nothing was stored, and outbox and errs are then zero.
	EnqueueBatch(ctx context.Context, ts []actors.Task) (outbox int64, errs []error, err error)
	// ClearOutbox deletes the outbox entry id. An entry already gone is not
	// an error: the writer and the Sweeper may both clear one.
	ClearOutbox(ctx context.Context, id int64) error
	// Outbox lists the outbox entries created before olderThan, oldest
	// first, at most limit, each with those of its tasks that are still
	// queued (none, when every one has moved on).
	Outbox(ctx context.Context, olderThan time.Time, limit int) ([]OutboxEntry, error)
	Get(ctx context.Context, id string) (Task, error)
	List(ctx context.Context, f TaskFilter) ([]Task, error)
	// MarkQueued moves the given tasks from pending to queued once their
	// messages are stored; tasks in any other state are left alone.
	MarkQueued(ctx context.Context, ids ...string) error
	// Start moves a task to running under lease and counts an attempt. It
	// succeeds from pending or queued, and from running when the lease is the
	// same (a redelivery of the message that already held it). It returns the
	// task as stored after the change; ErrConflict when the task is final or
	// running under another lease; ErrNotFound when there is no such task.
	Start(ctx context.Context, id string, lease int64, now time.Time) (Task, error)
	// StartBatch is Start for many deliveries in one commit (group commit):
	// each item applies exactly as Start would, on its own and in turn (an
	// id repeated in the batch sees what the earlier item did), counting an
	// attempt as Start does. ts[i] and errs[i] are what Start would have
	// returned for items[i]: the task as stored after the change, or
	// ErrConflict (final, or running under another lease) or ErrNotFound. A
	// non-nil err means no item was recorded (e.g. ErrUnavailable), and ts
	// and errs are then nil.
	StartBatch(ctx context.Context, items []Starting) (ts []Task, errs []error, err error)
	// CreateStarted stores tasks that have no row yet already started, for
	// the first delivery of a task published straight to NATS: each row goes
	// in running under items[i].Lease with its first attempt counted, as
	// Create and then Start at items[i].At would leave it (started_at and
	// updated_at are At; a CreatedAt that is zero or later than At is At
	// too), but written once.
	// MaxAttempts is stored as given, as Create does. ts[i] is the task as
	// stored, what Start would have returned; errs[i] is what CreateBatch
	// would have said for the task (ErrConflict for an id that exists, also
	// earlier in the batch: that row is left as it is, for Start to try). A
	// non-nil err means no task was stored (e.g. ErrUnavailable), and ts and
	// errs are then nil.
	CreateStarted(ctx context.Context, items []NewStart) (ts []Task, errs []error, err error)
	// CreateFinished stores tasks that have no row yet already final, for
	// a task published straight to NATS whose first attempt ended before
	// its start was recorded (runner/deferred.go): each row goes in with
	// items[i].Outcome, its one attempt counted under items[i].Lease from
	// Outcome.StartedAt to At, as CreateStarted and then Finish would leave
	// it, but written once. MaxAttempts is stored as given. errs[i] is what
	// CreateBatch would have said for the task (ErrConflict for an id that
	// exists, also earlier in the batch: that row is left as it is), or
	// CheckFinish's complaint about the item. A non-nil err means no task
	// was stored (e.g. ErrUnavailable), and errs is then nil.
	CreateFinished(ctx context.Context, items []NewFinish) (errs []error, err error)
	// Finish records the outcome of the attempt holding lease. ErrConflict
	// unless the task is running under that lease, or, with
	// Outcome.StartedAt, never started (pending or queued with no attempts).
	Finish(ctx context.Context, id string, lease int64, o Outcome, now time.Time) error
	// FinishBatch is Finish for many attempts in one commit (group commit):
	// each item applies exactly as Finish would, on its own and in turn (an
	// id repeated in the batch sees what the earlier item did), and errs[i]
	// is what Finish would have returned for items[i] (ErrConflict unless
	// the task is running under that lease, or, with Outcome.StartedAt,
	// never started: pending or queued with no attempts). A non-nil err
	// means the batch as a whole was not recorded (e.g. ErrUnavailable), and
	// errs is then nil.
	FinishBatch(ctx context.Context, items []Finished) (errs []error, err error)
	// Requeue hands a failed attempt back for a retry: running under lease
	// becomes queued again, keeping errMsg as the last error. ErrConflict
	// unless the task is running under that lease.
	Requeue(ctx context.Context, id string, lease int64, errMsg string, now time.Time) error
	// Abandon fails a task whose message could not be stored when it was
	// submitted, so the submitter can answer with an error and the task never
	// runs behind its back: pending, or queued and never started (as
	// EnqueueBatch stores it), becomes failed with reason. ErrConflict
	// otherwise: a queued task with attempts has run and is being retried.
	Abandon(ctx context.Context, id string, reason string, now time.Time) error
	// Pending lists tasks still pending that were created before olderThan,
	// oldest first: their queue message may never have been stored.
	Pending(ctx context.Context, olderThan time.Time, limit int) ([]Task, error)
	// Attempts returns the task's attempts, first first: each Start that
	// counts an attempt begins one. An attempt that ended was recorded by
	// the transition that ended it (leaving running, or a Start under the
	// same lease, which ends the one before as AttemptCrashed), in the same
	// statement; the attempt of a running task is not stored until then
	// and is read from the task (Attempts, Lease, UpdatedAt as its start),
	// so it looks as the others do, running and without FinishedAt. Empty
	// (not ErrNotFound) for a task never started or not there.
	Attempts(ctx context.Context, taskID string) ([]Attempt, error)
	// GetWithAttempts is Get and Attempts together, as of one moment, in
	// one round trip where the backend allows (the read GET /tasks/{id}
	// makes). ErrNotFound when there is no such task.
	GetWithAttempts(ctx context.Context, id string) (Task, []Attempt, error)
	// Cancel cancels a task that has not started: pending or queued becomes
	// cancelled. A running task is left alone and returned with a nil error,
	// so the caller knows to cancel it where it runs. A final task is
	// returned as stored with ErrConflict; ErrNotFound when there is none.
	Cancel(ctx context.Context, id string, now time.Time) (Task, error)
	// DeadLetter gives up on a task whose message ran out of deliveries:
	// any non-final status becomes dead_letter with reason as its error.
	// ErrConflict when the task is final (dead_letter included).
	DeadLetter(ctx context.Context, id string, reason string, now time.Time) error
	// Revive takes a dead-lettered task back for a replay: dead_letter
	// becomes pending (its message is then published again, and MarkQueued
	// follows, as for a new task), keeping its attempts and last error.
	// ErrConflict unless the task is dead_letter.
	Revive(ctx context.Context, id string, now time.Time) error
}

// OutboxEntry is one entry of the submit outbox (see Tasks.EnqueueBatch):
// Tasks are those of its tasks still queued when it was read.
type OutboxEntry struct {
	ID    int64
	Tasks []Task
}

// OutboxListing is an outbox entry as stored: its id and the ids of the
// tasks it lists. The backends read the listings, then the listed tasks
// still queued (Listed gives their ids), and FillOutbox pairs the two.
type OutboxListing struct {
	ID      int64
	TaskIDs []string
}

// Listed returns the task ids of every listing, in order.
func Listed(ls []OutboxListing) []string {
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.TaskIDs...)
	}
	return ids
}

// FillOutbox makes Tasks.Outbox's answer: each listing with those of its
// tasks found among queued, in the listing's order.
func FillOutbox(ls []OutboxListing, queued []Task) []OutboxEntry {
	byID := make(map[string]Task, len(queued))
	for _, t := range queued {
		byID[t.ID] = t
	}
	out := make([]OutboxEntry, len(ls))
	for i, l := range ls {
		out[i] = OutboxEntry{ID: l.ID, Tasks: []Task{}}
		for _, id := range l.TaskIDs {
			if t, ok := byID[id]; ok {
				out[i].Tasks = append(out[i].Tasks, t)
			}
		}
	}
	return out
}

// Finished is one item of FinishBatch: the outcome of the attempt at task ID
// that holds Lease, recorded at At.
type Finished struct {
	ID      string
	Lease   int64
	Outcome Outcome
	At      time.Time
	// Task, when the caller has it, is the task as it was stored: the
	// message it ran from, published with the row it was inserted with,
	// or the row its start returned. A store that keeps the rows it ends
	// for GetEnded may build them from it rather than have the statement
	// return them; it must build only what equals a read.
	Task *actors.Task
}

// Starting is one item of StartBatch: the delivery holding Lease starts
// task ID at At.
type Starting struct {
	ID    string
	Lease int64
	At    time.Time
}

// NewStart is one item of CreateStarted: Task, which has no row yet, is
// stored as started by the delivery holding Lease at At.
type NewStart struct {
	Task  actors.Task
	Lease int64
	At    time.Time
}

// StartedTasks returns the tasks of items as CreateStarted stores them: a
// task without a creation time, or with one later than its start (the
// publisher's clock ahead of ours), was created when it started.
func StartedTasks(items []NewStart) []actors.Task {
	ts := make([]actors.Task, len(items))
	for i, it := range items {
		ts[i] = it.Task
		if ts[i].CreatedAt.IsZero() || ts[i].CreatedAt.After(it.At) {
			ts[i].CreatedAt = it.At
		}
	}
	return ts
}

// NewFinish is one item of CreateFinished: Task, which has no row yet, is
// stored final with Outcome, its attempt begun at Outcome.StartedAt by the
// delivery holding Lease and ended at At.
type NewFinish struct {
	Task    actors.Task
	Lease   int64
	Outcome Outcome
	At      time.Time
}

// CheckFinish says what keeps it from being stored by CreateFinished, nil
// when nothing does: an outcome that is not final, one without the start
// of its attempt, or a result that is not JSON.
func CheckFinish(it NewFinish) error {
	switch {
	case !it.Outcome.Status.Final():
		return fmt.Errorf("store: create task %s: outcome status %q is not final", it.Task.ID, it.Outcome.Status)
	case it.Outcome.StartedAt.IsZero():
		return fmt.Errorf("store: create task %s: the outcome does not say when its attempt began", it.Task.ID)
	case len(it.Outcome.Result) > 0 && !json.Valid(it.Outcome.Result):
		return fmt.Errorf("store: create task %s: result is not valid JSON", it.Task.ID)
	}
	return nil
}

// CreateFinishedWith is CreateFinished for a backend: the items CheckFinish
// finds fault with get its error, and create stores the others (as tasks,
// each with the time it was created: a task without one, or with one
// later than its attempt began, was created when its attempt began) and
// returns their verdicts, in order.
func CreateFinishedWith(items []NewFinish,
	create func(ts []actors.Task, items []NewFinish) ([]error, error)) ([]error, error) {
	errs := make([]error, len(items))
	ts, idx := make([]actors.Task, 0, len(items)), make([]int, 0, len(items))
	for i, it := range items {
		if errs[i] = CheckFinish(it); errs[i] != nil {
			continue
		}
		t := it.Task
		if t.CreatedAt.IsZero() || t.CreatedAt.After(it.Outcome.StartedAt) {
			t.CreatedAt = it.Outcome.StartedAt
		}
		ts, idx = append(ts, t), append(idx, i)
	}
	good := items // usually every item: no copy of them then
	if len(idx) < len(items) {
		good = make([]NewFinish, len(idx))
		for j, i := range idx {
			good[j] = items[i]
		}
	}
	if len(good) == 0 {
		return errs, nil
	}
	verdicts, err := create(ts, good)
	if err != nil {
		return nil, err
	}
	for j, i := range idx {
		errs[i] = verdicts[j]
	}
	return errs, nil
}

// Attempt is one attempt at a task.
type Attempt struct {
	// Attempt is the 1-based attempt number (Task.Attempts when it began).
	Attempt int
	// Lease is the stream sequence of the delivery that made the attempt.
	Lease int64
	// Status is running while the attempt runs, then completed, failed
	// (including a transient failure that was retried), timeout, cancelled,
	// dead_letter, or AttemptCrashed.
	Status string
	// Error is why the attempt failed; empty when it did not.
	Error      string
	StartedAt  time.Time
	FinishedAt *time.Time
}

// AttemptCrashed is the status of an attempt that ended without an outcome:
// its worker crashed (or lost its lease) and a later delivery started anew.
const AttemptCrashed = "crashed"

// WithRowAttempt completes the history stored for t (stored, in order) with
// the attempt t's row describes and the stores keep no row for (migration
// 00004 of either dialect): the one running, started when its Start set
// UpdatedAt; or a first attempt that ended the task, from StartedAt to
// UpdatedAt with the task's status and error. Both backends' Attempts and
// GetWithAttempts end with it.
func WithRowAttempt(t Task, stored []Attempt) []Attempt {
	switch {
	case t.Status == actors.StatusRunning:
		return append(stored, Attempt{Attempt: t.Attempts, Lease: t.Lease,
			Status: string(actors.StatusRunning), StartedAt: t.UpdatedAt})
	case t.Status.Final() && t.Attempts == 1 && t.StartedAt != nil:
		if len(stored) > 0 && stored[0].Attempt == 1 {
			return stored // requeued before it ended: the row was written then
		}
		a := Attempt{Attempt: 1, Lease: t.Lease, Status: string(t.Status), StartedAt: *t.StartedAt}
		if t.Status != actors.StatusCompleted {
			a.Error = t.ErrorMessage
		}
		finished := t.UpdatedAt
		a.FinishedAt = &finished
		return append(stored, a)
	}
	return stored
}

// Project is a code project owned by a user.
type Project struct {
	ID            string
	Name          string
	Description   string
	RepositoryURL string
	Status        string
	Config        json.RawMessage
	OwnerID       string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// ProjectUpdate names the fields to change; nil leaves a field as it is.
type ProjectUpdate struct {
	Name          *string
	Description   *string
	RepositoryURL *string
	Status        *string
	Config        *json.RawMessage
}

// ProjectFilter selects projects. Empty fields match everything.
type ProjectFilter struct {
	OwnerID string
	// Search matches words of the name (full-text on PostgreSQL, LIKE on SQLite).
	Search string
	After  string
	Limit  int
}

// Projects reaches projects.
type Projects interface {
	Create(ctx context.Context, p Project) error
	Get(ctx context.Context, id string) (Project, error)
	List(ctx context.Context, f ProjectFilter) ([]Project, error)
	Update(ctx context.Context, id string, upd ProjectUpdate) (Project, error)
	Delete(ctx context.Context, id string) error
}

// Submission is code submitted to a project for quality verification.
type Submission struct {
	ID                  string
	ProjectID           string
	UserID              string
	Code                string
	QualityScore        *float64
	SecurityScore       *float64
	PerformanceScore    *float64
	Status              string
	IntegrationStrategy string
	Result              json.RawMessage
	CreatedAt           time.Time
	IntegratedAt        *time.Time
}

// SubmissionUpdate names the fields to change; nil leaves a field as it is.
type SubmissionUpdate struct {
	QualityScore        *float64
	SecurityScore       *float64
	PerformanceScore    *float64
	Status              *string
	IntegrationStrategy *string
	Result              *json.RawMessage
	IntegratedAt        *time.Time
}

// Submissions reaches submissions.
type Submissions interface {
	Create(ctx context.Context, s Submission) error
	Get(ctx context.Context, id string) (Submission, error)
	// ListByProject returns a project's submissions, newest first.
	ListByProject(ctx context.Context, projectID string, limit int) ([]Submission, error)
	Update(ctx context.Context, id string, upd SubmissionUpdate) (Submission, error)
}

// File is a stored file; its content lives in versions.
type File struct {
	ID             string
	ProjectID      string // may be empty
	OwnerID        string
	Path           string
	ContentType    string
	CurrentVersion int
	Size           int64
	Checksum       string // hex SHA-256 of the current version
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeletedAt      *time.Time
}

// FileVersion is one immutable version of a file. StorageKey locates the bytes
// in the storage backend (local disk, S3, object store).
type FileVersion struct {
	ID         string
	FileID     string
	Version    int
	Size       int64
	Checksum   string
	StorageKey string
	CreatedBy  string
	CreatedAt  time.Time
}

// Files reaches files and their versions.
type Files interface {
	// Create stores f together with its first version v (v.Version is 1).
	Create(ctx context.Context, f File, v FileVersion) error
	Get(ctx context.Context, id string) (File, error)
	// ListByProject returns a project's live files ordered by path.
	ListByProject(ctx context.Context, projectID string) ([]File, error)
	// AddVersion appends v (its Version must be the current one plus one)
	// and makes it current. ErrConflict if another version got there first.
	AddVersion(ctx context.Context, v FileVersion) error
	Versions(ctx context.Context, fileID string) ([]FileVersion, error)
	Version(ctx context.Context, fileID string, version int) (FileVersion, error)
	// PruneVersions deletes non-current versions created before olderThan
	// and returns them so their bytes can be removed too.
	PruneVersions(ctx context.Context, olderThan time.Time) ([]FileVersion, error)
	// Delete marks the file deleted.
	Delete(ctx context.Context, id string, now time.Time) error
}

// ServiceKey is an API key of the service role. Only a hash of the key is
// stored; the key itself is shown once, when it is issued.
type ServiceKey struct {
	ID   string
	Name string
	// KeyHash identifies the key: hex SHA-256 of the whole key string.
	KeyHash string
	// OwnerID is the service user the key acts as.
	OwnerID string
	// CreatedBy is the admin who issued the key; "" when none (the CLI).
	CreatedBy  string
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// ServiceKeys reaches service keys.
type ServiceKeys interface {
	// Create stores k; ID, KeyHash, OwnerID and CreatedAt must be set.
	// ErrConflict if the id or hash exists or the owner does not.
	Create(ctx context.Context, k ServiceKey) error
	Get(ctx context.Context, id string) (ServiceKey, error)
	// GetByHash returns the key with that hash, revoked or not.
	GetByHash(ctx context.Context, keyHash string) (ServiceKey, error)
	// List returns keys ordered by id, after the cursor (exclusive), at most limit.
	List(ctx context.Context, after string, limit int) ([]ServiceKey, error)
	// Revoke sets revoked_at to at unless the key is already revoked (then
	// the first revocation time stays); it returns the key as stored.
	Revoke(ctx context.Context, id string, at time.Time) (ServiceKey, error)
	// Touch sets last_used_at to at.
	Touch(ctx context.Context, id string, at time.Time) error
}
