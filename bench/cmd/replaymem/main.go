// Command replaymem shows that reading a replay file takes flat memory
// whatever its size: it writes a recording of -lines entries (an nginx
// combined log by default; JSON lines or a HAR file with -format) to a
// temporary directory, streams it through internal/targets/replay's reader
// twice (the second pass is the reader starting the file again, as in a
// run that outlasts it), groups every path into endpoint patterns, and
// prints heap and RSS at 10k, 100k and 1M entries and at the end.
//
//	go run ./bench/cmd/replaymem -lines 1000000
//	go run ./bench/cmd/replaymem -lines 1000000 -format har
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/targets/replay"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "replaymem: %s\n", err)
		os.Exit(2)
	}
}

func run() error {
	lines := flag.Int("lines", 1_000_000, "entries in the recording")
	format := flag.String("format", "access-log", "access-log, jsonl or har")
	keep := flag.String("keep", "", "write the recording here and keep it (default: a temporary directory, removed)")
	flag.Parse()
	if *lines < 1 || *lines > 100_000_000 {
		return fmt.Errorf("-lines %d: want 1 to 100000000", *lines)
	}
	f, err := replay.ParseFormat(*format)
	if err != nil || f == replay.Detect {
		return fmt.Errorf("-format %q: want access-log, jsonl or har", *format)
	}

	dir := *keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "replaymem"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	path := filepath.Join(dir, "recording."+string(f))
	began := time.Now()
	size, err := write(path, f, *lines)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %d entries (%s, %.1f MiB) in %s: %s\n", *lines, f, float64(size)/(1<<20), time.Since(began).Round(time.Millisecond), path)

	// The writing is done; what follows is the reader's.
	runtime.GC()
	resetPeakRSS()

	base, _ := url.Parse("http://127.0.0.1:8080")
	r, err := replay.Open(path, base)
	if err != nil {
		return err
	}
	defer r.Close()
	var patterns replay.Patterns
	checkpoints := []int{10_000, 100_000, 1_000_000}
	fmt.Printf("%-24s %10s %10s %14s %10s %9s %14s %9s\n", "entries read", "requests", "elapsed", "peak heap MiB", "live MiB", "RSS MiB", "peak RSS MiB", "patterns")
	var peak uint64
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	began = time.Now()
	var req replay.Request
	for n := 1; ; n++ {
		if err := r.Next(&req); err != nil {
			return err
		}
		patterns.Pattern(req.Method, req.URL)
		if n%1000 == 0 {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
		}
		read := req.Line + req.Cycle**lines
		end := req.Cycle == 2 // the file was read twice, and started a third time
		if !end && (len(checkpoints) == 0 || read < checkpoints[0]) {
			continue
		}
		if !end {
			checkpoints = checkpoints[1:]
		}
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		label := strconv.Itoa(read)
		if end {
			label = strconv.Itoa(2**lines) + " (2 passes)"
		}
		fmt.Printf("%-24s %10d %10s %14.1f %10.1f %9.1f %14.1f %9d\n", label, n, time.Since(began).Round(time.Millisecond),
			float64(peak)/(1<<20), float64(ms.HeapAlloc)/(1<<20), procStatus("VmRSS"), procStatus("VmHWM"), patterns.Known())
		if end {
			break
		}
	}
	s := r.Stats()
	fmt.Printf("cycles %d, skipped %v, bad lines %d\n", s.Cycles, s.Skipped, s.Bad)
	return nil
}

// write writes a recording of n entries: a mix of reads of images, users
// and searches, one POST in ten, and one bad line in ten thousand.
func write(path string, f replay.Format, n int) (int64, error) {
	file, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(file, 1<<16)
	start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	if f == replay.HAR {
		fmt.Fprint(w, `{"log":{"version":"1.2","creator":{"name":"replaymem","version":"1"},"pages":[],"entries":[`+"\n")
	}
	for i := range n {
		at := start.Add(time.Duration(i) * 5 * time.Millisecond)
		method, target := "GET", ""
		switch i % 10 {
		case 0:
			method, target = "POST", "/v1/images"
		case 1, 2, 3, 4:
			target = fmt.Sprintf("/v1/images/%d?size=thumb", 1000+i%50_000)
		case 5, 6:
			target = fmt.Sprintf("/v1/users/%08x-3b7a-4c1e-9f0a-%012x/albums", i, i*7)
		case 7, 8:
			target = fmt.Sprintf("/v1/search?q=term%d&page=%d", i%997, 1+i%5)
		default:
			target = "/health"
		}
		switch f {
		case replay.AccessLog:
			if i%10_000 == 9_999 {
				fmt.Fprintf(w, "%d.%d.0.1 - - [%s] \"-\" 400 0 \"-\" \"-\"\n", 10+i%200, i%250, at.Format("02/Jan/2006:15:04:05 -0700"))
				continue
			}
			fmt.Fprintf(w, "%d.%d.0.1 - - [%s] \"%s %s HTTP/1.1\" 200 %d \"https://app.example.com/\" \"Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0\"\n",
				10+i%200, i%250, at.Format("02/Jan/2006:15:04:05 -0700"), method, target, 200+i%5000)
		case replay.JSONLines:
			if i%10_000 == 9_999 {
				fmt.Fprintln(w, `{"time": broken`)
				continue
			}
			fmt.Fprintf(w, `{"time":%q,"method":%q,"url":%q,"headers":{"Accept":"application/json","Authorization":"Bearer t%d"},"status":200}`+"\n",
				at.Format(time.RFC3339Nano), method, "https://api.example.com"+target, i)
		case replay.HAR:
			if i > 0 {
				fmt.Fprint(w, ",\n")
			}
			fmt.Fprintf(w, `{"startedDateTime":%q,"time":12.5,"request":{"method":%q,"url":%q,"httpVersion":"HTTP/1.1","headers":[{"name":"Accept","value":"application/json"},{"name":"Cookie","value":"sid=%d"}],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[{"name":"Content-Type","value":"application/json"}],"cookies":[],"content":{"size":40,"mimeType":"application/json","text":"{\"id\":%d,\"title\":\"an image\",\"tags\":[]}"},"redirectURL":"","headersSize":-1,"bodySize":40},"cache":{},"timings":{"send":0.1,"wait":12,"receive":0.4}}`,
				at.Format(time.RFC3339Nano), method, "https://api.example.com"+target, i, i)
		}
	}
	if f == replay.HAR {
		fmt.Fprint(w, "\n]}}\n")
	}
	if err := w.Flush(); err != nil {
		file.Close()
		return 0, err
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return 0, err
	}
	return info.Size(), file.Close()
}

// procStatus reads a size from /proc/self/status, in MiB (0 where there
// is no /proc).
func procStatus(field string) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// resetPeakRSS starts VmHWM again from the current RSS (Linux 4.0 and
// later), so the peak is the reader's, not the writer's.
func resetPeakRSS() {
	f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := io.WriteString(f, "5"); err != nil && !errors.Is(err, os.ErrPermission) {
		fmt.Fprintf(os.Stderr, "replaymem: the peak RSS includes writing the file: %v\n", err)
	}
}
