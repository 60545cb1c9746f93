// Command accuracy checks deploy-load-check's reported latency quantiles
// against the exact ones of the same run. The binary, run with
// --results-file and GITHUB_OUTPUT, leaves both: every result it counted,
// client-side, in vegeta's encoding, and the p95-ms and p99-ms it reported.
// The exact quantiles are the nearest-rank ones of those raw latencies
// (the ceil(q·n)-th smallest), so nothing but the aggregation and the
// formatting stands between the two figures.
//
// With -server-log (from bench/cmd/benchserver) it also joins each result
// to the server's own timing by sequence number and prints the client-side
// overhead, to show how far server-side timings alone would be off.
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func main() {
	ok, err := run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "accuracy: %s\n", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run() (bool, error) {
	resultsPath := flag.String("results", "", "results file written by --results-file")
	outputsPath := flag.String("outputs", "", "GITHUB_OUTPUT file written by the same run")
	serverLog := flag.String("server-log", "", "benchserver -log file of the same run (optional)")
	tolerance := flag.Float64("tolerance", 0.001, "largest allowed relative error")
	slowAbove := flag.Duration("slow-above", 300*time.Millisecond, "latency that counts as the slow mode, for the mode shares")
	flag.Parse()

	results, err := readResults(*resultsPath)
	if err != nil {
		return false, err
	}
	if len(results) == 0 {
		return false, errors.New("no results")
	}
	outputs, err := readOutputs(*outputsPath)
	if err != nil {
		return false, err
	}
	latencies := make([]time.Duration, len(results))
	slow := 0
	for i, r := range results {
		latencies[i] = r.Latency
		if r.Latency >= *slowAbove {
			slow++
		}
	}
	slices.Sort(latencies)
	if n, _ := strconv.Atoi(outputs["requests"]); n != len(results) {
		fmt.Printf("note: the run reported %s requests; the results file holds %d\n", outputs["requests"], len(results))
	}
	fmt.Printf("requests=%d slow_share=%.4f%% (>= %s)\n\n", len(results), 100*float64(slow)/float64(len(results)), *slowAbove)

	pass := true
	fmt.Println("| quantile | reported (ms) | exact, nearest rank (ms) | relative error | exact, HDR rank (ms) | within tolerance |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, q := range []struct {
		name   string
		output string
		q      float64
	}{{"p50", "p50-ms", 0.50}, {"p95", "p95-ms", 0.95}, {"p99", "p99-ms", 0.99}} {
		reported, err := strconv.ParseFloat(outputs[q.output], 64)
		if err != nil {
			return false, fmt.Errorf("output %q: %q is not a number", q.output, outputs[q.output])
		}
		exact := ms(nearestRank(latencies, q.q))
		hdrRank := ms(roundedRank(latencies, q.q))
		relative := (reported - exact) / exact
		within := math.Abs(relative) <= *tolerance
		// p50 is shown for context; the target covers p95 and p99.
		if q.name != "p50" && !within {
			pass = false
		}
		fmt.Printf("| %s | %.3f | %.3f | %+.4f%% | %.3f | %v |\n", q.name, reported, exact, 100*relative, hdrRank, within)
	}
	fmt.Println()

	if *serverLog != "" {
		if err := compareServer(*serverLog, results); err != nil {
			return false, err
		}
	}
	if pass {
		fmt.Printf("accuracy: PASS: p95 and p99 within %.2f%% of the exact values\n", 100**tolerance)
	} else {
		fmt.Printf("accuracy: FAIL: p95 or p99 off by more than %.2f%%\n", 100**tolerance)
	}
	return pass, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// nearestRank is the textbook exact quantile: the ceil(q·n)-th smallest.
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// roundedRank is the rank hdrhistogram-go picks: q·n rounded half up.
func roundedRank(sorted []time.Duration, q float64) time.Duration {
	rank := int(q*float64(len(sorted)) + 0.5)
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func readResults(path string) ([]vegeta.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := vegeta.DecoderFor(bufio.NewReader(f))
	if dec == nil {
		return nil, fmt.Errorf("%s: not a vegeta results file", path)
	}
	var out []vegeta.Result
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r.Body, r.Headers = nil, nil
		out = append(out, r)
	}
}

// readOutputs reads a GITHUB_OUTPUT file: name=value lines, or
// name<<DELIMITER blocks as go-githubactions writes them.
func readOutputs(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := make(map[string]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok {
			var value []string
			for sc.Scan() && sc.Text() != delim {
				value = append(value, sc.Text())
			}
			out[name] = strings.Join(value, "\n")
			continue
		}
		if name, value, ok := strings.Cut(line, "="); ok {
			out[name] = value
		}
	}
	return out, sc.Err()
}

// compareServer prints how much of each request's client-side latency the
// server saw, and the quantiles server-side timing alone would give.
func compareServer(path string, results []vegeta.Result) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	handled := make(map[uint64]time.Duration, len(rows))
	var server []time.Duration
	for _, row := range rows[1:] {
		seq, err1 := strconv.ParseUint(row[0], 10, 64)
		ns, err2 := strconv.ParseInt(row[2], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		handled[seq] = time.Duration(ns)
		server = append(server, time.Duration(ns))
	}
	var overhead []time.Duration
	for _, r := range results {
		if h, ok := handled[r.Seq]; ok {
			overhead = append(overhead, r.Latency-h)
		}
	}
	if len(overhead) == 0 {
		return errors.New("no result matched the server log by sequence number")
	}
	slices.Sort(overhead)
	slices.Sort(server)
	fmt.Printf("server log: %d requests, %d matched by sequence number\n", len(server), len(overhead))
	fmt.Printf("client-side minus server-side latency: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
		ms(nearestRank(overhead, 0.5)), ms(nearestRank(overhead, 0.99)), ms(overhead[len(overhead)-1]))
	fmt.Printf("server-side quantiles (what a server log alone would give): p95 %.3f ms, p99 %.3f ms\n\n",
		ms(nearestRank(server, 0.95)), ms(nearestRank(server, 0.99)))
	return nil
}
