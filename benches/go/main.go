// Command weirbench runs the Go side of weir's side-by-side benchmarks.
//
// The patterns are the seed's own code (worker pool, fan-out/fan-in,
// pipeline, context cancellation), with every channel created as
// make(chan T, cap): cap 0 is the seed exactly as written (unbuffered),
// cap 1024 is the buffered variant.
//
// Usage: weirbench <workload> <cap> <n> [param]
//
//	pipeline <cap> <n>          gen(1..=n) -> square -> sum
//	hop      <cap> <n>          one producer goroutine, one consumer
//	pool     <cap> <n> <w> <k>  processJobs with w workers, n jobs of spin(k)
//	fan      <cap> <n>          gen -> fanOut(4 squaring workers) -> fanIn -> sum
//	cancel   <cap> <trials>     10-stage pipeline with full buffers: cancel -> all ended
//	latency  <cap> <trials>     one item through an idle 3-stage pipeline
//	million  <cap> <n>          n workers blocked on one jobs channel: spawn + shutdown
//	spin     <cap> <n> <k>      calibration: n jobs' spin(k) in a plain loop (cap ignored)
//
// The hand-written pipeline and the select loop are separate plain
// programs (./handpipe, ./select), so that their numbers are those of the
// program a Go programmer writes and reproduce with `go run`.
//
// It prints one line: "RESULT key=value ..." (elapsed_ns, check, p50_ns,
// p99_ns, shutdown_ns, rss_kb, vcsw), the format the Rust harness also uses.
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"weirbench/internal/measure"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: weirbench <workload> <cap> <n> [param...]")
		os.Exit(2)
	}
	workload := os.Args[1]
	capacity := atoi(os.Args[2])
	n := atoi(os.Args[3])
	var r result
	switch workload {
	case "pipeline":
		r = runPipeline(capacity, n)
	case "hop":
		r = runHop(capacity, n)
	case "pool":
		if len(os.Args) < 6 {
			fmt.Fprintln(os.Stderr, "pool needs <w> <k>")
			os.Exit(2)
		}
		r = runPool(capacity, n, atoi(os.Args[4]), atoi(os.Args[5]))
	case "fan":
		r = runFan(capacity, n)
	case "cancel":
		r = runCancel(capacity, n)
	case "latency":
		r = runLatency(capacity, n)
	case "million":
		r = runMillion(capacity, n)
	case "spin":
		if len(os.Args) < 5 {
			fmt.Fprintln(os.Stderr, "spin needs <k>")
			os.Exit(2)
		}
		r = runSpin(n, atoi(os.Args[4]))
	default:
		fmt.Fprintln(os.Stderr, "unknown workload", workload)
		os.Exit(2)
	}
	measure.Print(r)
}

type result = measure.Result

func atoi(s string) int { return measure.Atoi(s) }

// spin is the CPU work of one job: k rounds of x = (x ^ (x >> 31)) * M + 1,
// a dependent non-linear chain. The Rust side (weir_benches::work::spin) is
// the same function with the same k.
func spin(x uint64, k int) uint64 {
	for i := 0; i < k; i++ {
		x = (x^(x>>31))*0xbf58476d1ce4e5b9 + 1
	}
	return x
}

// ---- the seed's pipeline pattern -------------------------------------------

// gen is the seed's pipeline(data) stage, generating 1..=n instead of
// ranging over a slice so that memory stays bounded at any n.
func gen(n int, capacity int) <-chan int {
	out := make(chan int, capacity)
	go func() {
		defer close(out)
		for i := 1; i <= n; i++ {
			out <- i
		}
	}()
	return out
}

// square is the seed's square stage.
func square(in <-chan int, capacity int) <-chan int {
	out := make(chan int, capacity)
	go func() {
		defer close(out)
		for n := range in {
			out <- n * n
		}
	}()
	return out
}

func runPipeline(capacity, n int) result {
	start := time.Now()
	sum := 0
	for v := range square(gen(n, capacity), capacity) {
		sum += v
	}
	return result{Elapsed: time.Since(start), Check: uint64(sum)}
}

// ---- channel hop -------------------------------------------------------------

func runHop(capacity, n int) result {
	start := time.Now()
	ch := make(chan uint64, capacity)
	go func() {
		defer close(ch)
		for i := 0; i < n; i++ {
			ch <- uint64(i)
		}
	}()
	var sum uint64
	for v := range ch {
		sum += v
	}
	return result{Elapsed: time.Since(start), Check: sum}
}

// ---- the seed's worker pool ----------------------------------------------------

// Job is one unit of work for processJobs.
type Job struct {
	x uint64
	k int
}

// Result is what a job produces.
type Result uint64

// Process runs the job's CPU work.
func (j Job) Process() Result { return Result(spin(j.x, j.k)) }

// processJobs is the seed's worker pool, exactly as written.
func processJobs(jobs <-chan Job, results chan<- Result, numWorkers int) {
	var wg sync.WaitGroup

	for i := 0; i < numWorkers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				result := job.Process()
				results <- result
			}
		}()
	}

	wg.Wait()
	close(results)
}

func runPool(capacity, n, workers, k int) result {
	start := time.Now()
	jobs := make(chan Job, capacity)
	results := make(chan Result, capacity)
	go func() {
		defer close(jobs)
		for i := 0; i < n; i++ {
			jobs <- Job{x: uint64(i), k: k}
		}
	}()
	go processJobs(jobs, results, workers)
	var sum uint64
	for r := range results {
		sum += uint64(r)
	}
	return result{Elapsed: time.Since(start), Check: sum}
}

