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
// for a server that does not export it), of PostgreSQL when it runs on this
// machine (postgresCPU; absent on SQLite or when its processes cannot be
// seen), and of the whole machine (Linux: /proc/stat, every process on it,
// the database's included), with how busy the machine was. Throughput on a
// shared machine moves with its speed; the CPU a task costs moves much
// less, so it is what tells two builds apart (docs/performance.md, step 19).
type benchCPU struct {
	ProcessUSPerTask  float64 `json:"process_us_per_task"`
	ServerUSPerTask   float64 `json:"server_us_per_task,omitempty"`
	DatabaseUSPerTask float64 `json:"database_us_per_task,omitempty"`
	MachineUSPerTask  float64 `json:"machine_us_per_task,omitempty"`
	MachineBusyPct    float64 `json:"machine_busy_pct,omitempty"`
}

// cpuReading is the CPU spent up to a moment.
type cpuReading struct {
	at      time.Time
	self    time.Duration // this process, user and system
	busy    float64       // the machine's busy and total ticks, all CPUs (0: unknown)
	total   float64
	server  float64 // the server's CPU seconds, when hasServ
	hasServ bool
	db      time.Duration // PostgreSQL's, when hasDB
	hasDB   bool
}

// readCPU reads the CPU spent so far; the server's own figure only when it
// is another process (remote), PostgreSQL's only when the run's store is it
// (postgres).
func readCPU(server serverMetrics, remote, postgres bool) cpuReading {
	r := cpuReading{at: time.Now(), server: server.cpuSeconds, hasServ: remote && server.hasCPU}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		r.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if postgres {
		r.db, r.hasDB = postgresCPU("/proc")
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
	if a.hasDB && b.hasDB && b.db >= a.db {
		c.DatabaseUSPerTask = per((b.db - a.db).Seconds())
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

// userHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, 100 on
// every Linux architecture's ABI whatever the kernel's own tick rate.
const userHZ = 100

// postgresCPU reads, under the proc file system at root, the CPU time of the
// PostgreSQL servers on this machine: that of every process whose command
// is postgres (the postmaster, its backends and helpers), and what each
// postmaster has reaped of the children that ended, so that the backends of
// a pool closed during the run count too. ok is false where there is no
// such process to see: a server on another machine, or one in a container
// whose processes this one cannot see.
func postgresCPU(root string) (cpu time.Duration, ok bool) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return 0, false
	}
	type proc struct {
		ppid        int
		own, reaped int64 // ticks
	}
	procs := make(map[int]proc)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(root + "/" + e.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		stat, err := os.ReadFile(root + "/" + e.Name() + "/stat")
		if err != nil {
			continue // ended meanwhile: its parent has it now
		}
		if ppid, own, reaped, ok := parseProcStat(string(stat)); ok {
			procs[pid] = proc{ppid: ppid, own: own, reaped: reaped}
		}
	}
	if len(procs) == 0 {
		return 0, false
	}
	var ticks int64
	for _, p := range procs {
		ticks += p.own
		if _, child := procs[p.ppid]; !child {
			ticks += p.reaped // a postmaster: its ended backends
		}
	}
	return time.Duration(ticks) * time.Second / userHZ, true
}

// parseProcStat reads a /proc/<pid>/stat line: the parent's pid, the
// process's own user and system ticks, and those of its reaped children.
// The command, in parentheses, may hold spaces and parentheses itself, so
// the fields are counted from the last ')'.
func parseProcStat(line string) (ppid int, own, reaped int64, ok bool) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(line[i+1:])
	// f[0] is the state, f[1] the parent; utime, stime, cutime and cstime
	// are f[11] to f[14] (fields 14 to 17 of proc(5)).
	if len(f) < 15 {
		return 0, 0, 0, false
	}
	var v [4]int64
	for k := range v {
		n, err := strconv.ParseInt(f[11+k], 10, 64)
		if err != nil {
			return 0, 0, 0, false
		}
		v[k] = n
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, 0, false
	}
	return ppid, v[0] + v[1], v[2] + v[3], true
}
