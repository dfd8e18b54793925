// Command wsreplay measures how long a WebSocket client waits for one
// task's events when it resumes that task's subscription from far back
// ("since": 1) on a running gateway: it registers a user, submits a
// bench_noop task, waits for it to end, then subscribes to the task -runs
// times with the given since and reports how long each took from the
// subscribe frame to the task's end event. With a full YMERA_EVENTS
// (bench/natsflood -events) this is the worst case of a replay
// (docs/performance.md, steps 15 and 16); it is a tool, not the product.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/google/uuid"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8000", "base URL of the running gateway")
	since := flag.Uint64("since", 1, "sequence each subscription resumes after")
	runs := flag.Int("runs", 5, "subscriptions to time")
	flag.Parse()
	if err := run(*base, *since, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "wsreplay:", err)
		os.Exit(1)
	}
}

func run(base string, since uint64, runs int) error {
	if runs < 1 {
		return fmt.Errorf("-runs %d: want at least 1", runs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	name := "replay_" + strings.ReplaceAll(uuid.NewString()[:12], "-", "")
	var account struct {
		AccessToken string `json:"access_token"`
	}
	if err := call(ctx, http.MethodPost, base+"/auth/register", "", map[string]string{
		"username": name, "email": name + "@bench.invalid", "password": "replay-" + uuid.NewString(),
	}, http.StatusCreated, &account); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	token := account.AccessToken
	var task struct {
		TaskID string `json:"task_id"`
		Status string `json:"status"`
	}
	if err := call(ctx, http.MethodPost, base+"/tasks", token, map[string]any{
		"name": "replay", "task_type": "bench_noop", "parameters": map[string]any{},
	}, http.StatusCreated, &task); err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	if err := call(ctx, http.MethodGet, base+"/tasks/"+task.TaskID+"?wait=30s", token, nil, http.StatusOK, &task); err != nil {
		return fmt.Errorf("wait for the task: %w", err)
	}
	if task.Status != "completed" {
		return fmt.Errorf("task %s ended %s, want completed", task.TaskID, task.Status)
	}

	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		return fmt.Errorf("dial %s: %w", wsURL, err)
	}
	defer conn.Close()
	took := make([]time.Duration, 0, runs)
	for range runs {
		d, events, err := replay(conn, task.TaskID, since)
		if err != nil {
			return err
		}
		fmt.Printf("since %d: %d events of task %s in %s\n", since, events, task.TaskID, d.Round(10*time.Microsecond))
		took = append(took, d)
	}
	slices.Sort(took)
	fmt.Printf("%d subscriptions: min %s, median %s, max %s\n", runs,
		took[0].Round(10*time.Microsecond), took[len(took)/2].Round(10*time.Microsecond), took[len(took)-1].Round(10*time.Microsecond))
	return nil
}

// replay subscribes (again) to the task from since and returns how long
// its end event took to arrive and how many of its events came.
func replay(conn *websocket.Conn, taskID string, since uint64) (time.Duration, int, error) {
	start := time.Now()
	sub := map[string]any{"type": "subscribe", "topic": "task", "id": taskID, "since": since}
	if err := conn.WriteJSON(sub); err != nil {
		return 0, 0, fmt.Errorf("subscribe: %w", err)
	}
	events := 0
	for {
		if err := conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
			return 0, 0, err
		}
		var f struct {
			Type    string `json:"type"`
			Message string `json:"message"`
			Event   struct {
				Type   string `json:"type"`
				TaskID string `json:"task_id"`
			} `json:"event"`
		}
		if err := conn.ReadJSON(&f); err != nil {
			return 0, 0, fmt.Errorf("read after subscribing: %w", err)
		}
		switch f.Type {
		case "error":
			return 0, 0, fmt.Errorf("subscribe refused: %s", f.Message)
		case "event":
			if f.Event.TaskID != taskID {
				continue
			}
			events++
			if f.Event.Type == "task.completed" {
				return time.Since(start), events, nil
			}
		}
	}
}

// call sends body as JSON and decodes an answer with status want into out.
func call(ctx context.Context, method, url, token string, body any, want int, out any) error {
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		var problem bytes.Buffer
		_, _ = problem.ReadFrom(resp.Body)
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, strings.TrimSpace(problem.String()))
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
