//go:build race

package transport

// raceOn: the race detector makes sync.Pool drop items, so code that
// allocates nothing in a normal build (json.Valid's pooled scanner) can
// allocate under it.
const raceOn = true
