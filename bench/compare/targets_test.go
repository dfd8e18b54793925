package main

import (
	"testing"

	"github.com/ymera/ymera/internal/procstat"
)

func TestMedianReportTakesEachFigureApart(t *testing.T) {
	runs := []targetReport{
		{CompletedPerSec: 7000, P50ms: 1.0, P99ms: 9, RequestP99ms: 30, IdleRSSMB: 64, ReadyMS: 150,
			CPU: cpu{PerTask: procstat.PerTask{ProcessUSPerTask: 180, DatabaseUSPerTask: 70, MachineUSPerTask: 260}}},
		{CompletedPerSec: 5000, P50ms: 1.4, P99ms: 3, RequestP99ms: 20, IdleRSSMB: 62, ReadyMS: 190,
			CPU: cpu{PerTask: procstat.PerTask{ProcessUSPerTask: 220, DatabaseUSPerTask: 100, MachineUSPerTask: 330}}},
		{CompletedPerSec: 6000, P50ms: 1.2, P99ms: 4, RequestP99ms: 40, IdleRSSMB: 63, ReadyMS: 170,
			CPU: cpu{PerTask: procstat.PerTask{ProcessUSPerTask: 200, DatabaseUSPerTask: 80, MachineUSPerTask: 300}}},
	}
	got := medianReport(runs)
	want := targetReport{CompletedPerSec: 6000, P50ms: 1.2, P99ms: 4, RequestP99ms: 30, IdleRSSMB: 63, ReadyMS: 170,
		CPU: cpu{PerTask: procstat.PerTask{ProcessUSPerTask: 200, DatabaseUSPerTask: 80, MachineUSPerTask: 300}}}
	if got != want {
		t.Errorf("median of three runs:\n got %+v\nwant %+v", got, want)
	}

	// An even number of runs takes the mean of the middle two; one run is
	// itself.
	if got := medianReport(runs[:2]); got.CompletedPerSec != 6000 || got.P99ms != 6 || got.CPU.MachineUSPerTask != 295 {
		t.Errorf("median of two runs: %+v", got)
	}
	if got := medianReport(runs[1:2]); got != runs[1] {
		t.Errorf("median of one run: got %+v, want %+v", got, runs[1])
	}
}
