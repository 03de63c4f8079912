// Command handpipe is compare's hand-written pipeline (workload 9) as the
// plain program a Go programmer writes: gen -> square -> sum, one goroutine
// per stage (the main goroutine sums), two channels of capacity <cap>, one
// send and one receive per item. Nothing else runs in the process.
//
// Usage: handpipe <cap> <n>
//
// The timed section is everything from making the channels to the sum;
// the context-switch count and the RESULT line are outside it. Run it on
// its own with `go run ./handpipe 1024 10000000` in benches/go: that is
// the number compare reports for Go.
package main

import (
	"fmt"
	"os"
	"time"

	"weirbench/internal/measure"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: handpipe <cap> <n>")
		os.Exit(2)
	}
	capacity := measure.Atoi(os.Args[1])
	n := measure.Atoi(os.Args[2])
	csw := measure.VoluntaryCsw()

	start := time.Now()
	nums := make(chan int, capacity)
	squares := make(chan int, capacity)
	go func() {
		for i := 1; i <= n; i++ {
			nums <- i
		}
		close(nums)
	}()
	go func() {
		for v := range nums {
			squares <- v * v
		}
		close(squares)
	}()
	sum := 0
	for v := range squares {
		sum += v
	}
	elapsed := time.Since(start)

	measure.Print(measure.Result{Elapsed: elapsed, Check: uint64(sum), Vcsw: measure.VoluntaryCsw() - csw})
}
