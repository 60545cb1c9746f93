package report

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/stats"
)

// connectionsRun is 3 s of requests to the targets in turn, one every
// 2 ms, one in ten of each target's on a fresh connection as the load
// generator sends them; failed says which fail.
func connectionsRun(t *testing.T, targets []string, failed func(target int, fresh bool, i int) bool, retried func(i int) bool) *Report {
	t.Helper()
	r := stats.NewRecorder(start, targets, stats.Options{})
	n := 1500
	for i := range n {
		target := i % len(targets)
		fresh := freshTurn(target, len(targets), i/len(targets))
		res := &vegeta.Result{Seq: uint64(i), Timestamp: start.Add(time.Duration(i) * 2 * time.Millisecond), Latency: time.Millisecond, Code: 200}
		if failed(target, fresh, i) {
			res.Code, res.Error = 502, "502 Bad Gateway"
		}
		r.Record(res, stats.Hit{Target: target, Fresh: fresh, SilentRetried: retried != nil && retried(i)})
	}
	return &Report{Summary: r.Close(start.Add(3 * time.Second))}
}

func connectionsOf(t *testing.T, r *Report) string {
	t.Helper()
	var b strings.Builder
	r.writeConnections(&b, true)
	if b.Len() == 0 {
		t.Fatal("no connections section")
	}
	return b.String()
}

const (
	sameTitle      = "<summary>Connections: kept-alive and fresh clients saw the same</summary>"
	differentTitle = "<summary>Connections: <b>kept-alive and fresh clients saw different things</b></summary>"
)

func TestAnEndpointDownOnEveryConnectionIsNoDifferenceBetweenThem(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 4, 5} {
		t.Run(fmt.Sprintf("%d endpoints", n), func(t *testing.T) {
			t.Parallel()
			targets := make([]string, n)
			for i := range targets {
				targets[i] = fmt.Sprintf("GET /%d", i)
			}
			targets[n-1] = "GET /bad"
			section := connectionsOf(t, connectionsRun(t, targets, func(target int, _ bool, _ int) bool { return target == n-1 }, nil))
			if !strings.Contains(section, sameTitle) {
				t.Errorf("an endpoint that fails on both kinds of connection alike made them differ:\n%s", section)
			}
			// Its downtime is the whole run on both kinds (from its first
			// fresh request on those), and so is the longest of each kind.
			for _, row := range []string{
				"\\| `GET /bad` \\| keep-alive \\| ([0-9,]+) \\| ([0-9,]+) \\| 100.00% \\| (2.9[0-9]|3.00) \\| 0 \\|",
				"\\| `GET /bad` \\| fresh \\| ([0-9,]+) \\| ([0-9,]+) \\| 100.00% \\| (2.9[0-9]|3.00) \\| 0 \\|",
				"\\| all [0-9] endpoints \\| keep-alive \\| [0-9,]+ \\| [0-9,]+ \\| [0-9.]+% \\| (2.9[0-9]|3.00) \\| 0 \\|",
			} {
				if !regexp.MustCompile(row).MatchString(section) {
					t.Errorf("no row like %q in\n%s", row, section)
				}
			}
		})
	}
}

func TestFreshConnectionsFailingOnOneEndpointAreADifference(t *testing.T) {
	t.Parallel()
	// New connections to GET /b are refused for a second; kept-alive
	// ones are served.
	r := connectionsRun(t, []string{"GET /a", "GET /b"}, func(target int, fresh bool, i int) bool {
		at := time.Duration(i) * 2 * time.Millisecond
		return target == 1 && fresh && at >= time.Second && at < 2*time.Second
	}, nil)
	section := connectionsOf(t, r)
	if !strings.Contains(section, differentTitle) {
		t.Errorf("fresh connections failing where kept-alive ones did not went unnoticed:\n%s", section)
	}
	if !strings.Contains(section, "- `GET /b`: fresh connections failed 33.33% of 75 requests, kept-alive ones 0.00% of 675 (Fisher's exact test, p < 0.0001).") {
		t.Errorf("the difference is not told for GET /b:\n%s", section)
	}
	if strings.Contains(section, "- `GET /a`") {
		t.Errorf("GET /a is told as different:\n%s", section)
	}
}

func TestAnEndpointFailingNowAndThenOnBothIsNoDifference(t *testing.T) {
	t.Parallel()
	// 3% of GET /b's requests fail, whatever their connection: by chance
	// the fresh ones fail more or less often than the kept-alive ones.
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		r := connectionsRun(t, []string{"GET /a", "GET /b"}, func(target int, _ bool, _ int) bool {
			return target == 1 && rng.Float64() < 0.03
		}, nil)
		if section := connectionsOf(t, r); !strings.Contains(section, sameTitle) {
			t.Errorf("seed %d: chance failures on both kinds made them differ:\n%s", seed, section)
		}
	}
}

func TestSilentRetriesAreADifference(t *testing.T) {
	t.Parallel()
	r := connectionsRun(t, []string{"GET /a", "GET /b"}, func(int, bool, int) bool { return false }, func(i int) bool { return i == 101 })
	section := connectionsOf(t, r)
	if !strings.Contains(section, differentTitle) || !strings.Contains(section, "- 1 request on kept-alive connections was sent again") {
		t.Errorf("a silent retry went unnoticed:\n%s", section)
	}
	if !strings.Contains(section, ": `GET /b`.") {
		t.Errorf("the endpoint of the silent retry is not named:\n%s", section)
	}
}

func TestEndpointNamesAreCodeInTheSummary(t *testing.T) {
	t.Parallel()
	names := []string{"GET /a_b_c", "GET /*/x*"}
	r := scenario{
		targets:  names,
		interval: 2 * time.Millisecond,
		length:   3 * time.Second,
		answer: func(target int, at time.Duration) (uint16, time.Duration, string) {
			if target == 1 && at >= time.Second && at < 2*time.Second {
				return 502, time.Millisecond, "502 Bad Gateway"
			}
			return ok(target, at)
		},
	}.report(t)
	var b strings.Builder
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"| `GET /*/x*` | T+1.0 | T+2.0 |",                    // the disruptions
		"- 250 requests to `GET /*/x*` answered bad gateway", // the findings
		"(max-downtime): 1.0 s, `GET /*/x*`",                 // the thresholds
		"| `GET /a_b_c` | keep-alive |",                      // the connections
		"| `GET /a_b_c` | 750 |",                             // the endpoints
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	// Outside code spans, the names never appear bare.
	bare := strings.NewReplacer("`GET /*/x*`", "", "`GET /a_b_c`", "").Replace(md)
	for _, name := range names {
		if strings.Contains(bare, name) {
			t.Errorf("%q appears outside a code span:\n%s", name, md)
		}
	}
}
