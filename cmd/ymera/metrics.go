package main

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/runner"
)

// newRegistry returns the registry /metrics serves, with the Go runtime's
// and the process's collectors (memory, CPU, file descriptors) and the
// runtime's tasks_total.
func newRegistry() (*prometheus.Registry, *runner.TaskMetrics, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, nil, fmt.Errorf("metrics: %w", err)
		}
	}
	tasks, err := runner.NewTaskMetrics(reg)
	if err != nil {
		return nil, nil, err
	}
	return reg, tasks, nil
}

// poolStats reads the node's pools for the ymera_pool_* gauges.
func poolStats(n *runner.Node) func() []gateway.PoolStat {
	return func() []gateway.PoolStat {
		pools := n.Pools()
		out := make([]gateway.PoolStat, 0, len(pools))
		for _, p := range pools {
			st := p.Stats()
			out = append(out, gateway.PoolStat{Kind: p.Name(), Size: st.Size, Busy: st.Busy, Down: st.Down, Restarts: st.Restarts})
		}
		return out
	}
}
