// Package measure holds what every weirbench Go program does outside its
// timed section: read the process's peak RSS and voluntary context
// switches from /proc, and print the one "RESULT key=value ..." line the
// Rust harness parses.
package measure

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Result is what one run measured.
type Result struct {
	Elapsed  time.Duration
	Check    uint64
	P50, P99 time.Duration
	Shutdown time.Duration
	RssKB    int64
	Vcsw     int64
}

// Print fills in the peak RSS and prints the RESULT line.
func Print(r Result) {
	r.RssKB = VmHWM()
	fmt.Printf("RESULT elapsed_ns=%d check=%d p50_ns=%d p99_ns=%d shutdown_ns=%d rss_kb=%d vcsw=%d\n",
		r.Elapsed.Nanoseconds(), r.Check, r.P50.Nanoseconds(), r.P99.Nanoseconds(),
		r.Shutdown.Nanoseconds(), r.RssKB, r.Vcsw)
}

// Atoi parses a command-line number or exits with status 2.
func Atoi(s string) int {
	v, err := strconv.Atoi(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad number:", s)
		os.Exit(2)
	}
	return v
}

// VmHWM reads the peak resident set size (kB) from /proc/self/status.
func VmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "VmHWM:") {
			fields := strings.Fields(line)
			if len(fields) >= 2 {
				v, _ := strconv.ParseInt(fields[1], 10, 64)
				return v
			}
		}
	}
	return 0
}

// VoluntaryCsw sums voluntary_ctxt_switches over every thread of this
// process (/proc/self/task/*/status), as the Rust side does: the process's
// ru_nvcsw minus what threads that already ended made (Go's Ms do not end).
func VoluntaryCsw() int64 {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0
	}
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "voluntary_ctxt_switches:") {
				v := strings.TrimPrefix(line, "voluntary_ctxt_switches:")
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				total += n
				break
			}
		}
	}
	return total
}
