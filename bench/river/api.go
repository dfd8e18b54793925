package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// api is the HTTP face of the River side: the subset of YMERA's task API
// that `ymera bench` uses, with the same JSON shapes.
type api struct {
	client *river.Client[pgx.Tx]
	secret []byte
	parser *jwt.Parser
	ends   *jobEnds
}

func newAPI(client *river.Client[pgx.Tx], secret []byte) http.Handler {
	a := &api{
		client: client,
		secret: secret,
		ends:   watchJobEnds(client),
		// The same checks YMERA's gateway makes on every request: a fixed
		// algorithm, a signature, expiry and a subject.
		parser: jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired()),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/register", a.register)
	mux.HandleFunc("POST /tasks", a.createTask)
	mux.HandleFunc("GET /tasks/{id}", a.getTask)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return mux
}

// register accepts any body and issues a signed token for a new user id:
// the bench registers once, so there is nothing to store.
func (a *api) register(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		problem(w, http.StatusBadRequest, "body is not JSON")
		return
	}
	userID := randomID()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject:   userID,
		IssuedAt:  jwt.NewNumericDate(time.Now()),
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(24 * time.Hour)),
	}).SignedString(a.secret)
	if err != nil {
		problem(w, http.StatusInternalServerError, "cannot sign token")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"access_token": tok, "token_type": "bearer", "user_id": userID})
}

// authorize verifies the bearer token; it returns the user id.
func (a *api) authorize(r *http.Request) (string, bool) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	var claims jwt.RegisteredClaims
	if _, err := a.parser.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return a.secret, nil }); err != nil {
		return "", false
	}
	return claims.Subject, claims.Subject != ""
}

// taskRequest is YMERA's POST /tasks body, the fields the bench sends.
type taskRequest struct {
	Name       string          `json:"name"`
	TaskType   string          `json:"task_type"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// createTask inserts one River job in the request, as YMERA commits one task
// row per request, and answers once it is committed. With ?wait= it then
// waits for the job as getTask does and answers with it in task, as
// YMERA's POST /tasks?wait= does.
func (a *api) createTask(w http.ResponseWriter, r *http.Request) {
	userID, ok := a.authorize(r)
	if !ok {
		problem(w, http.StatusUnauthorized, "missing or invalid bearer token")
		return
	}
	wait, ok := parseWait(w, r)
	if !ok {
		return
	}
	var req taskRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" || req.TaskType == "" {
		problem(w, http.StatusUnprocessableEntity, "expected {name, task_type, parameters}")
		return
	}
	res, err := a.client.Insert(r.Context(), noopArgs{Name: req.Name, TaskType: req.TaskType, UserID: userID, Parameters: req.Parameters}, nil)
	if err != nil {
		problem(w, http.StatusServiceUnavailable, "insert failed")
		return
	}
	out := map[string]any{"task_id": strconv.FormatInt(res.Job.ID, 10), "status": "created"}
	if wait > 0 {
		// Created whatever happens now: a failed wait leaves task out.
		if task, err := a.awaitJob(r, res.Job.ID, wait); err == nil {
			out["task"] = task
		}
	}
	writeJSON(w, http.StatusCreated, out)
}

// getTask reports a job's state in YMERA's task vocabulary. With ?wait= (a
// duration up to 60 s) it answers as soon as the job has ended or once the
// wait is over, as YMERA's GET /tasks/{task_id}?wait= does.
func (a *api) getTask(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.authorize(r); !ok {
		problem(w, http.StatusUnauthorized, "missing or invalid bearer token")
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		problem(w, http.StatusBadRequest, "task id must be an integer")
		return
	}
	wait, ok := parseWait(w, r)
	if !ok {
		return
	}
	task, err := a.awaitJob(r, id, wait)
	switch {
	case errors.Is(err, river.ErrNotFound):
		problem(w, http.StatusNotFound, "no such task")
	case err != nil:
		problem(w, http.StatusServiceUnavailable, "lookup failed")
	default:
		writeJSON(w, http.StatusOK, task)
	}
}

// parseWait reads ?wait=, answering 400 for a bad value.
func parseWait(w http.ResponseWriter, r *http.Request) (time.Duration, bool) {
	v := r.URL.Query().Get("wait")
	if v == "" {
		return 0, true
	}
	wait, err := time.ParseDuration(v)
	if err != nil || wait < 0 || wait > time.Minute {
		problem(w, http.StatusBadRequest, "wait must be a duration from 0s to 60s")
		return 0, false
	}
	return wait, true
}

// awaitJob reads job id as a task, after waiting up to wait for it to end:
// told by River's job events, and reading the job again each second in
// case one was dropped.
func (a *api) awaitJob(r *http.Request, id int64, wait time.Duration) (map[string]any, error) {
	var ended <-chan struct{}
	if wait > 0 {
		// Before the first read, so that an end in between is not missed.
		ch, release := a.ends.await(id)
		defer release()
		ended = ch
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	recheck := time.NewTicker(time.Second)
	defer recheck.Stop()
	for {
		job, err := a.client.JobGet(r.Context(), id)
		if err != nil {
			return nil, err
		}
		status := taskStatus(job.State)
		if wait > 0 && !final(status) {
			select {
			case <-ended:
				continue
			case <-recheck.C:
				continue
			case <-r.Context().Done():
			case <-deadline.C:
			}
		}
		out := map[string]any{"id": strconv.FormatInt(id, 10), "status": status}
		if o := job.Output(); o != nil {
			out["result"] = json.RawMessage(o)
		}
		return out, nil
	}
}

// final reports whether a job in this (YMERA-worded) status has ended.
func final(status string) bool {
	switch status {
	case "completed", "cancelled", "failed":
		return true
	}
	return false
}

// jobEnds fans River's job events out to the requests waiting for those
// jobs.
type jobEnds struct {
	mu      sync.Mutex
	waiters map[int64][]chan struct{}
}

// watchJobEnds subscribes to the client's job events for as long as it
// runs.
func watchJobEnds(client *river.Client[pgx.Tx]) *jobEnds {
	e := &jobEnds{waiters: map[int64][]chan struct{}{}}
	events, _ := client.SubscribeConfig(&river.SubscribeConfig{
		Kinds:    []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled},
		ChanSize: 1 << 16,
	})
	go func() {
		for ev := range events {
			if ev.Job == nil {
				continue
			}
			e.mu.Lock()
			for _, ch := range e.waiters[ev.Job.ID] {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
			e.mu.Unlock()
		}
	}()
	return e
}

func (e *jobEnds) await(id int64) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	e.mu.Lock()
	e.waiters[id] = append(e.waiters[id], ch)
	e.mu.Unlock()
	return ch, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		ws := e.waiters[id]
		for i, c := range ws {
			if c == ch {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(e.waiters, id)
		} else {
			e.waiters[id] = ws
		}
	}
}

// taskStatus maps River's job states onto YMERA's task statuses.
func taskStatus(s rivertype.JobState) string {
	switch s {
	case rivertype.JobStateCompleted:
		return "completed"
	case rivertype.JobStateCancelled:
		return "cancelled"
	case rivertype.JobStateDiscarded:
		return "failed"
	case rivertype.JobStateRunning:
		return "running"
	case rivertype.JobStatePending:
		return "pending"
	default: // available, scheduled, retryable
		return "queued"
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// problem answers with an RFC 9457 body, as YMERA does.
func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail,
	})
}
