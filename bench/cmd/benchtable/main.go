// Command benchtable turns the raw files of bench/run.sh's CPU comparison
// into the table BENCHMARKS.md shows: per tool and rate, the medians over
// the repeats of rate held, CPU time, CPU per 1,000 requests, peak RSS and
// p99, then the CPU ratios against vegeta and k6 with the targets of
// issue 7.
//
// Layout read, under -dir: RATE/REPEAT/ with, per tool,
//
//	ours.time ours.out                                   deploy-load-check with its defaults
//	ourska.time ourska.out                               deploy-load-check, keep-alive only
//	vegeta-attack.time vegeta-report.time vegeta.json    vegeta attack | vegeta report
//	k6.time k6.json                                      k6 run
//
// where *.time hold GNU time's "%e %U %S %M" (wall s, user s, sys s, max RSS KiB).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "benchtable: %s\n", err)
		os.Exit(2)
	}
}

// sample is one tool's run.
type sample struct {
	wall, cpu  float64 // seconds
	rssKiB     float64
	requests   float64
	p99ms      float64
	missing    bool
	missingWhy string
	// noisy is set when other processes on the machine took more than
	// 20% of a CPU during the run (bench/run.sh writes TOOL.noise).
	noisy bool
}

func (s sample) cpuPer1k() float64 { return 1000 * s.cpu / s.requests }

const (
	toolOurs        = "deploy-load-check (defaults: 10% fresh connections)"
	toolOursKA      = "deploy-load-check --fresh-connection-rate 0% (all keep-alive)"
	toolVegeta      = "vegeta attack, piped to vegeta report"
	toolVegetaAlone = "vegeta attack alone (gob to a pipe)"
	toolK6          = "k6 run (constant-arrival-rate)"
)

var tools = []string{toolOurs, toolOursKA, toolVegeta, toolVegetaAlone, toolK6}

// ratio compares one of our variants with the others at one rate.
type ratio struct {
	rate                    int
	ours                    string
	vsVegeta, vsAlone, vsK6 float64
	pairedVegeta, pairedK6  []float64
	held                    float64
}

