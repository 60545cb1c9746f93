// Command reloads measures how often the check fails a graceful reload
// with the default limits and max-regression: it deploys a graceful reload
// under load again and again, through the whole timeline (a real local
// API, a stand-in GitHub, the real deploy client, load generator and
// verdict), and counts the verdicts. A graceful reload changes nothing the
// users see, so every run that does not pass (downtime, error rate,
// max-regression, anything) is a false alarm; it also counts how many of
// them max-regression called.
//
//	go run ./bench/cmd/reloads -runs 20
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/check"
	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/demo"
	"github.com/zerodowntime/deploy-load-check/internal/deploy"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/standin"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

const token = "ghs_reloadsBenchT0ken"

func main() {
	runs := flag.Int("runs", 20, "graceful reloads to deploy")
	parallel := flag.Int("parallel", 2, "reloads deployed at once")
	latency := flag.Duration("latency", 30*time.Millisecond, "how long the API takes to answer")
	rate := flag.String("rate", "40/1s", "rate of each check")
	head := flag.String("head", "10s", "head of each check")
	tail := flag.String("tail", "10s", "tail of each check")
	spec := flag.String("action", "action.yml", "the action's metadata, for the inputs' defaults")
	flag.Parse()

	raw, err := os.ReadFile(*spec)
	if err != nil {
		fail(err)
	}
	inputs := map[string]string{"rate": *rate, "head": *head, "tail": *tail}
	results := make([]outcome, *runs)
	sem := make(chan struct{}, *parallel)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = reload(raw, inputs, *latency)
			fmt.Fprintf(os.Stderr, "reload %d: %s\n", i+1, results[i])
		}()
	}
	wg.Wait()
	summarize(results, *latency, inputs)
}

// outcome is one reload's verdict.
type outcome struct {
	verdict    string // the whole check's: pass, fail or inconclusive; error
	regression bool   // max-regression called the reload slower or failing more
	shift      time.Duration
	reason     string
}

func (o outcome) String() string {
	s := o.verdict
	if o.regression {
		s += " (max-regression)"
	}
	return s + " " + o.shift.String() + " " + o.reason
}

// reload deploys one graceful reload under load and judges it.
func reload(actionYML []byte, more map[string]string, latency time.Duration) outcome {
	api, err := demo.Start(demo.WithoutLatency())
	if err != nil {
		return outcome{verdict: "error", reason: err.Error()}
	}
	defer api.Close()
	api.SetSlower(latency)
	github := standin.Start(standin.WithToken(token), standin.WithLifecycle(standin.Lifecycle{Manual: true}),
		standin.WithOnDispatch(func(srv *standin.Server, run standin.Run) {
			go func() {
				time.Sleep(2 * time.Second) // the deploy's own pace
				api.Reload("v2")
				time.Sleep(2 * time.Second)
				_ = srv.Complete(run.ID, "success")
			}()
		}))
	defer github.Close()

	inputs := map[string]string{
		"targets":                api.Targets(),
		"workflow":               "deploy-staging.yml",
		"repository":             standin.DefaultOwner + "/" + standin.DefaultRepo,
		"poll-interval":          "1s",
		"max-regression":         "20%",
		"fail-on-load-shortfall": "false",
		"preflight-timeout":      "5s",
	}
	for k, v := range more {
		inputs[k] = v
	}
	cfg, err := parse(actionYML, inputs)
	if err != nil {
		return outcome{verdict: "error", reason: err.Error()}
	}
	client, err := deploy.New(token, github.URL)
	if err != nil {
		return outcome{verdict: "error", reason: err.Error()}
	}
	rep, err := check.Run(context.Background(), cfg, check.Deps{GitHub: client})
	if err != nil {
		return outcome{verdict: "error", reason: err.Error()}
	}
	return judged(rep)
}

// judged reads a reload's outcome off the whole verdict: a run passes
// only if every limit held, so the counts are evidence for the defaults,
// not for max-regression alone.
func judged(rep *report.Report) outcome {
	g := rep.Regression
	if g == nil || !g.Tail.Compared {
		return outcome{verdict: "error", reason: "no comparison: " + strings.Join(rep.Reasons(), "; ")}
	}
	o := outcome{verdict: rep.Verdict(), shift: g.Tail.Latency.Shift, reason: strings.Join(rep.Reasons(), "; ")}
	for _, s := range []report.Shift{g.Tail, g.Deploy} {
		if s.Compared && (s.Latency.Decision == verdict.Regression || s.Errors.Decision == verdict.Regression) {
			o.regression = true
		}
	}
	return o
}

func parse(actionYML []byte, inputs map[string]string) (*config.Config, error) {
	spec, err := config.ParseSpec(actionYML)
	if err != nil {
		return nil, err
	}
	env := map[string]string{"GITHUB_TOKEN": token}
	for k, v := range inputs {
		env[config.EnvName(k)] = v
	}
	src, _, err := config.NewSource(spec, nil, config.MapEnv(env), io.Discard)
	if err != nil {
		return nil, err
	}
	return config.Parse(src)
}

func summarize(results []outcome, latency time.Duration, inputs map[string]string) {
	counts := map[string]int{}
	var shifts []time.Duration
	for _, r := range results {
		counts[r.verdict]++
		if r.verdict != "error" {
			shifts = append(shifts, r.shift)
		}
	}
	sort.Slice(shifts, func(i, j int) bool { return shifts[i] < shifts[j] })
	median := time.Duration(0)
	if len(shifts) > 0 {
		median = shifts[len(shifts)/2]
	}
	fmt.Printf("%d graceful reloads; API answering in %s; rate %s, head %s, tail %s; default limits and max-regression 20%%\n\n",
		len(results), latency, inputs["rate"], inputs["head"], inputs["tail"])
	fmt.Println("| passed | false alarms (failed) | of which max-regression | inconclusive | errors | median tail shift |")
	fmt.Println("|---|---|---|---|---|---|")
	regressions := 0
	for _, r := range results {
		if r.verdict == report.Fail && r.regression {
			regressions++
		}
	}
	fmt.Printf("| %d | %d (%.1f%%) | %d | %d | %d | %s |\n", counts[report.Pass], counts[report.Fail],
		100*float64(counts[report.Fail])/float64(len(results)), regressions, counts[report.Inconclusive], counts["error"], median.Round(10*time.Microsecond))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "reloads:", err)
	os.Exit(1)
}
