// Command select is compare's select workload as the plain program a Go
// programmer writes: two producers on two channels of capacity <cap> (the
// first sends 1..=n/2, the second n/2+1..=n) and a done channel, closed
// once both producers have returned; one consumer, the main goroutine,
// selects over the three and sums what it receives. When done fires, the
// consumer takes what is still buffered without waiting (select with
// default) and stops.
//
// Usage: select <cap> <n>
//
// Run it on its own with `go run ./select 64 1000000` in benches/go: that
// is the number compare reports for Go.
package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"weirbench/internal/measure"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: select <cap> <n>")
		os.Exit(2)
	}
	capacity := measure.Atoi(os.Args[1])
	n := measure.Atoi(os.Args[2])
	csw := measure.VoluntaryCsw()

	start := time.Now()
	a := make(chan int, capacity)
	b := make(chan int, capacity)
	done := make(chan struct{})
	var wg sync.WaitGroup
	produce := func(out chan<- int, from, to int) {
		defer wg.Done()
		for i := from; i <= to; i++ {
			out <- i
		}
	}
	wg.Add(2)
	go produce(a, 1, n/2)
	go produce(b, n/2+1, n)
	go func() {
		wg.Wait()
		close(done)
	}()
	sum := consume(a, b, done)
	elapsed := time.Since(start)

	measure.Print(measure.Result{Elapsed: elapsed, Check: uint64(sum), Vcsw: measure.VoluntaryCsw() - csw})
}

// consume is the consumer's select loop.
func consume(a, b <-chan int, done <-chan struct{}) int {
	sum := 0
	for {
		select {
		case v := <-a:
			sum += v
		case v := <-b:
			sum += v
		case <-done:
			// Both producers have returned: what is left is buffered.
			for {
				select {
				case v := <-a:
					sum += v
				case v := <-b:
					sum += v
				default:
					return sum
				}
			}
		}
	}
}
