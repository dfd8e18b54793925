package gateway

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/ymera/ymera/actors"
)

// unmatchedEndpoint is the endpoint label of requests no route served, so
// that scanners probing random paths cannot grow the label set.
const unmatchedEndpoint = "unmatched"

// PoolStat is one agent pool's state, for the ymera_pool_* gauges.
type PoolStat struct {
	// Kind is the agent kind the pool runs.
	Kind string
	// Size, Busy and Down count actors: configured, processing a task,
	// stopped after exhausting their restart budget.
	Size, Busy, Down int
	// Restarts counts actor restarts since the pool started.
	Restarts int
}

// httpMetrics records the seed's http_requests_total and
// http_request_duration_seconds. The endpoint label is the route pattern
// (/tasks/{task_id}), never the raw path. Recording allocates nothing once
// a route and status have been seen: each route's label children are made
// on first use and kept.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// routes maps each *fiber.Route that ended a request to its
	// *routeMetrics; unmatched holds those of requests no route served, by
	// method.
	routes, unmatched sync.Map
	// endpoints are the routes that serve requests, as opposed to
	// middleware: Fiber's Route does not export which is which.
	endpointsOnce sync.Once
	endpoints     map[routeID]bool
}

// routeID names a route by method and path pattern.
type routeID struct{ method, path string }

// routeMetrics are the label children of one route.
type routeMetrics struct {
	method, endpoint string
	duration         prometheus.Observer
	requests         *prometheus.CounterVec
	// byStatus holds the counter of each status code 100-599, made on
	// first use.
	byStatus [500]atomic.Pointer[prometheus.Counter]
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status.",
		}, []string{"method", "endpoint", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time from receiving a request to having its answer, by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "endpoint"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("gateway: register HTTP metrics: %w", err)
		}
	}
	return m, nil
}

// middleware records every request. It runs outside the request logger,
// which turns errors into responses, so the status it reads is the one
// sent.
func (m *httpMetrics) middleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		rm := m.forRoute(c)
		rm.duration.Observe(time.Since(start).Seconds())
		rm.count(c.Response().StatusCode())
		return err
	}
}

// forRoute returns the label children of the route that ended c: the
// route that served it or, when only middleware ran (Fiber's 404 and 405),
// the unmatched entry of its method.
func (m *httpMetrics) forRoute(c *fiber.Ctx) *routeMetrics {
	r := c.Route()
	if v, ok := m.routes.Load(r); ok {
		return v.(*routeMetrics)
	}
	var rm *routeMetrics
	if m.isEndpoint(c.App(), r) {
		rm = m.newRouteMetrics(r.Method, routePattern(r.Path))
	} else {
		method := knownMethod(c.Method())
		v, _ := m.unmatched.LoadOrStore(method, m.newRouteMetrics(method, unmatchedEndpoint))
		rm = v.(*routeMetrics)
	}
	v, _ := m.routes.LoadOrStore(r, rm)
	return v.(*routeMetrics)
}

func (m *httpMetrics) newRouteMetrics(method, endpoint string) *routeMetrics {
	return &routeMetrics{
		method:   method,
		endpoint: endpoint,
		duration: m.duration.WithLabelValues(method, endpoint),
		requests: m.requests,
	}
}

// isEndpoint reports whether r serves requests rather than being
// middleware. The routes are all registered before the first request.
func (m *httpMetrics) isEndpoint(app *fiber.App, r *fiber.Route) bool {
	m.endpointsOnce.Do(func() {
		m.endpoints = make(map[routeID]bool)
		for _, e := range app.GetRoutes(true) {
			m.endpoints[routeID{e.Method, e.Path}] = true
		}
	})
	return m.endpoints[routeID{r.Method, r.Path}]
}

// count adds one request answered with status.
func (rm *routeMetrics) count(status int) {
	if status < 100 || status > 599 {
		status = 599
	}
	slot := &rm.byStatus[status-100]
	if p := slot.Load(); p != nil {
		(*p).Inc()
		return
	}
	c := rm.requests.WithLabelValues(rm.method, rm.endpoint, strconv.Itoa(status))
	slot.CompareAndSwap(nil, &c)
	c.Inc()
}

// knownMethod bounds the method label of unmatched requests.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// routePattern turns Fiber's /tasks/:task_id back into the OpenAPI form
// /tasks/{task_id}.
func routePattern(path string) string {
	if !strings.Contains(path, ":") {
		return path
	}
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			parts[i] = "{" + strings.TrimSuffix(name, "?") + "}"
		}
	}
	return strings.Join(parts, "/")
}

