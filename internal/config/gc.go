package config

import "runtime/debug"

// The Go collector's settings for this service, used unless the environment
// sets its own (GOGC, GOMEMLIMIT): `fuju serve`, the benchmark and the
// test binaries (testenv.Main) apply them. The service keeps a small live heap
// (about 30 MB for the demo city) and allocates fast: the embedded engine
// decodes every document it reads from JSON. With Go's default (a
// collection each time the heap doubles) it collected several times a
// second under desk load and the collector took a fifth of the CPU; at 800
// the heap may grow to nine times the live one (about 300 MB for the demo
// city) before a collection. The memory limit keeps a large city's heap
// under 2 GiB by collecting more often as it nears it; a deployment with
// a bigger heap or a smaller machine sets GOMEMLIMIT to its budget.
const (
	gcPercent   = 800
	memoryLimit = 2 << 30
)

// GC is what TuneGC left in force.
type GC struct {
	Percent     int   // GOGC
	MemoryLimit int64 // GOMEMLIMIT, bytes
}

// TuneGC applies the service's collector settings where getenv has none of
// its own, and returns those in force.
func TuneGC(getenv func(string) string) GC {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	percent := debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	return GC{Percent: percent, MemoryLimit: debug.SetMemoryLimit(-1)}
}
