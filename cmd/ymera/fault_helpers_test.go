package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// faultLoad keeps submitting tasks to a serve process that may die and come back
// under it, and remembers every task it was answered 201 for: those are the
// tasks the platform promised to run.
type faultLoad struct {
	base, token string
	params      any
	c           *http.Client

	mu       sync.Mutex
	accepted []string
	refused  map[int]int // status → count, for answers other than 201
	noAnswer int         // connection refused or reset: the process was down
	missing  int         // 503 without Retry-After

	stop chan struct{}
	done chan struct{}
}

// startLoad submits bench_noop tasks with params every interval until stop.
func startLoad(base, token string, params any, every time.Duration) *faultLoad {
	l := &faultLoad{base: base, token: token, params: params, c: &http.Client{Timeout: 5 * time.Second},
		refused: map[int]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
				l.submitOnce()
			}
		}
	}()
	return l
}

func (l *faultLoad) submitOnce() {
	body, _ := json.Marshal(map[string]any{"name": "fault", "task_type": "bench_noop", "parameters": l.params})
	req, _ := http.NewRequest(http.MethodPost, l.base+"/tasks", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+l.token)
	resp, err := l.c.Do(req)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.noAnswer++
		return
	}
	defer resp.Body.Close()
	var out struct {
		TaskID string `json:"task_id"`
	}
	if resp.StatusCode == http.StatusCreated && json.NewDecoder(resp.Body).Decode(&out) == nil && out.TaskID != "" {
		l.accepted = append(l.accepted, out.TaskID)
		return
	}
	l.refused[resp.StatusCode]++
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		l.missing++
	}
}

// finish stops the load and returns the accepted task ids.
func (l *faultLoad) finish() []string {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.accepted...)
}

func (l *faultLoad) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d accepted, refused %v, %d unanswered", len(l.accepted), l.refused, l.noAnswer)
}

// checkAllOnce waits for every accepted task to be final and checks that
// each completed and has at most one completion event in YMERA_EVENTS.
// It returns how many were lost (not completed) and how many doubled.
func checkAllOnce(t *testing.T, a *apiClient, natsURL string, ids []string, timeout time.Duration) (lost, doubled int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, id := range ids {
		tv := a.waitFinal(id, time.Until(deadline))
		if tv.Status != "completed" {
			lost++
			t.Errorf("task %s ended %s: %s", id, tv.Status, tv.ErrorMessage)
		}
	}
	// Events are notifications published after the commit, best effort: a
	// process killed between its commit and the event leaves a completed
	// task with none. Two mean two commits.
	counts := completionEvents(t, natsURL)
	silent := 0
	for _, id := range ids {
		switch {
		case counts[id] > 1:
			doubled++
			t.Errorf("task %s has %d completion events, want 1", id, counts[id])
		case counts[id] == 0:
			silent++
		}
	}
	if silent > 0 {
		t.Logf("%d completed tasks have no completion event (killed between commit and event)", silent)
	}
	return lost, doubled
}

// waitExit waits for cmd to exit within d and returns its exit code, or -1
// (and kills it) when it did not.
func waitExit(cmd *exec.Cmd, d time.Duration) int {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return -1
	}
}
