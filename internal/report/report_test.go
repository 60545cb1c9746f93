package report

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// outageRun is 10 s at 50/s on two targets, where everything sent between
// 4 s and 7 s is refused.
func outageRun(t *testing.T) *Report {
	t.Helper()
	start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	r := stats.NewRecorder(start, []string{"GET /health", "POST /orders"}, stats.Options{})
	for i := range 500 {
		at := time.Duration(i) * 20 * time.Millisecond
		res := &vegeta.Result{Seq: uint64(i), Timestamp: start.Add(at), Latency: time.Duration(2+i%7) * time.Millisecond, Code: 200}
		if at >= 4*time.Second && at < 7*time.Second {
			res.Code, res.Latency = 0, 300*time.Microsecond
			res.Error = `Get "http://127.0.0.1:8080/health": dial tcp 127.0.0.1:8080: connect: connection refused`
		}
		r.Record(res, stats.Hit{Target: i % 2})
	}
	summary := r.Close(start.Add(10 * time.Second))
	var thresholds []verdict.Threshold
	for _, s := range []string{"p(95)<100ms", "error_rate<1%", "downtime<=1s"} {
		th, err := verdict.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		th.Source = "thresholds"
		thresholds = append(thresholds, th)
	}
	return &Report{
		Title:   "PR check",
		Summary: summary,
		Checks:  verdict.Evaluate(thresholds, summary, func(string) verdict.Observed { return nil }),
		Health: load.Health{
			Rate: vegeta.Rate{Freq: 50, Per: time.Second}, Elapsed: 10 * time.Second,
			Planned: 500, Sent: 500, LagP50: 300 * time.Microsecond, LagP99: 900 * time.Microsecond, LagMax: 2 * time.Millisecond,
		},
	}
}

func TestSummaryMatchesGolden(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	if err := WriteMarkdown(&b, outageRun(t)); err != nil {
		t.Fatal(err)
	}
	const golden = "../../testdata/summary-outage.golden.md"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("summary differs from %s (-want +got); run go test ./internal/report -update to accept:\n%s", golden, diff)
	}
}

func TestOutputsCarryTheFigures(t *testing.T) {
	t.Parallel()
	rep := outageRun(t)
	got := map[string]string{}
	for _, o := range rep.Outputs() {
		got[o.Name] = o.Value
	}
	want := map[string]string{
		"verdict":           "fail",
		"requests":          "500",
		"error-rate":        "0.3",
		"downtime-s":        "3.000",
		"deploy-run-id":     "",
		"deploy-run-url":    "",
		"deploy-conclusion": "",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("output %s = %q, want %q", k, got[k], v)
		}
	}
	if !strings.HasPrefix(rep.Headline(), "fail: error_rate was 30%; the limit is < 1%") {
		t.Errorf("headline = %q", rep.Headline())
	}
}

func TestGeneratorThatFellBehindIsCalledOut(t *testing.T) {
	t.Parallel()
	rep := outageRun(t)
	rep.Health.Sent, rep.Health.LagP99 = 300, 2*time.Second
	var b strings.Builder
	if err := WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "> [!WARNING]\n> The load generator fell behind: it sent 300 of 500") {
		t.Errorf("no warning about the generator:\n%s", b.String())
	}
}

func TestFailedDeployFailsTheCheck(t *testing.T) {
	t.Parallel()
	rep := outageRun(t)
	rep.Checks = nil
	rep.Deploy = &Deploy{RunID: 42, URL: "https://github.example/acme/api/actions/runs/42", Conclusion: "failure", Judged: true}
	if rep.Passed() {
		t.Error("a failed, judged deploy passed")
	}
	rep.Deploy.Judged = false
	if !rep.Passed() {
		t.Error("a failed deploy failed the check with fail-on-deploy-failure off")
	}
}
