package procstat

import (
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Host names the machine a run was measured on, so that a figure carries
// it: `ymera bench --json` reports it as "machine", and `make
// bench-compare` prints it above its runs. A field that cannot be read
// (another OS, a /proc without it) is left empty.
type Host struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model,omitempty"` // the first "model name" of /proc/cpuinfo
	OSArch   string `json:"os_arch"`
	Kernel   string `json:"kernel,omitempty"` // /proc/sys/kernel/osrelease
	Go       string `json:"go"`
	// Load1 is the one-minute load average as the run began: how busy the
	// machine already was. Negative where it cannot be read.
	Load1 float64 `json:"load_1m"`
}

// ReadHost reads the Host under the proc file system at root ("/proc").
func ReadHost(root string) Host {
	h := Host{CPUs: runtime.NumCPU(), OSArch: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), Load1: -1}
	if b, err := os.ReadFile(root + "/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile(root + "/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(root + "/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if v, err := strconv.ParseFloat(f[0], 64); err == nil {
				h.Load1 = v
			}
		}
	}
	return h
}

// String is the Host on one line, such as "2 CPUs (AMD EPYC), linux/amd64,
// kernel 6.1.0, go1.26.8, load 0.42 at the start".
func (h Host) String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(h.CPUs) + " CPUs")
	if h.CPUModel != "" {
		b.WriteString(" (" + h.CPUModel + ")")
	}
	b.WriteString(", " + h.OSArch)
	if h.Kernel != "" {
		b.WriteString(", kernel " + h.Kernel)
	}
	b.WriteString(", " + h.Go)
	if h.Load1 >= 0 {
		b.WriteString(", load " + strconv.FormatFloat(h.Load1, 'f', 2, 64) + " at the start")
	}
	return b.String()
}
