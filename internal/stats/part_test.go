package stats

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// shardedRun is a run split among shards as the load's shards split it:
// request i goes to target i % targets and is sent by shard i % shards.
type shardedRun struct {
	shards, targets int
	interval        time.Duration
	results         []*vegeta.Result
	hits            []Hit
}

// randomRun makes a run with random latencies and, for each target, a few
// outages each long enough that every shard asking the target saw them.
func randomRun(rng *rand.Rand) shardedRun {
	run := shardedRun{shards: 2 + rng.IntN(3), targets: 1 + rng.IntN(3), interval: time.Duration(5+rng.IntN(16)) * time.Millisecond}
	n := 1500 + rng.IntN(1500)
	type outage struct{ from, to time.Duration }
	outages := make([][]outage, run.targets)
	minimum := time.Duration(run.shards*run.targets) * run.interval * 2
	for t := range outages {
		for range rng.IntN(3) {
			from := time.Duration(rng.IntN(n)) * run.interval
			outages[t] = append(outages[t], outage{from, from + minimum + time.Duration(rng.IntN(200))*run.interval})
		}
	}
	for i := range n {
		at := time.Duration(i) * run.interval
		target := i % run.targets
		res := &vegeta.Result{Seq: uint64(i), Timestamp: epoch.Add(at), Latency: time.Duration(200+rng.ExpFloat64()*5000) * time.Microsecond, Code: 200}
		for _, o := range outages[target] {
			if at >= o.from && at < o.to {
				res.Code, res.Error = 503, "503 Service Unavailable"
				if rng.IntN(2) == 0 {
					res.Code, res.Error = 0, "dial tcp 127.0.0.1:1: connect: connection refused"
				}
			}
		}
		run.results = append(run.results, res)
		run.hits = append(run.hits, Hit{Target: target, Fresh: i%10 == 0})
	}
	return run
}

func (run shardedRun) names() []string {
	return []string{"GET /a", "GET /b", "GET /c"}[:run.targets]
}

// recorder feeds a recorder the results for which keep holds, in send
// order, with the deploy's phases.
func (run shardedRun) record(keep func(i int) bool, opts Options) *Summary {
	r := NewRecorder(epoch, run.names(), opts)
	r.StartPhase("head", epoch)
	r.StartPhase("deploy", epoch.Add(time.Duration(len(run.results)/3)*run.interval))
	for i, res := range run.results {
		if keep(i) {
			copied := *res
			r.Record(&copied, run.hits[i])
		}
	}
	return r.Close(epoch.Add(time.Duration(len(run.results)) * run.interval))
}

func TestMergingShardsEqualsOneRecorderFedTheSameResults(t *testing.T) {
	t.Parallel()
	selections := []Selection{{Phase: "deploy", Successful: true, PerSecond: true}, {Targets: []int{0}}}
	for seed := range uint64(6) {
		rng := rand.New(rand.NewPCG(seed, 7))
		run := randomRun(rng)
		opts := Options{Selections: selections, DegradedErrorRate: 0.05}
		whole := run.record(func(int) bool { return true }, opts)

		var parts []*Part
		opts.ForMerge = true
		for k := range run.shards {
			part := run.record(func(i int) bool { return i%run.shards == k }, opts).Part()
			// Each part goes through the report file as JSON.
			raw, err := json.Marshal(part)
			if err != nil {
				t.Fatal(err)
			}
			var back Part
			if err := json.Unmarshal(raw, &back); err != nil {
				t.Fatal(err)
			}
			parts = append(parts, &back)
		}
		merged, err := Merge(parts, 0.05)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		compareMerged(t, seed, run, whole, merged)
	}
}

// compareMerged holds a merge to the single recorder: the same counts,
// histograms and seconds exactly, and each endpoint's longest downtime to
// one of the endpoint's request intervals, either way.
func compareMerged(t *testing.T, seed uint64, run shardedRun, whole, merged *Summary) {
	t.Helper()
	sameAggregate := func(what string, want, got *Aggregate) {
		t.Helper()
		if want.Requests != got.Requests || want.Failures != got.Failures {
			t.Errorf("seed %d: %s: %d requests, %d failed; merged %d, %d", seed, what, want.Requests, want.Failures, got.Requests, got.Failures)
		}
		for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
			if w, g := want.Quantile(q), got.Quantile(q); w != g {
				t.Errorf("seed %d: %s: quantile %v is %s, merged %s", seed, what, q, w, g)
			}
		}
		if w, g := want.SucceededLatency(), got.SucceededLatency(); w != g {
			t.Errorf("seed %d: %s: latency of successes %+v, merged %+v", seed, what, w, g)
		}
	}
	sameAggregate("the whole run", whole.Overall, merged.Overall)
	for i, tw := range whole.Targets {
		tm := merged.Targets[i]
		sameAggregate(tw.Name, tw.Aggregate, tm.Aggregate)
		spacing := time.Duration(run.targets) * run.interval
		if tm.Down.Longest < tw.Down.Longest-spacing || tm.Down.Longest > tw.Down.Longest+spacing {
			t.Errorf("seed %d: %s: longest downtime %s, merged %s; want the merge within %s", seed, tw.Name, tw.Down.Longest, tm.Down.Longest, spacing)
		}
		if tw.Down.Count != tm.Down.Count {
			t.Errorf("seed %d: %s: %d windows, merged %d", seed, tw.Name, tw.Down.Count, tm.Down.Count)
		}
	}
	for i, pw := range whole.Phases {
		sameAggregate("phase "+pw.Name, pw.Aggregate, merged.Phases[i].Aggregate)
	}
	if diff := cmp.Diff(whole.Codes, merged.Codes); diff != "" {
		t.Errorf("seed %d: status codes (-whole +merged):\n%s", seed, diff)
	}
	if len(whole.Seconds) != len(merged.Seconds) {
		t.Fatalf("seed %d: %d seconds, merged %d", seed, len(whole.Seconds), len(merged.Seconds))
	}
	for i, sw := range whole.Seconds {
		sm := merged.Seconds[i]
		if sw.Requests != sm.Requests || sw.Failures != sm.Failures || sw.ByClass != sm.ByClass || sw.P50 != sm.P50 || sw.P99 != sm.P99 {
			t.Errorf("seed %d: second %d: %+v, merged %+v", seed, i, sw, sm)
		}
	}
	if diff := cmp.Diff(whole.Degraded, merged.Degraded); diff != "" {
		t.Errorf("seed %d: degraded seconds (-whole +merged):\n%s", seed, diff)
	}
	for i, sw := range whole.Selected {
		sm := merged.Selected[i]
		if sw.Requests != sm.Requests || sw.Failures != sm.Failures || sw.Quantile(0.99) != sm.Quantile(0.99) || sw.SecondCount() != sm.SecondCount() {
			t.Errorf("seed %d: selection %d: %d/%d p99 %s %d seconds; merged %d/%d p99 %s %d seconds", seed, i,
				sw.Requests, sw.Failures, sw.Quantile(0.99), sw.SecondCount(), sm.Requests, sm.Failures, sm.Quantile(0.99), sm.SecondCount())
		}
	}
}
