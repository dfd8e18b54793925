// Command httpfloor answers the requests of `ymera bench --url` and does
// nothing else: no authentication, no JSON read, no queue, no database.
// POST /tasks answers 201 with a new task id, and with the task completed
// too when it has ?wait=; GET /tasks/{id} answers 200 with the task
// completed. Driven by the same client as YMERA and River,
// it measures what the HTTP exchanges of a task alone cost the server and
// the client on a machine: the floor under any server of that shape
// (docs/performance.md, "The floor under the closed loop"). It is a tool,
// not the product.
//
//	go run ./bench/httpfloor -addr 127.0.0.1:18200 &
//	bin/ymera bench --url http://127.0.0.1:18200 --concurrency 256 --duration 10s --json
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18200", "address to listen on")
	flag.Parse()
	var next atomic.Uint64
	s := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) { answer(c, &next) }, Name: "httpfloor"}
	fmt.Println("httpfloor: listening on http://" + *addr)
	if err := s.ListenAndServe(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "httpfloor:", err)
		os.Exit(1)
	}
}

// answer gives each request the answer YMERA's API gives it, in shape
// only: the bench client reads task_id (and task.status) from a POST
// /tasks answer and status from a GET /tasks/{id} answer.
func answer(c *fasthttp.RequestCtx, next *atomic.Uint64) {
	path := c.Path()
	c.SetContentType("application/json")
	switch {
	case c.IsGet() && bytes.Equal(path, []byte("/health")):
		c.SetBodyString(`{"status":"healthy"}`)
	case c.IsPost() && bytes.Equal(path, []byte("/auth/register")):
		c.SetStatusCode(fasthttp.StatusCreated)
		c.SetBodyString(`{"access_token":"floor","user_id":"floor"}`)
	case c.IsPost() && bytes.Equal(path, []byte("/tasks")):
		c.SetStatusCode(fasthttp.StatusCreated)
		var id [20]byte
		c.Response.AppendBodyString(`{"task_id":"floor-`)
		n := next.Add(1)
		c.Response.AppendBody(strconv.AppendUint(id[:0], n, 10))
		c.Response.AppendBodyString(`","status":"created"`)
		if c.QueryArgs().Has("wait") {
			c.Response.AppendBodyString(`,"task":{"id":"floor-`)
			c.Response.AppendBody(strconv.AppendUint(id[:0], n, 10))
			c.Response.AppendBodyString(`","status":"completed"}`)
		}
		c.Response.AppendBodyString(`}`)
	case c.IsGet() && bytes.HasPrefix(path, []byte("/tasks/")):
		c.Response.AppendBodyString(`{"id":"`)
		c.Response.AppendBody(path[len("/tasks/"):])
		c.Response.AppendBodyString(`","status":"completed"}`)
	default:
		c.SetStatusCode(fasthttp.StatusNotFound)
		c.SetBodyString(`{"title":"Not Found","status":404}`)
	}
}
