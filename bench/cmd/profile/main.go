// Command profile holds the same load as deploy-load-check's PR-check mode
// (internal/load's generator feeding internal/stats' recorder, wired as in
// internal/check) against a loopback URL, and profiles it: CPU,
// allocations, mutex and block profiles, plus allocations and CPU time per
// request measured over the whole process. It exists because the binary
// itself has no profiling switch; keep its wiring in step with
// internal/check.
//
//	go run ./bench/cmd/profile -url http://127.0.0.1:8080/ -rate 4000 -duration 10s -cpuprofile /tmp/cpu.out
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "profile: %s\n", err)
		os.Exit(2)
	}
}

func run() error {
	target := flag.String("url", "", "loopback URL to load (GET)")
	rate := flag.Int("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to hold the load")
	fresh := flag.Float64("fresh", 0.1, "share of requests on fresh connections (the action's default is 10%)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile here")
	memProfile := flag.String("memprofile", "", "write an allocation profile here")
	mutexProfile := flag.String("mutexprofile", "", "write a mutex contention profile here")
	blockProfile := flag.String("blockprofile", "", "write a blocking profile here")
	memTrace := flag.Duration("memtrace", 0, "print memory, goroutines and open files this often (0: never)")
	flag.Parse()

	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-url %q is not a URL", *target)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-url %q: only loopback addresses (127.0.0.0/8, ::1) may be loaded", *target)
	}
	if *rate <= 0 || *duration <= 0 || *duration > 30*time.Minute {
		return errors.New("-rate must be positive and -duration between 0 and 30m")
	}
	if *mutexProfile != "" {
		runtime.SetMutexProfileFraction(1)
	}
	if *blockProfile != "" {
		runtime.SetBlockProfileRate(int(10 * time.Microsecond))
	}

	targets := []load.Target{{Name: "GET " + *target, Method: "GET", URL: *target}}
	generator, err := load.New(targets, load.Options{Rate: vegeta.Rate{Freq: *rate, Per: time.Second}, Timeout: 10 * time.Second, FreshShare: *fresh})
	if err != nil {
		return err
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpuBefore := cpuTime()

	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	if *memTrace > 0 {
		go traceMemory(ctx, *memTrace)
	}
	start := time.Now()
	recorder := stats.NewRecorder(start, []string{targets[0].Name}, stats.Options{})
	health := generator.Run(ctx, func(res *vegeta.Result, hit load.Hit) {
		recorder.Record(res, stats.Hit{Target: hit.Target, Fresh: hit.Fresh, SilentRetried: hit.SilentRetried})
	})
	summary := recorder.Close(time.Now())

	cpu := cpuTime() - cpuBefore
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	n := float64(max(health.Sent, 1))
	lat := summary.Overall.Latency()
	fmt.Printf("requests=%d planned=%d held=%.4f late=%d lag_p99=%s\n", health.Sent, health.Planned, health.Held(), health.Late, health.LagP99)
	fmt.Printf("cpu_s=%.3f cpu_us_per_request=%.1f\n", cpu.Seconds(), float64(cpu.Microseconds())/n)
	fmt.Printf("allocs_per_request=%.1f bytes_per_request=%.0f gc_cycles=%d\n",
		float64(after.Mallocs-before.Mallocs)/n, float64(after.TotalAlloc-before.TotalAlloc)/n, after.NumGC-before.NumGC)
	fmt.Printf("p50=%s p95=%s p99=%s max=%s errors=%d\n", lat.P50, lat.P95, lat.P99, lat.Max, summary.Overall.Failures)

	write := func(path, name string) error {
		if path == "" {
			return nil
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return pprof.Lookup(name).WriteTo(f, 0)
	}
	return errors.Join(write(*memProfile, "allocs"), write(*mutexProfile, "mutex"), write(*blockProfile, "block"))
}

// traceMemory prints, every interval, where the process's memory is: the
// Go heap in use, goroutine stacks, memory the runtime holds but has not
// returned to the OS, the resident set, goroutines and open files (mostly
// connections). It tells a leak from a burst of connections.
func traceMemory(ctx context.Context, every time.Duration) {
	began := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	fmt.Println("memtrace: elapsed_s heap_inuse_kib stack_inuse_kib idle_unreleased_kib sys_kib rss_kib goroutines open_files")
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fds, _ := os.ReadDir("/proc/self/fd")
		fmt.Printf("memtrace: %.0f %d %d %d %d %d %d %d\n", time.Since(began).Seconds(),
			m.HeapInuse/1024, m.StackInuse/1024, (m.HeapIdle-m.HeapReleased)/1024, m.Sys/1024,
			residentKiB(), runtime.NumGoroutine(), len(fds))
	}
}

// residentKiB reads VmRSS from /proc/self/status.
func residentKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib
		}
	}
	return -1
}

// cpuTime is the process's user plus system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
