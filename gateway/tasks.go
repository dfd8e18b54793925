package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// defaultPageSize is GET /tasks's page size when limit is absent; it must
// match the default tag of listTasksInput.Limit.
const defaultPageSize = 50

// jsonObject is a JSON object kept as its raw bytes, so numbers keep their
// precision on the way to the agent; it is documented as an object or null.
type jsonObject json.RawMessage

// MarshalJSON writes the object, or null when there is none.
func (o jsonObject) MarshalJSON() ([]byte, error) {
	if len(o) == 0 {
		return []byte("null"), nil
	}
	return o, nil
}

// UnmarshalJSON keeps a copy of the raw object; null leaves it empty.
func (o *jsonObject) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*o = nil
		return nil
	}
	*o = append((*o)[:0], b...)
	return nil
}

// Schema tells huma to validate and document the field as an object.
func (jsonObject) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeObject, Nullable: true, AdditionalProperties: true}
}

// submitTaskRequest is a new task (the seed's shape). Unknown fields are ignored.
type submitTaskRequest struct {
	_           struct{}        `json:"-" additionalProperties:"true"`
	Name        string          `json:"name" minLength:"1" maxLength:"200" example:"Generate API"`
	Description string          `json:"description,omitempty" maxLength:"10000" example:"Generate REST API for user management"`
	TaskType    string          `json:"task_type" minLength:"1" maxLength:"64" example:"security_scan" doc:"One of the task types the running agents offer"`
	Parameters  jsonObject      `json:"parameters,omitempty" example:"{\"language\": \"python\", \"framework\": \"fastapi\"}" doc:"Input of the task; its shape depends on task_type"`
	Priority    actors.Priority `json:"priority,omitempty" enum:"low,normal,high,critical" default:"normal" example:"high"`
	AgentID     string          `json:"agent_id,omitempty" format:"uuid" doc:"Run the task on this agent only; it must be yours (or any, for an admin) and offer task_type"`
}

// agentGetter finds the agent a task is routed to; store.Agents satisfies it.
type agentGetter interface {
	Get(ctx context.Context, id string) (store.Agent, error)
}

// routeTo checks an explicit agent_id: the agent exists, the caller may use
// it (the same 404 as a missing one otherwise) and it offers the task type.
func routeTo(ctx context.Context, log *slog.Logger, agents agentGetter, who principal, id, taskType string) *Problem {
	notFound := &Problem{Type: ProblemNotFound, Title: "Not found", Status: http.StatusNotFound,
		Detail: fmt.Sprintf("no agent %q", truncate(id, 64))}
	if agents == nil {
		return notFound
	}
	a, err := agents.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !who.mayAccess(a.OwnerID)) {
		return notFound
	}
	if err != nil {
		return problemFor(ctx, log, err, details{})
	}
	if !slices.Contains(a.Capabilities, taskType) {
		return &Problem{Type: ProblemUnknownTaskType, Title: "Agent does not offer this task type",
			Status: http.StatusUnprocessableEntity,
			Detail: fmt.Sprintf("agent %s does not offer task_type %q; it offers: %s", a.ID, truncate(taskType, 64), strings.Join(a.Capabilities, ", ")),
			Errors: []ProblemError{{Location: "body.agent_id", Message: "the agent does not offer task_type", Value: a.ID}}}
	}
	return nil
}

type submitTaskInput struct {
	Wait string `query:"wait" maxLength:"16" doc:"Wait up to this long (a duration such as 10s or 500ms, at most 60s) for the task to end, and answer with it in task: submit and wait for the result in one request. The answer is 201 whether or not the task ended in time"`
	Body submitTaskRequest
}

type submitTaskResponse struct {
	TaskID string `json:"task_id" format:"uuid" example:"0190a7e4-5b6c-7d8e-9f00-0123456789ab"`
	Status string `json:"status" enum:"created" example:"created" doc:"What the request did: the task was created. The task's own status is in task, with ?wait="`
	// Task is the task after a ?wait=; absent without one, or when the
	// task could not be read back (it was created all the same).
	Task *taskDetail `json:"task,omitempty" doc:"With ?wait=: the task as it was when the answer went out, ended or, if the wait ran out first, not yet. Absent without ?wait=, or if the task could not be read back: it was created all the same"`
}

