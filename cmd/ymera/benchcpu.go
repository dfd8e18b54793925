package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// benchCPU is the CPU a run cost per completed task, in microseconds: of
// this process (in process, the whole system with its clients; with --url,
// the clients alone), of the server at --url (its
// process_cpu_seconds_total, so with any other client's work on it; absent
// for a server that does not export it),
// and of the whole machine (Linux: /proc/stat, every process on it, the
// database's included), with how busy the machine was. Throughput on a
// shared machine moves with its speed; the CPU a task costs moves much
// less, so it is what tells two builds apart (docs/performance.md, step 19).
type benchCPU struct {
	ProcessUSPerTask float64 `json:"process_us_per_task"`
	ServerUSPerTask  float64 `json:"server_us_per_task,omitempty"`
	MachineUSPerTask float64 `json:"machine_us_per_task,omitempty"`
	MachineBusyPct   float64 `json:"machine_busy_pct,omitempty"`
}

// cpuReading is the CPU spent up to a moment.
type cpuReading struct {
	at      time.Time
	self    time.Duration // this process, user and system
	busy    float64       // the machine's busy and total ticks, all CPUs (0: unknown)
	total   float64
	server  float64 // the server's CPU seconds, when hasServ
	hasServ bool
}

// readCPU reads the CPU spent so far; the server's own figure only when it
// is another process (remote).
func readCPU(server serverMetrics, remote bool) cpuReading {
	r := cpuReading{at: time.Now(), server: server.cpuSeconds, hasServ: remote && server.hasCPU}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		r.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	r.busy, r.total = machineTicks()
	return r
}

// cpuBetween is what the run between a and b cost per task, for n tasks;
// nil with no task.
func cpuBetween(a, b cpuReading, n int) *benchCPU {
	if n <= 0 {
		return nil
	}
	per := func(seconds float64) float64 { return seconds * 1e6 / float64(n) }
	c := &benchCPU{ProcessUSPerTask: per((b.self - a.self).Seconds())}
	if a.hasServ && b.hasServ && b.server >= a.server {
		c.ServerUSPerTask = per(b.server - a.server)
	}
	if total := b.total - a.total; a.total > 0 && total > 0 {
		frac := (b.busy - a.busy) / total
		c.MachineBusyPct = 100 * frac
		c.MachineUSPerTask = per(frac * b.at.Sub(a.at).Seconds() * float64(runtime.NumCPU()))
	}
	return c
}

// machineTicks reads the busy and total time of all CPUs from /proc/stat
// (user, nice, system, irq, softirq and steal are busy; idle and iowait
// are not); 0, 0 where there is none.
func machineTicks() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	var v [8]float64
	for i := range v {
		if v[i], err = strconv.ParseFloat(f[i+1], 64); err != nil {
			return 0, 0
		}
	}
	user, nice, system, idle, iowait, irq, softirq, steal := v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
	busy = user + nice + system + irq + softirq + steal
	return busy, busy + idle + iowait
}
