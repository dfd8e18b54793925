package store

// Page sizes for every List method. A caller that asks for nothing gets
// DefaultLimit; a caller that asks for more than MaxLimit gets MaxLimit, so no
// request can make the database materialise an unbounded result.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Limit clamps a requested page size to [1, MaxLimit], mapping zero or a
// negative value to DefaultLimit. Backends apply it so that the bound holds
// whatever the caller passed.
func Limit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}
