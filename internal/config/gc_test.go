package config

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(before)
		debug.SetMemoryLimit(limit)
	})
	if got := TuneGC(func(string) string { return "" }); got != (GC{Percent: 800, MemoryLimit: 2 << 30}) {
		t.Fatalf("defaults: %+v", got)
	}
	// Set in the environment: the runtime read them at start; TuneGC
	// leaves them.
	debug.SetGCPercent(150)
	debug.SetMemoryLimit(1 << 30)
	env := map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}
	if got := TuneGC(func(k string) string { return env[k] }); got != (GC{Percent: 150, MemoryLimit: 1 << 30}) {
		t.Fatalf("from the environment: %+v", got)
	}
}
