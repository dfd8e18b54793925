// Command listtasks measures GET /tasks against a running gateway whose
// PostgreSQL database it first fills with a large, realistic tasks table
// (docs/performance.md, "Measurements"). It is a measuring tool, not part
// of the product: the standard library and pgx only.
//
//	listtasks seed -dsn URL -rows 1000000 -owners id1,id2,...
//	listtasks measure -url http://127.0.0.1:8000 -user U -password P -status completed -n 2000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// seedSQL inserts $1 tasks in one statement. Ids are UUIDv7-shaped and
// time-ordered: the first 48 bits are the creation time in milliseconds (10
// ms apart, ending now), the rest is hashed from the row number, so the
// id order is the creation order as it is for tasks the gateway creates.
// Owners rotate through $2; statuses follow a mostly-finished mix.
const seedSQL = `
INSERT INTO tasks (id, name, task_type, parameters, priority, status, user_id,
                   attempts, created_at, started_at, completed_at, updated_at, result)
SELECT (lpad(to_hex(ms), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
       'task ' || i, tt, '{"n": 1}', pr, st, owner,
       CASE WHEN st IN ('pending', 'queued') THEN 0 ELSE 1 END,
       ts, CASE WHEN st IN ('pending', 'queued') THEN NULL ELSE ts END,
       CASE WHEN st IN ('pending', 'queued', 'running') THEN NULL ELSE ts + interval '20 ms' END,
       ts, CASE WHEN st = 'completed' THEN '{"ok": true}'::jsonb END
FROM (
  SELECT i, md5(i::text) AS h,
         (extract(epoch FROM now()) * 1000)::bigint - ($1::bigint - i) * 10 AS ms,
         now() - ($1::bigint - i) * interval '10 ms' AS ts,
         ($2::uuid[])[1 + i % cardinality($2::uuid[])] AS owner,
         (ARRAY['code_analysis', 'test_generation', 'documentation', 'security_scan', 'bench_noop'])[1 + (i / 7) % 5] AS tt,
         (ARRAY['low', 'normal', 'normal', 'normal', 'high', 'critical'])[1 + (i / 3) % 6] AS pr,
         CASE WHEN r < 70 THEN 'completed' WHEN r < 80 THEN 'failed' WHEN r < 85 THEN 'queued'
              WHEN r < 90 THEN 'pending' WHEN r < 93 THEN 'running' WHEN r < 97 THEN 'cancelled'
              WHEN r < 99 THEN 'timeout' ELSE 'dead_letter' END AS st
  FROM (SELECT i, abs(hashint4(i::int)) % 100 AS r FROM generate_series(1, $1::bigint) AS i) g
) s`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: listtasks seed|measure [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "seed":
		err = seed(os.Args[2:])
	case "measure":
		err = measure(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: expected seed or measure", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "listtasks:", err)
		os.Exit(1)
	}
}

func seed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	dsn := fs.String("dsn", "", "PostgreSQL URL of the migrated database")
	rows := fs.Int64("rows", 1_000_000, "tasks to insert")
	owners := fs.String("owners", "", "comma-separated user ids owning the tasks")
	_ = fs.Parse(args)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, *dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	t0 := time.Now()
	tag, err := conn.Exec(ctx, seedSQL, *rows, strings.Split(*owners, ","))
	if err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	ins := time.Since(t0)
	if _, err := conn.Exec(ctx, "ANALYZE tasks"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	fmt.Printf("inserted %d rows in %s, analyze %s\n", tag.RowsAffected(), ins.Round(time.Millisecond), (time.Since(t0) - ins).Round(time.Millisecond))
	return nil
}

func measure(args []string) error {
	fs := flag.NewFlagSet("measure", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:8000", "gateway base URL")
	user := fs.String("user", "", "username")
	pass := fs.String("password", "", "password")
	status := fs.String("status", "completed", "status filter")
	n := fs.Int("n", 2000, "sequential requests")
	_ = fs.Parse(args)
	c := &http.Client{Timeout: 30 * time.Second}
	body, _ := json.Marshal(map[string]string{"username": *user, "password": *pass})
	resp, err := c.Post(*base+"/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		return fmt.Errorf("login %s: status %d: %v", *user, resp.StatusCode, err)
	}
	get := func() (int, int, error) {
		req, _ := http.NewRequest(http.MethodGet, *base+"/tasks?status="+*status, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := c.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, len(b), err
	}
	for range 20 { // warm the connection and the caches
		if code, _, err := get(); err != nil || code != http.StatusOK {
			return fmt.Errorf("warm-up: status %d: %v", code, err)
		}
	}
	lat := make([]time.Duration, 0, *n)
	size := 0
	t0 := time.Now()
	for range *n {
		s := time.Now()
		code, l, err := get()
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("GET /tasks: status %d: %v", code, err)
		}
		lat = append(lat, time.Since(s))
		size = l
	}
	total := time.Since(t0)
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	fmt.Printf("user=%s status=%s n=%d body=%dB p50=%.2fms p95=%.2fms p99=%.2fms max=%.2fms req/s=%.0f\n",
		*user, *status, *n, size, q(0.50), q(0.95), q(0.99), q(1), float64(*n)/total.Seconds())
	return nil
}
