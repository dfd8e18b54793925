package procstat

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestReadHost reads a made-up /proc, and one where nothing can be read.
func TestReadHost(t *testing.T) {
	root := t.TempDir()
	for name, body := range map[string]string{
		"cpuinfo":              "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n",
		"sys/kernel/osrelease": "6.1.0-test\n",
		"loadavg":              "1.25 0.80 0.40 2/131 4242\n",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := ReadHost(root)
	want := Host{CPUs: runtime.NumCPU(), CPUModel: "AMD EPYC 7B13", OSArch: runtime.GOOS + "/" + runtime.GOARCH,
		Kernel: "6.1.0-test", Go: runtime.Version(), Load1: 1.25}
	if h != want {
		t.Errorf("ReadHost = %+v, want %+v", h, want)
	}
	if got, want := h.String(), h.Go; got == "" || !contains(got, "(AMD EPYC 7B13)", "kernel 6.1.0-test", want, "load 1.25 at the start") {
		t.Errorf("String = %q", got)
	}

	bare := ReadHost(filepath.Join(root, "missing"))
	if bare.CPUModel != "" || bare.Kernel != "" || bare.Load1 >= 0 || bare.CPUs < 1 || bare.Go == "" {
		t.Errorf("ReadHost of a missing /proc = %+v, want the runtime's fields alone and Load1 < 0", bare)
	}
	if got := bare.String(); contains(got, "load") || contains(got, "kernel") || contains(got, "(") {
		t.Errorf("String of a bare Host = %q, names what could not be read", got)
	}
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