// poolCollector reports the agent pools' gauges, reading them when
// Prometheus scrapes rather than keeping copies up to date.
type poolCollector struct {
	stats                      func() []PoolStat
	size, busy, down, restarts *prometheus.Desc
}

func newPoolCollector(stats func() []PoolStat) *poolCollector {
	kind := []string{"kind"}
	return &poolCollector{
		stats:    stats,
		size:     prometheus.NewDesc("ymera_pool_size", "Actors configured per agent kind.", kind, nil),
		busy:     prometheus.NewDesc("ymera_pool_busy", "Actors processing a task, per agent kind.", kind, nil),
		down:     prometheus.NewDesc("ymera_pool_down", "Actors stopped after exhausting their restart budget, per agent kind.", kind, nil),
		restarts: prometheus.NewDesc("ymera_pool_restarts_total", "Actor restarts per agent kind.", kind, nil),
	}
}

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- p.size
	ch <- p.busy
	ch <- p.down
	ch <- p.restarts
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range p.stats() {
		ch <- prometheus.MustNewConstMetric(p.size, prometheus.GaugeValue, float64(s.Size), s.Kind)
		ch <- prometheus.MustNewConstMetric(p.busy, prometheus.GaugeValue, float64(s.Busy), s.Kind)
		ch <- prometheus.MustNewConstMetric(p.down, prometheus.GaugeValue, float64(s.Down), s.Kind)
		ch <- prometheus.MustNewConstMetric(p.restarts, prometheus.CounterValue, float64(s.Restarts), s.Kind)
	}
}

// countingSubmitter counts the tasks the API accepted in
// ymera_tasks_submitted_total{type}.
type countingSubmitter struct {
	Submitter
	submitted *prometheus.CounterVec
}

func (s countingSubmitter) Submit(ctx context.Context, t actors.Task) error {
	err := s.Submitter.Submit(ctx, t)
	if err == nil {
		s.submitted.WithLabelValues(t.Type).Inc()
	}
	return err
}

// setupMetrics registers the gateway's metrics with reg: the HTTP ones,
// the pools' gauges when stats is set, and the submitted-task counter
// (wrapping s.opts.Submitter, before routes uses it).
func (s *Server) setupMetrics(reg *prometheus.Registry, stats func() []PoolStat) (*httpMetrics, error) {
	hm, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, err
	}
	if stats != nil {
		if err := reg.Register(newPoolCollector(stats)); err != nil {
			return nil, fmt.Errorf("gateway: register pool metrics: %w", err)
		}
	}
	submitted := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ymera_tasks_submitted_total",
		Help: "Tasks accepted by POST /tasks, by task type.",
	}, []string{"type"})
	if err := reg.Register(submitted); err != nil {
		return nil, fmt.Errorf("gateway: register task metrics: %w", err)
	}
	s.opts.Submitter = countingSubmitter{Submitter: s.opts.Submitter, submitted: submitted}
	return hm, nil
}

type metricsOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

// handleMetrics answers GET /metrics in the Prometheus text format.
func handleMetrics(log *slog.Logger, g prometheus.Gatherer) func(context.Context, *struct{}) (*metricsOutput, error) {
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	return func(ctx context.Context, _ *struct{}) (*metricsOutput, error) {
		families, err := g.Gather()
		if err != nil {
			// Gather returns what it could along with the error: serve that.
			log.WarnContext(ctx, "gateway: gathering metrics", "request_id", requestIDFrom(ctx), "err", err)
		}
		var buf bytes.Buffer
		enc := expfmt.NewEncoder(&buf, format)
		for _, f := range families {
			if err := enc.Encode(f); err != nil {
				return nil, fmt.Errorf("gateway: encode metrics: %w", err)
			}
		}
		return &metricsOutput{ContentType: string(format), Body: buf.Bytes()}, nil
	}
}

// metricsRoute registers GET /metrics.
func (s *Server) metricsRoute() {
	huma.Register(s.api, huma.Operation{OperationID: "metrics", Method: http.MethodGet, Path: "/metrics",
		Summary: "Prometheus metrics", Tags: []string{"health"},
		Description: "http_requests_total, http_request_duration_seconds, tasks_total and the ymera_* gauges, " +
			"in the Prometheus text exposition format.",
		Responses: map[string]*huma.Response{"200": {
			Description: "Metrics in the Prometheus text format",
			Content:     map[string]*huma.MediaType{"text/plain": {Schema: &huma.Schema{Type: "string"}}},
		}}},
		handleMetrics(s.log, s.registry))
}