func run() error {
	dir := flag.String("dir", "", "directory bench/run.sh wrote")
	duration := flag.Duration("duration", 10*time.Second, "length of each run")
	flag.Parse()
	rates, err := os.ReadDir(*dir)
	if err != nil {
		return err
	}
	var rateValues []int
	for _, r := range rates {
		if v, err := strconv.Atoi(r.Name()); err == nil && r.IsDir() {
			rateValues = append(rateValues, v)
		}
	}
	slices.Sort(rateValues)
	if len(rateValues) == 0 {
		return fmt.Errorf("%s: no rate directories", *dir)
	}

	fmt.Println("Medians over the repeats; \"repeats\" counts the runs used of those made (runs during which other processes took over 20% of a CPU are left out when an undisturbed one exists).")
	fmt.Println()
	fmt.Println("| tool | rate asked | rate held | CPU s (user+sys) | CPU ms per 1k requests | peak RSS | p99 | repeats |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	var ratios []ratio
	for _, rate := range rateValues {
		reps, err := os.ReadDir(filepath.Join(*dir, strconv.Itoa(rate)))
		if err != nil {
			return err
		}
		byTool := make(map[string][]sample)
		paired := make(map[string][]float64) // "ours tool|other tool" -> per-repeat ratios
		for _, rep := range reps {
			if !rep.IsDir() {
				continue
			}
			d := filepath.Join(*dir, strconv.Itoa(rate), rep.Name())
			got := map[string]sample{
				toolOurs:        noise(readOurs(d, "ours"), d, "ours"),
				toolOursKA:      noise(readOurs(d, "ourska"), d, "ourska"),
				toolVegeta:      noise(readVegeta(d, true), d, "vegeta"),
				toolVegetaAlone: noise(readVegeta(d, false), d, "vegeta"),
				toolK6:          noise(readK6(d), d, "k6"),
			}
			for tool, s := range got {
				if s.missing {
					fmt.Fprintf(os.Stderr, "benchtable: %s %s: %s\n", d, tool, s.missingWhy)
					continue
				}
				byTool[tool] = append(byTool[tool], s)
			}
			for _, ours := range []string{toolOurs, toolOursKA} {
				for _, other := range []string{toolVegeta, toolK6} {
					if o, t := got[ours], got[other]; !o.missing && !t.missing && !o.noisy && !t.noisy {
						paired[ours+"|"+other] = append(paired[ours+"|"+other], o.cpuPer1k()/t.cpuPer1k())
					}
				}
			}
		}
		planned := float64(rate) * duration.Seconds()
		medCPU := make(map[string]float64)
		held := make(map[string]float64)
		for _, tool := range tools {
			all := byTool[tool]
			if len(all) == 0 {
				continue
			}
			// Runs disturbed by other processes count only when no
			// undisturbed one exists.
			ss := slices.DeleteFunc(slices.Clone(all), func(s sample) bool { return s.noisy })
			if len(ss) == 0 {
				ss = all
			}
			held[tool] = median(ss, func(s sample) float64 { return s.requests / planned })
			medCPU[tool] = median(ss, sample.cpuPer1k)
			fmt.Printf("| %s | %d/s | %.1f/s (%.2f%%) | %.2f | %.1f | %.1f MiB | %s | %d of %d |\n",
				tool, rate, held[tool]*float64(rate), 100*held[tool],
				median(ss, func(s sample) float64 { return s.cpu }), 1000*medCPU[tool],
				median(ss, func(s sample) float64 { return s.rssKiB })/1024,
				p99(ss), len(ss), len(all))
		}
		for _, ours := range []string{toolOursKA, toolOurs} {
			if _, ok := medCPU[ours]; !ok {
				continue
			}
			ratios = append(ratios, ratio{
				rate: rate, ours: ours,
				vsVegeta: medCPU[ours] / medCPU[toolVegeta], vsAlone: medCPU[ours] / medCPU[toolVegetaAlone],
				vsK6:         medCPU[ours] / medCPU[toolK6],
				pairedVegeta: paired[ours+"|"+toolVegeta], pairedK6: paired[ours+"|"+toolK6],
				held: held[ours],
			})
		}
	}

	fmt.Println()
	fmt.Println("CPU per request, ours / theirs (ratio of the medians; per-repeat ratios of runs made back to back beside it):")
	fmt.Println()
	fmt.Println("| rate | ours | / vegeta attack+report | target <= 1.05 | / vegeta attack alone | / k6 | target <= 0.70 | per repeat vs vegeta | per repeat vs k6 | rate held | target >= 99.5% |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range ratios {
		fmt.Printf("| %d/s | %s | %.3f | %s | %.3f | %.3f | %s | %s | %s | %.2f%% | %s |\n",
			r.rate, r.ours, r.vsVegeta, verdict(r.vsVegeta <= 1.05), r.vsAlone, r.vsK6, verdict(r.vsK6 <= 0.70),
			list(r.pairedVegeta), list(r.pairedK6), 100*r.held, verdict(r.held >= 0.995))
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func list(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(s, ", ")
}

func median(ss []sample, f func(sample) float64) float64 {
	xs := make([]float64, len(ss))
	for i, s := range ss {
		xs[i] = f(s)
	}
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

func p99(ss []sample) string {
	m := median(ss, func(s sample) float64 { return s.p99ms })
	if m < 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f ms", m)
}

// readTime reads GNU time's "%e %U %S %M" line.
func readTime(path string) (wall, cpu, rss float64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, err
	}
	// GNU time prefixes "Command exited with non-zero status N" lines.
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) != 4 {
		return 0, 0, 0, fmt.Errorf("%s: want 4 fields, got %q", path, lines[len(lines)-1])
	}
	var v [4]float64
	for i := range f {
		if v[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return 0, 0, 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	return v[0], v[1] + v[2], v[3], nil
}

// noise marks s noisy when DIR/NAME.noise says others took over 20% of a CPU.
func noise(s sample, dir, name string) sample {
	b, err := os.ReadFile(filepath.Join(dir, name+".noise"))
	if err != nil {
		return s
	}
	// "try=N busy_before=B others_cpu_s,others_per_s,nginx_cpu_s=O P N"
	parts := strings.Split(strings.TrimSpace(string(b)), "=")
	figures := parts[len(parts)-1]
	f := strings.Fields(figures)
	if len(f) >= 2 {
		if perSecond, err := strconv.ParseFloat(f[1], 64); err == nil && perSecond > 0.20 {
			s.noisy = true
		}
	}
	return s
}

func missing(err error) sample { return sample{missing: true, missingWhy: err.Error()} }

func readOurs(dir, name string) sample {
	wall, cpu, rss, err := readTime(filepath.Join(dir, name+".time"))
	if err != nil {
		return missing(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, name+".out"))
	if err != nil {
		return missing(err)
	}
	out := parseOutputs(string(b))
	requests, err1 := strconv.ParseFloat(out["requests"], 64)
	p99, err2 := strconv.ParseFloat(out["p99-ms"], 64)
	if err := errors.Join(err1, err2); err != nil {
		return missing(err)
	}
	return sample{wall: wall, cpu: cpu, rssKiB: rss, requests: requests, p99ms: p99}
}

// parseOutputs reads name=value lines and go-githubactions' name<<DELIM blocks.
func parseOutputs(text string) map[string]string {
	out := make(map[string]string)
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		if name, delim, ok := strings.Cut(lines[i], "<<"); ok {
			var value []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				value = append(value, lines[i])
			}
			out[name] = strings.Join(value, "\n")
		} else if name, value, ok := strings.Cut(lines[i], "="); ok {
			out[name] = value
		}
	}
	return out
}

func readVegeta(dir string, withReport bool) sample {
	wall, cpu, rss, err := readTime(filepath.Join(dir, "vegeta-attack.time"))
	if err != nil {
		return missing(err)
	}
	if withReport {
		_, reportCPU, reportRSS, err := readTime(filepath.Join(dir, "vegeta-report.time"))
		if err != nil {
			return missing(err)
		}
		cpu += reportCPU
		rss = max(rss, reportRSS)
	}
	b, err := os.ReadFile(filepath.Join(dir, "vegeta.json"))
	if err != nil {
		return missing(err)
	}
	var m struct {
		Requests  float64 `json:"requests"`
		Latencies struct {
			P99 float64 `json:"99th"`
		} `json:"latencies"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return missing(err)
	}
	return sample{wall: wall, cpu: cpu, rssKiB: rss, requests: m.Requests, p99ms: m.Latencies.P99 / 1e6}
}

func readK6(dir string) sample {
	wall, cpu, rss, err := readTime(filepath.Join(dir, "k6.time"))
	if err != nil {
		return missing(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "k6.json"))
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return missing(fmt.Errorf("k6 summary: %w", err))
	}
	var m struct {
		Metrics map[string]struct {
			Values map[string]float64 `json:"values"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return missing(err)
	}
	requests := m.Metrics["http_reqs"].Values["count"]
	p99 := m.Metrics["http_req_duration"].Values["p(99)"]
	return sample{wall: wall, cpu: cpu, rssKiB: rss, requests: requests, p99ms: p99}
}
