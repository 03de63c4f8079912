// Command windowed is compare's windowed-count workload (11) as the plain
// program a Go programmer writes: a producer goroutine sends each event's
// key on a channel of capacity <cap>; the main goroutine counts keys into a
// map and, every <window> events, closes the window (adds its checksum and
// starts a new map). Nothing else runs in the process.
//
// Usage: windowed <cap> <n> <keys> <window>
//
// Event i has key ((i * 2654435761) & 0xffffffff) % keys, and a window's
// checksum is the sum over its keys of (key + 1) * count * count, as in
// benches/src/workloads/windowed.rs. Run it on its own with
// `go run ./windowed 1024 1000000 1000 10000` in benches/go.
package main

import (
	"fmt"
	"os"
	"time"

	"weirbench/internal/measure"
)

func key(i, keys uint64) uint64 {
	return ((i * 2654435761) & 0xffffffff) % keys
}

func windowCheck(counts map[uint64]uint64) uint64 {
	var check uint64
	for k, c := range counts {
		check += (k + 1) * c * c
	}
	return check
}

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: windowed <cap> <n> <keys> <window>")
		os.Exit(2)
	}
	capacity := measure.Atoi(os.Args[1])
	n := uint64(measure.Atoi(os.Args[2]))
	keys := uint64(measure.Atoi(os.Args[3]))
	window := uint64(measure.Atoi(os.Args[4]))

	start := time.Now()
	events := make(chan uint64, capacity)
	go func() {
		for i := uint64(0); i < n; i++ {
			events <- key(i, keys)
		}
		close(events)
	}()
	counts := make(map[uint64]uint64)
	var seen, check uint64
	for k := range events {
		counts[k]++
		seen++
		if seen == window {
			check += windowCheck(counts)
			counts = make(map[uint64]uint64)
			seen = 0
		}
	}
	check += windowCheck(counts)
	elapsed := time.Since(start)

	measure.Print(measure.Result{Elapsed: elapsed, Check: check})
}