type submitTaskOutput struct {
	Body submitTaskResponse
}

// handleSubmitTask checks the task type, makes the task and hands it to the
// submitter, which stores and queues it; 201 means it will not be lost.
// With ?wait= it then waits for the task to end, as GET
// /tasks/{task_id}?wait= does, and answers with the task too: a client
// that wants the result at once makes one request, not two.
func handleSubmitTask(log *slog.Logger, sub Submitter, types TaskTypes, agents agentGetter, maxAttempts int, now func() time.Time,
	views taskViews) func(context.Context, *submitTaskInput) (*submitTaskOutput, error) {
	tracker := trackerOf(views.waiter)
	return func(ctx context.Context, in *submitTaskInput) (*submitTaskOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		wait, p := parseTaskWait(in.Wait)
		if p != nil {
			return nil, p
		}
		r := in.Body
		if !types.Known(r.TaskType) {
			return nil, unknownTaskType(r.TaskType, types.List())
		}
		if r.AgentID != "" {
			if p := routeTo(ctx, log, agents, who, r.AgentID, r.TaskType); p != nil {
				return nil, p
			}
		}
		var params json.RawMessage
		if len(r.Parameters) > 0 {
			// Stored and queued compact: the schema has already checked it is an object.
			var buf bytes.Buffer
			if err := json.Compact(&buf, r.Parameters); err != nil {
				return nil, validationProblem("body.parameters", "expected a JSON object", nil)
			}
			params = buf.Bytes()
		}
		id, err := uuid.NewV7()
		if err != nil {
			return nil, problemFor(ctx, log, fmt.Errorf("gateway: task id: %w", err), details{})
		}
		t := actors.Task{
			ID:          id.String(),
			Name:        r.Name,
			Description: r.Description,
			Type:        r.TaskType,
			Parameters:  params,
			Priority:    r.Priority,
			UserID:      who.UserID,
			AgentID:     r.AgentID,
			MaxAttempts: maxAttempts,
			CreatedAt:   now().UTC(),
		}
		if t.Priority == "" {
			t.Priority = actors.PriorityNormal
		}
		if tracker != nil {
			// Before the submission, so that an end however quick is heard.
			tracker.Expect(t.ID, t.UserID)
		}
		if err := sub.Submit(ctx, t); err != nil {
			if tracker != nil {
				tracker.Forget(t.ID)
			}
			return nil, problemFor(ctx, log, err, details{})
		}
		out := &submitTaskOutput{Body: submitTaskResponse{TaskID: t.ID, Status: "created"}}
		if wait > 0 {
			// The task is accepted whatever happens now: a failed wait
			// leaves task out of the answer, not the 201.
			if d, err := views.view(ctx, who, t.ID, wait); err == nil {
				out.Body.Task = &d
			} else if ctx.Err() == nil {
				log.WarnContext(ctx, "task submitted, but cannot wait for it; answering without it", "task_id", t.ID, "error", err)
			}
		}
		return out, nil
	}
}

// unknownTaskType is the 422 of a well-formed task no agent can run; it
// names the types that can.
func unknownTaskType(name string, known []string) *Problem {
	known = slices.Sorted(slices.Values(known))
	return &Problem{
		Type:   ProblemUnknownTaskType,
		Title:  "Unknown task type",
		Status: http.StatusUnprocessableEntity,
		Detail: fmt.Sprintf("unknown task_type %q; known types: %s", truncate(name, 64), strings.Join(known, ", ")),
		Errors: []ProblemError{{Location: "body.task_type", Message: "no agent offers this task type", Value: truncate(name, 64)}},
	}
}