// ---- the seed's fan-out / fan-in -----------------------------------------------

// worker is the squaring worker fanOut starts (the seed leaves it
// undefined; it is the square stage).
func worker(input <-chan int, capacity int) <-chan int {
	return square(input, capacity)
}

// fanOut is the seed's fanOut: every worker reads the same input.
func fanOut(input <-chan int, workers int, capacity int) []<-chan int {
	outputs := make([]<-chan int, workers)

	for i := 0; i < workers; i++ {
		outputs[i] = worker(input, capacity)
	}

	return outputs
}

// fanIn is the seed's fanIn: one forwarding goroutine per input.
func fanIn(capacity int, channels ...<-chan int) <-chan int {
	out := make(chan int, capacity)
	var wg sync.WaitGroup

	for _, ch := range channels {
		wg.Add(1)
		go func(c <-chan int) {
			defer wg.Done()
			for n := range c {
				out <- n
			}
		}(ch)
	}

	go func() {
		wg.Wait()
		close(out)
	}()

	return out
}

func runFan(capacity, n int) result {
	start := time.Now()
	sum := 0
	for v := range fanIn(capacity, fanOut(gen(n, capacity), 4, capacity)...) {
		sum += v
	}
	return result{Elapsed: time.Since(start), Check: uint64(sum)}
}

// ---- cancellation latency ------------------------------------------------------

const cancelStages = 10

func percentiles(samples []time.Duration) (time.Duration, time.Duration) {
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	idx := func(p float64) int {
		i := int(p*float64(len(samples))+0.5) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(samples) {
			i = len(samples) - 1
		}
		return i
	}
	return samples[idx(0.50)], samples[idx(0.99)]
}

func runCancel(capacity, trials int) result {
	samples := make([]time.Duration, 0, trials)
	start := time.Now()
	var check uint64
	for t := 0; t < trials; t++ {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		chans := make([]chan uint64, cancelStages)
		for i := range chans {
			chans[i] = make(chan uint64, capacity)
		}
		wg.Add(1)
		go func(out chan<- uint64) { // source
			defer wg.Done()
			for i := uint64(0); ; i++ {
				select {
				case out <- i:
				case <-ctx.Done():
					return
				}
			}
		}(chans[0])
		for s := 1; s < cancelStages; s++ {
			wg.Add(1)
			go func(in <-chan uint64, out chan<- uint64) { // forwarding stage
				defer wg.Done()
				for {
					select {
					case v, ok := <-in:
						if !ok {
							return
						}
						select {
						case out <- v:
						case <-ctx.Done():
							return
						}
					case <-ctx.Done():
						return
					}
				}
			}(chans[s-1], chans[s])
		}
		// Nobody reads the last channel: wait until every buffer is full,
		// then give the stages a moment to park on their sends. (time.Sleep
		// rounds up to ~1 ms on Linux; a runtime.Gosched spin instead keeps
		// a P busy and makes filling the buffers take ~20 ms per trial.)
		for {
			full := true
			for _, c := range chans {
				if len(c) != cap(c) {
					full = false
					break
				}
			}
			if full {
				break
			}
			time.Sleep(10 * time.Microsecond)
		}
		time.Sleep(100 * time.Microsecond)
		t0 := time.Now()
		cancel()
		wg.Wait()
		samples = append(samples, time.Since(t0))
		check += uint64(len(chans[cancelStages-1]))
	}
	p50, p99 := percentiles(samples)
	return result{Elapsed: time.Since(start), Check: check, P50: p50, P99: p99}
}

// ---- latency through an idle 3-stage pipeline ----------------------------------

func runLatency(capacity, trials int) result {
	const stages = 3
	chans := make([]chan uint64, stages+1)
	for i := range chans {
		chans[i] = make(chan uint64, capacity)
	}
	for s := 0; s < stages; s++ {
		go func(in <-chan uint64, out chan<- uint64) {
			defer close(out)
			for v := range in {
				out <- v + 1
			}
		}(chans[s], chans[s+1])
	}
	samples := make([]time.Duration, 0, trials)
	start := time.Now()
	var check uint64
	for t := 0; t < trials; t++ {
		time.Sleep(500 * time.Microsecond) // let the pipeline go idle (~1 ms on Linux)
		t0 := time.Now()
		chans[0] <- uint64(t)
		v := <-chans[stages]
		samples = append(samples, time.Since(t0))
		check += v
	}
	close(chans[0])
	p50, p99 := percentiles(samples)
	return result{Elapsed: time.Since(start), Check: check, P50: p50, P99: p99}
}

// ---- calibration: the jobs' work in a plain loop ---------------------------------

func runSpin(n, k int) result {
	start := time.Now()
	var sum uint64
	for i := 0; i < n; i++ {
		sum += spin(uint64(i), k)
	}
	return result{Elapsed: time.Since(start), Check: sum}
}

// ---- a million workers -----------------------------------------------------------

func runMillion(capacity, n int) result {
	start := time.Now()
	jobs := make(chan Job, capacity)
	var wg, ready sync.WaitGroup
	var started int64
	ready.Add(n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			atomic.AddInt64(&started, 1)
			ready.Done()
			for job := range jobs {
				_ = job.Process()
			}
		}()
	}
	// Every worker is running (and about to block on jobs): shut down.
	ready.Wait()
	t0 := time.Now()
	close(jobs)
	wg.Wait()
	return result{Elapsed: time.Since(start), Shutdown: time.Since(t0), Check: uint64(atomic.LoadInt64(&started))}
}
