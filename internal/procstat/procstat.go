// Package procstat reads the CPU that benchmarks charge to a task: this
// process's (getrusage), the PostgreSQL servers' on this machine and the
// whole machine's (Linux /proc); and it names the machine (Host). Throughput on a shared machine moves with
// its speed; the CPU a task costs moves much less, so it is what tells two
// builds apart (docs/performance.md, step 19). `ymera bench` and
// bench/pipefloor report it alike.
package procstat

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Reading is the CPU spent up to a moment.
type Reading struct {
	At   time.Time
	Self time.Duration // this process, user and system
	// Busy and Total are the machine's busy and total ticks over all CPUs;
	// both 0 where they cannot be read.
	Busy, Total float64
	DB          time.Duration // PostgreSQL's, when HasDB
	HasDB       bool
}

// Read takes a reading; PostgreSQL's CPU only when postgres is set (the
// run's store is it).
func Read(postgres bool) Reading {
	r := Reading{At: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		r.Self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if postgres {
		r.DB, r.HasDB = Postgres("/proc")
	}
	r.Busy, r.Total = Machine()
	return r
}

// PerTask is the CPU a run cost per task, in microseconds, under the
// names `ymera bench --json` reports it by; a figure that could not be
// read is 0 (and left out of the JSON).
type PerTask struct {
	ProcessUSPerTask  float64 `json:"process_us_per_task"`
	DatabaseUSPerTask float64 `json:"database_us_per_task,omitempty"`
	MachineUSPerTask  float64 `json:"machine_us_per_task,omitempty"`
	MachineBusyPct    float64 `json:"machine_busy_pct,omitempty"` // how busy the machine was, all CPUs
}

// Since is what happened between a and r, per task of n (n > 0).
func (r Reading) Since(a Reading, n int) PerTask {
	per := func(seconds float64) float64 { return seconds * 1e6 / float64(n) }
	p := PerTask{ProcessUSPerTask: per((r.Self - a.Self).Seconds())}
	if a.HasDB && r.HasDB && r.DB >= a.DB {
		p.DatabaseUSPerTask = per((r.DB - a.DB).Seconds())
	}
	if total := r.Total - a.Total; a.Total > 0 && total > 0 {
		frac := (r.Busy - a.Busy) / total
		p.MachineBusyPct = 100 * frac
		p.MachineUSPerTask = per(frac * r.At.Sub(a.At).Seconds() * float64(runtime.NumCPU()))
	}
	return p
}

// Machine reads the busy and total time of all CPUs from /proc/stat
// (user, nice, system, irq, softirq and steal are busy; idle and iowait
// are not); 0, 0 where there is none.
func Machine() (busy, total float64) {
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

// UserHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, 100 on
// every Linux architecture's ABI whatever the kernel's own tick rate.
const UserHZ = 100

// Postgres reads, under the proc file system at root, the CPU time of the
// PostgreSQL servers on this machine: that of every process whose command
// is postgres (the postmaster, its backends and helpers), and what each
// postmaster has reaped of the children that ended, so that the backends of
// a pool closed during the run count too. ok is false where there is no
// such process to see: a server on another machine, or one in a container
// whose processes this one cannot see.
func Postgres(root string) (cpu time.Duration, ok bool) {
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
		if ppid, own, reaped, ok := parseStat(string(stat)); ok {
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
	return time.Duration(ticks) * time.Second / UserHZ, true
}

// parseStat reads a /proc/<pid>/stat line: the parent's pid, the
// process's own user and system ticks, and those of its reaped children.
// The command, in parentheses, may hold spaces and parentheses itself, so
// the fields are counted from the last ')'.
func parseStat(line string) (ppid int, own, reaped int64, ok bool) {
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
