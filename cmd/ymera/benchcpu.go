package main

import "github.com/ymera/ymera/internal/procstat"

// benchCPU is the CPU a run cost per completed task, in microseconds: of
// this process (in process, the whole system with its clients; with --url,
// the clients alone), of the server at --url (its
// process_cpu_seconds_total, so with any other client's work on it; absent
// for a server that does not export it), of PostgreSQL when it runs on this
// machine (procstat.Postgres; absent on SQLite or when its processes cannot be
// seen), and of the whole machine (Linux: /proc/stat, every process on it,
// the database's included), with how busy the machine was. Throughput on a
// shared machine moves with its speed; the CPU a task costs moves much
// less, so it is what tells two builds apart (docs/performance.md, step 19).
type benchCPU struct {
	procstat.PerTask
	ServerUSPerTask float64 `json:"server_us_per_task,omitempty"`
}

// cpuReading is the CPU spent up to a moment: this process's, the
// machine's and PostgreSQL's (procstat), and the server's at --url.
type cpuReading struct {
	procstat.Reading
	server  float64 // the server's CPU seconds, when hasServ
	hasServ bool
}

// readCPU reads the CPU spent so far; the server's own figure only when it
// is another process (remote), PostgreSQL's only when the run's store is it
// (postgres).
func readCPU(server serverMetrics, remote, postgres bool) cpuReading {
	return cpuReading{Reading: procstat.Read(postgres), server: server.cpuSeconds, hasServ: remote && server.hasCPU}
}

// cpuBetween is what the run between a and b cost per task, for n tasks;
// nil with no task.
func cpuBetween(a, b cpuReading, n int) *benchCPU {
	if n <= 0 {
		return nil
	}
	c := &benchCPU{PerTask: b.Since(a.Reading, n)}
	if a.hasServ && b.hasServ && b.server >= a.server {
		c.ServerUSPerTask = (b.server - a.server) * 1e6 / float64(n)
	}
	return c
}