// taskDetail is one task as GET /tasks/{task_id} shows it: the seed's
// fields, then the lifecycle fields the seed did not have.
type taskDetail struct {
	ID          string          `json:"id" format:"uuid" example:"0190a7e4-5b6c-7d8e-9f00-0123456789ab"`
	Name        string          `json:"name" example:"Generate API"`
	Description string          `json:"description" example:"Generate REST API for user management"`
	TaskType    string          `json:"task_type" example:"security_scan"`
	Parameters  jsonObject      `json:"parameters" example:"{\"language\": \"python\", \"framework\": \"fastapi\"}"`
	Priority    actors.Priority `json:"priority" example:"high"`
	Status      actors.Status   `json:"status" example:"completed"`
	Result      jsonObject      `json:"result" example:"{\"code\": \"...\", \"files\": []}" doc:"The agent's output; null until the task completes"`
	CreatedAt   time.Time       `json:"created_at" example:"2024-01-16T12:00:00Z"`
	CompletedAt *time.Time      `json:"completed_at" example:"2024-01-16T12:05:00Z" doc:"When the task reached a final status"`

	ErrorMessage *string    `json:"error_message" doc:"Why the last attempt failed"`
	Attempts     int        `json:"attempts"`
	MaxAttempts  int        `json:"max_attempts"`
	StartedAt    *time.Time `json:"started_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	// AttemptHistory is filled when the task reader keeps attempts
	// (attemptReader, in task_control.go).
	AttemptHistory []attemptView `json:"attempt_history" doc:"Every attempt, first first, with its outcome and error"`
}

// taskSummary is one task in GET /tasks (the seed's shape).
type taskSummary struct {
	ID          string          `json:"id" format:"uuid" example:"0190a7e4-5b6c-7d8e-9f00-0123456789ab"`
	Name        string          `json:"name" example:"Generate API"`
	TaskType    string          `json:"task_type" example:"security_scan"`
	Priority    actors.Priority `json:"priority" example:"high"`
	Status      actors.Status   `json:"status" example:"completed"`
	Result      jsonObject      `json:"result" example:"{\"code\": \"...\", \"files\": []}"`
	CreatedAt   time.Time       `json:"created_at" example:"2024-01-16T12:00:00Z"`
	CompletedAt *time.Time      `json:"completed_at" example:"2024-01-16T12:05:00Z"`
}

func detailOf(t store.Task) taskDetail {
	d := taskDetail{
		ID:          t.ID,
		Name:        t.Name,
		Description: t.Description,
		TaskType:    t.Type,
		Parameters:  jsonObject(t.Parameters),
		Priority:    t.Priority,
		Status:      t.Status,
		Result:      jsonObject(t.Result),
		CreatedAt:   t.CreatedAt.UTC(),
		CompletedAt: utcPtr(t.CompletedAt),
		Attempts:    t.Attempts,
		MaxAttempts: t.MaxAttempts,
		StartedAt:   utcPtr(t.StartedAt),
		UpdatedAt:   t.UpdatedAt.UTC(),
	}
	if len(d.Parameters) == 0 {
		// Parameters are optional on input but always an object on output.
		d.Parameters = jsonObject("{}")
	}
	if t.ErrorMessage != "" {
		d.ErrorMessage = &t.ErrorMessage
	}
	return d
}

func summaryOf(t store.Task) taskSummary {
	return taskSummary{
		ID:          t.ID,
		Name:        t.Name,
		TaskType:    t.Type,
		Priority:    t.Priority,
		Status:      t.Status,
		Result:      jsonObject(t.Result),
		CreatedAt:   t.CreatedAt.UTC(),
		CompletedAt: utcPtr(t.CompletedAt),
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

type getTaskInput struct {
	TaskID string `path:"task_id" doc:"The task's id, a UUID"`
	Wait   string `query:"wait" maxLength:"16" doc:"Wait up to this long (a duration such as 10s or 500ms, at most 60s) for the task to end before answering; the answer is the task as it then is, ended or not"`
}

type getTaskOutput struct {
	Body taskDetail
}

// maxTaskWait bounds the ?wait= of GET /tasks/{task_id} and POST /tasks. A
// longer wait is also cut short by the request timeout (RequestTimeout):
// the answer goes out taskWaitMargin before it.
const (
	maxTaskWait    = 60 * time.Second
	taskWaitMargin = 250 * time.Millisecond
)

// taskWaitRecheck is how often a waiting request reads the task again
// without being told it ended: the end signal rides on events, which can
// be lost.
const taskWaitRecheck = time.Second

// TaskWaiter tells a request's ?wait= when a task ends
// (*transport.TaskEnds). Await must have its watch in place when it
// returns, so that the handler, reading the task afterwards, cannot miss
// an end between its read and its wait.
type TaskWaiter interface {
	Await(ctx context.Context, taskID string) (ended <-chan struct{}, release func(), err error)
}

// taskTracker is a TaskWaiter that also tracks the tasks this gateway
// submits while it is watching task events (*transport.TaskEnds). A wait
// for a task tracked for its caller need not read the task before it
// waits: the task exists, the caller may see it, and Await has signalled
// already if its end was heard. That is one read of two per task in a
// client's submit-and-wait loop.
type taskTracker interface {
	Expect(taskID, owner string)
	Forget(taskID string)
	Tracked(taskID string) (owner string, ok bool)
}

// trackerOf returns w's taskTracker, or nil if it is none.
func trackerOf(w TaskWaiter) taskTracker {
	t, _ := w.(taskTracker)
	return t
}

// parseTaskWait reads ?wait=: empty is no wait.
func parseTaskWait(s string) (time.Duration, *Problem) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > maxTaskWait {
		return 0, validationProblem("query.wait", fmt.Sprintf("expected a duration from 0s to %gs, such as 10s or 500ms", maxTaskWait.Seconds()), s)
	}
	return d, nil
}

// handleGetTask shows one task to its owner or to an admin. Someone else's
// task, a missing task and an id that is not a UUID get the same 404, so ids
// cannot be probed.
//
// With ?wait= it answers as soon as the task has ended, or once the wait is
// over with the task as it then is: a client that wants a task's result
// asks again until the status is final, one request per wait instead of a
// poll every few milliseconds.
func handleGetTask(v taskViews) func(context.Context, *getTaskInput) (*getTaskOutput, error) {
	return func(ctx context.Context, in *getTaskInput) (*getTaskOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		id, err := uuid.Parse(in.TaskID)
		if err != nil {
			return nil, problemFor(ctx, v.log, store.ErrNotFound, notFoundTask(in.TaskID))
		}
		wait, p := parseTaskWait(in.Wait)
		if p != nil {
			return nil, p
		}
		d, err := v.view(ctx, who, id.String(), wait)
		if err != nil {
			return nil, err
		}
		return &getTaskOutput{Body: d}, nil
	}
}

// notFoundTask is the 404's detail for the task id s.
func notFoundTask(s string) details {
	return details{notFound: fmt.Sprintf("task %q does not exist", truncate(s, 64))}
}

// taskViews reads one task as GET /tasks/{task_id} shows it, for that
// request and for the answer of a waiting POST /tasks. waiter may be nil: a
// wait then reads the task every taskWaitRecheck. A wait ends early when
// stopping is closed (the server shuts down).
type taskViews struct {
	log   *slog.Logger
	tasks interface {
		Get(ctx context.Context, id string) (store.Task, error)
	}
	waiter   TaskWaiter
	stopping <-chan struct{}
}

// view returns the task id (a UUID in its canonical form) as who may see
// it, after waiting up to wait for it to end. A task who may not see is
// refused exactly as one that does not exist.
func (v taskViews) view(ctx context.Context, who principal, id string, wait time.Duration) (taskDetail, error) {
	visible := func(t store.Task, err error) error {
		if err == nil && !who.seesAll() && t.UserID != who.UserID {
			err = store.ErrNotFound
		}
		if err != nil {
			return problemFor(ctx, v.log, err, notFoundTask(id))
		}
		return nil
	}
	// answer reads the task for the answer, with fetch when the reader
	// reads tasks and their attempts together.
	answer := func(fetch func(ctx context.Context, id string) (store.Task, []store.Attempt, error)) (taskDetail, error) {
		var (
			t        store.Task
			attempts []store.Attempt
			err      error
		)
		if fetch != nil {
			// One read for both: this is the request clients poll.
			t, attempts, err = fetch(ctx, id)
		} else {
			t, err = v.tasks.Get(ctx, id)
		}
		if err := visible(t, err); err != nil {
			return taskDetail{}, err
		}
		d := detailOf(t)
		if fetch != nil {
			d.AttemptHistory = attemptViews(attempts)
		} else if d.AttemptHistory, err = attemptHistory(ctx, v.tasks, t.ID); err != nil {
			return taskDetail{}, problemFor(ctx, v.log, err, notFoundTask(id))
		}
		return d, nil
	}
	var fetch, fetchEnded func(ctx context.Context, id string) (store.Task, []store.Attempt, error)
	if dr, ok := v.tasks.(detailReader); ok {
		fetch, fetchEnded = dr.GetWithAttempts, dr.GetWithAttempts
	}
	if er, ok := v.tasks.(endedReader); ok {
		fetchEnded = er.GetEnded
	}
	read := func() (taskDetail, error) { return answer(fetch) }
	if wait <= 0 {
		return read()
	}
	// While it waits, it reads the task's row alone: most reads then find
	// it unfinished, and its attempts matter only in the answer.
	peek := func() (actors.Status, error) {
		t, err := v.tasks.Get(ctx, id)
		if err := visible(t, err); err != nil {
			return "", err
		}
		return t.Status, nil
	}
	// known tells awaitTask, once its watch is in place, that the first
	// peek can be skipped.
	var known func() bool
	if tr := trackerOf(v.waiter); tr != nil {
		known = func() bool {
			owner, ok := tr.Tracked(id)
			return ok && (owner == who.UserID || who.seesAll())
		}
	}
	readEnded := func() (taskDetail, error) { return answer(fetchEnded) }
	return awaitTask(ctx, v.log, v.waiter, v.stopping, id, wait, known, peek, read, readEnded)
}

// awaitTask answers a wait for a task's end: with read's answer as soon
// as peek says the task ended, with readEnded's as soon as the waiter says
// so, or with read's once the wait is over (or the server stops). An error
// of either is the answer. It peeks first, unless known (which may be nil)
// says, once the waiter watches, that the waiter has tracked the task for
// this caller; it then waits on the watch at once, which has signalled
// already if the task ended.
func awaitTask(ctx context.Context, log *slog.Logger, waiter TaskWaiter, stopping <-chan struct{}, id string, wait time.Duration,
	known func() bool, peek func() (actors.Status, error), read, readEnded func() (taskDetail, error)) (taskDetail, error) {
	end := time.Now().Add(wait)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-taskWaitMargin).Before(end) {
		end = dl.Add(-taskWaitMargin)
	}
	var ended <-chan struct{}
	if waiter != nil {
		// Watched before the first read: an end between the two is seen.
		ch, release, err := waiter.Await(ctx, id)
		if err != nil {
			log.WarnContext(ctx, "cannot watch the task's events; waiting by reading it again", "task_id", id, "error", err)
		} else {
			defer release()
			ended = ch
		}
	}
	if ended == nil || known == nil || !known() {
		status, err := peek()
		if err != nil || status.Final() {
			return finalRead(read, err)
		}
	}
	timer := time.NewTimer(time.Until(end))
	defer timer.Stop()
	recheck := time.NewTicker(taskWaitRecheck)
	defer recheck.Stop()
	for {
		select {
		case <-ended:
			// Most likely ended: read it whole at once, as the end left
			// it if the store has that at hand.
			if d, err := readEnded(); err != nil || d.Status.Final() {
				return d, err
			}
		case <-recheck.C:
			if status, err := peek(); err != nil || status.Final() {
				return finalRead(read, err)
			}
		case <-timer.C:
			return read()
		case <-stopping:
			return read()
		case <-ctx.Done():
			// The client left, or the request timed out and its answer
			// is a 504 whatever this returns.
			return taskDetail{}, problemFor(ctx, log, ctx.Err(), details{})
		}
	}
}

// finalRead is read's answer, or err when there is one.
func finalRead(read func() (taskDetail, error), err error) (taskDetail, error) {
	if err != nil {
		return taskDetail{}, err
	}
	return read()
}

// listTasksInput filters and pages GET /tasks. The enums must name exactly
// the statuses and priorities of package actors (a test checks).
type listTasksInput struct {
	Status   actors.Status   `query:"status" enum:"pending,queued,running,completed,failed,cancelled,timeout,dead_letter" doc:"Only tasks in this status"`
	TaskType string          `query:"task_type" maxLength:"64" doc:"Only tasks of this type"`
	Priority actors.Priority `query:"priority" enum:"low,normal,high,critical" doc:"Only tasks of this priority"`
	Limit    int             `query:"limit" minimum:"1" maximum:"100" default:"50" doc:"Page size; more than 100 is refused"`
	Cursor   string          `query:"cursor" maxLength:"128" doc:"Where the page starts: the X-Next-Cursor of the previous page"`
}

type listTasksOutput struct {
	Link       string `header:"Link" doc:"<...>; rel=\"next\" when there is a next page"`
	NextCursor string `header:"X-Next-Cursor" doc:"The cursor of the next page, when there is one"`
	Body       []taskSummary
}

// handleListTasks lists the caller's tasks (an admin's: everyone's), newest
// first. It asks the store for one more task than the page holds: if it
// comes back, there is a next page and the cursor points past this one.
func handleListTasks(log *slog.Logger, tasks interface {
	List(ctx context.Context, f store.TaskFilter) ([]store.Task, error)
}) func(context.Context, *listTasksInput) (*listTasksOutput, error) {
	return func(ctx context.Context, in *listTasksInput) (*listTasksOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		limit := in.Limit
		if limit <= 0 {
			limit = defaultPageSize
		}
		f := store.TaskFilter{Status: in.Status, TaskType: in.TaskType, Priority: in.Priority, Limit: limit + 1}
		if !who.seesAll() {
			f.UserID = who.UserID
		}
		if in.Cursor != "" {
			before, ok := decodeCursor(in.Cursor)
			if !ok {
				return nil, validationProblem("query.cursor", "expected a cursor from a previous page's X-Next-Cursor", in.Cursor)
			}
			f.Before = before
		}
		ts, err := tasks.List(ctx, f)
		if err != nil {
			return nil, problemFor(ctx, log, err, details{})
		}

		out := &listTasksOutput{Body: make([]taskSummary, 0, min(len(ts), limit))}
		if len(ts) > limit {
			ts = ts[:limit]
			out.NextCursor = encodeCursor(ts[len(ts)-1].ID)
			out.Link = fmt.Sprintf("<%s>; rel=\"next\"", nextPageURL(in, limit, out.NextCursor))
		}
		for _, t := range ts {
			out.Body = append(out.Body, summaryOf(t))
		}
		return out, nil
	}
}

// encodeCursor makes the opaque cursor that resumes a listing after id.
// Clients must not read it: its encoding may change.
func encodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

// decodeCursor returns the id a cursor resumes after.
func decodeCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}
	id, err := uuid.Parse(string(b))
	if err != nil {
		return "", false
	}
	return id.String(), true
}

// nextPageURL is the relative URL of the next page: the same filters, the
// new cursor.
func nextPageURL(in *listTasksInput, limit int, cursor string) string {
	q := url.Values{}
	if in.Status != "" {
		q.Set("status", string(in.Status))
	}
	if in.TaskType != "" {
		q.Set("task_type", in.TaskType)
	}
	if in.Priority != "" {
		q.Set("priority", string(in.Priority))
	}
	q.Set("limit", strconv.Itoa(limit))
	q.Set("cursor", cursor)
	return "/tasks?" + q.Encode()
}
