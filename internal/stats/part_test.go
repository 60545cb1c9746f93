package stats

import (
	"encoding/json"
	"fmt"
	mathrand "math/rand"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/quick"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/google/go-cmp/cmp"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// shardedRun is a run split among shards as the load's shards split it:
// tick i of the schedule is sent by shard i % shards, and each shard
// sends its own requests to the targets in turn (its j-th to target
// j % targets), so that every shard asks every target.
type shardedRun struct {
	shards, targets int
	interval        time.Duration
	results         []*vegeta.Result
	hits            []Hit
}

// outage is a span in which a target answers nothing successfully.
type outage struct{ from, to time.Duration }

// randomRun makes a run of one to five shards with random latencies and,
// for each target, a few outages; sometimes one that takes every target
// down at once, and sometimes one that lasts past the end of the load.
// Each outage, and each gap between two outages of a target, is long
// enough for every shard to have asked the target in it. Shorter ones are
// left out on purpose: a blip that one shard saw while another got an
// answer is no downtime in a merge (an endpoint is down only where no
// shard got an answer), though one recorder would count it; so is an
// outage in the last moments of the load that some shard had no request
// left to see.
func randomRun(rng *rand.Rand) shardedRun {
	run := shardedRun{shards: 1 + rng.IntN(5), targets: 1 + rng.IntN(3), interval: time.Duration(2+rng.IntN(7)) * time.Millisecond}
	n := 1500 + rng.IntN(1500)
	end := time.Duration(n) * run.interval
	minimum := time.Duration(run.shards*run.targets) * run.interval * 2
	random := func() outage {
		// Late enough to leave every shard a request in it before the end.
		from := time.Duration(rng.IntN(n-int(minimum/run.interval))) * run.interval
		return outage{from, from + minimum + time.Duration(rng.IntN(200))*run.interval}
	}
	outages := make([][]outage, run.targets)
	for t := range outages {
		for range rng.IntN(4) {
			outages[t] = append(outages[t], random())
		}
	}
	if rng.IntN(2) == 0 {
		everywhere := random()
		for t := range outages {
			outages[t] = append(outages[t], everywhere)
		}
	}
	if rng.IntN(4) == 0 {
		t := rng.IntN(run.targets)
		outages[t] = append(outages[t], outage{end - minimum - time.Duration(rng.IntN(100))*run.interval, end})
	}
	for t := range outages {
		outages[t] = apart(outages[t], minimum)
	}
	for i := range n {
		at := time.Duration(i) * run.interval
		target := i / run.shards % run.targets
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

// apart joins the outages that overlap or lie less than gap apart.
func apart(outages []outage, gap time.Duration) []outage {
	slices.SortFunc(outages, func(a, b outage) int { return int(a.from - b.from) })
	var out []outage
	for _, o := range outages {
		if last := len(out) - 1; last >= 0 && o.from < out[last].to+gap {
			out[last].to = max(out[last].to, o.to)
			continue
		}
		out = append(out, o)
	}
	return out
}

func (run shardedRun) names() []string {
	return []string{"GET /a", "GET /b", "GET /c"}[:run.targets]
}

func (run shardedRun) end() time.Time {
	return epoch.Add(time.Duration(len(run.results)) * run.interval)
}

// record feeds a recorder the results for which keep holds, in send
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
	return r.Close(run.end())
}

// mergeShards records each shard's results on a recorder of its own,
// passes each part through the report file's JSON, and merges them.
func (run shardedRun) mergeShards(opts Options) (*Summary, error) {
	opts.ForMerge = true
	var parts []*Part
	for k := range run.shards {
		part := run.record(func(i int) bool { return i%run.shards == k }, opts).Part()
		raw, err := json.Marshal(part)
		if err != nil {
			return nil, err
		}
		var back Part
		if err := json.Unmarshal(raw, &back); err != nil {
			return nil, err
		}
		parts = append(parts, &back)
	}
	return Merge(parts, opts.DegradedErrorRate)
}

// mergeRuns is how many random runs the property is checked on: each
// takes about 50 ms, most of it encoding the shards' histograms as their
// report files do, and ten times that under the race detector, which
// finds nothing to race in one goroutine: a few runs there, the property
// itself in the plain run.
func mergeRuns() int {
	switch {
	case testing.Short():
		return 15
	case raceDetector:
		return 3
	}
	return 60
}

func TestMergingShardsEqualsOneRecorderFedTheSameResults(t *testing.T) {
	t.Parallel()
	selections := []Selection{{Phase: "deploy", Successful: true, PerSecond: true}, {Targets: []int{0}}}
	opts := Options{Selections: selections, DegradedErrorRate: 0.05}
	// The seeds quick draws come from the clock, so that every run of the
	// test tries new ones; a failure names its seed.
	property := func(seed uint64) bool {
		run := randomRun(rand.New(rand.NewPCG(seed, 7)))
		// The recorder keeps what a shard keeps (each second's latency
		// histogram), so that every histogram can be compared.
		wholeOpts := opts
		wholeOpts.ForMerge = true
		whole := run.record(func(int) bool { return true }, wholeOpts)
		merged, err := run.mergeShards(opts)
		if err != nil {
			t.Errorf("seed %d: %v", seed, err)
			return false
		}
		diffs := compareMerged(run, whole, merged)
		for i, d := range diffs {
			if i == 10 {
				t.Errorf("seed %d: and %d more differences", seed, len(diffs)-i)
				break
			}
			t.Errorf("seed %d (%d shards, %d targets, every %s): %s", seed, run.shards, run.targets, run.interval, d)
		}
		return len(diffs) == 0
	}
	config := &quick.Config{MaxCount: mergeRuns(), Rand: mathrand.New(mathrand.NewSource(time.Now().UnixNano()))}
	if err := quick.Check(property, config); err != nil {
		t.Error(err)
	}
}

// TestMergeComparisonCatchesWhatItMustCatch holds compareMerged itself to
// account: a merge that lost a request, moved a window by more than a
// request interval, or counted one latency in the wrong bucket must not
// pass.
func TestMergeComparisonCatchesWhatItMustCatch(t *testing.T) {
	t.Parallel()
	var run shardedRun
	var whole *Summary
	for seed := uint64(0); ; seed++ {
		run = randomRun(rand.New(rand.NewPCG(seed, 7)))
		whole = run.record(func(int) bool { return true }, Options{ForMerge: true})
		if len(whole.Targets[0].Down.List) > 0 && run.shards > 1 {
			break
		}
	}
	spoil := map[string]func(s *Summary){
		"a request fewer": func(s *Summary) { s.Overall.Requests-- },
		"a latency moved": func(s *Summary) {
			s.Targets[0].hist = hdrhistogram.Import(s.Targets[0].hist.Export())
			s.Targets[0].hist.RecordValue(1)
		},
		"a window late by two intervals": func(s *Summary) {
			s.Targets[0].Down.List[0].Start += 2 * time.Duration(run.targets) * run.interval
		},
		"a window missing": func(s *Summary) { s.Targets[0].Down.List = s.Targets[0].Down.List[1:] },
		"a second's latency": func(s *Summary) {
			for i := range s.Seconds {
				if s.Seconds[i].latency != nil {
					s.Seconds[i].latency = hdrhistogram.NewPacked(1, histogramMax, histogramSigFigs)
					return
				}
			}
		},
	}
	for name, spoilIt := range spoil {
		spoiled := run.record(func(int) bool { return true }, Options{ForMerge: true})
		spoilIt(spoiled)
		if diffs := compareMerged(run, whole, spoiled); len(diffs) == 0 {
			t.Errorf("%s: the comparison found no difference", name)
		}
	}
	if diffs := compareMerged(run, whole, run.record(func(int) bool { return true }, Options{ForMerge: true})); len(diffs) > 0 {
		t.Errorf("two recordings of the same run differ: %v", diffs)
	}
}

// compareMerged holds a merge to the single recorder and lists where they
// differ: the same counts, histograms (every bucket) and seconds exactly,
// and the same windows without a success, each starting and ending within
// one of its stream's request intervals of the recorder's.
func compareMerged(run shardedRun, whole, merged *Summary) []string {
	var diffs []string
	differ := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	sameAggregate := func(what string, want, got *Aggregate) {
		switch {
		case want == nil || got == nil:
			if want != got {
				differ("%s: %v, merged %v", what, want, got)
			}
		case want.Requests != got.Requests || want.Failures != got.Failures:
			differ("%s: %d requests, %d failed; merged %d, %d", what, want.Requests, want.Failures, got.Requests, got.Failures)
		case !want.hist.Equals(got.hist):
			differ("%s: latency histograms differ: p50 %s p99 %s max %s; merged %s %s %s", what,
				want.Quantile(0.5), want.Quantile(0.99), want.Max(), got.Quantile(0.5), got.Quantile(0.99), got.Max())
		case want.SucceededLatency() != got.SucceededLatency():
			differ("%s: latency of successes %+v, merged %+v", what, want.SucceededLatency(), got.SucceededLatency())
		}
	}
	sameWindows := func(what string, want, got Windows, spacing time.Duration) {
		if want.Count != got.Count || len(want.List) != len(got.List) || want.Open != got.Open {
			differ("%s: %d windows (%d listed, open %v), merged %d (%d, %v):\n%v\nmerged\n%v", what, want.Count, len(want.List), want.Open,
				got.Count, len(got.List), got.Open, want.List, got.List)
			return
		}
		for i, w := range want.List {
			g := w
			g = got.List[i]
			if absolute(g.Start-w.Start) > spacing || absolute(g.End-w.End) > spacing || g.Open != w.Open || g.Failures != w.Failures ||
				!sameSet(g.Classes, w.Classes) || !slices.Equal(g.Codes, w.Codes) {
				differ("%s: window %d is %+v, merged %+v; want the same within %s", what, i, w, g, spacing)
			}
		}
		if absolute(got.Longest-want.Longest) > spacing || absolute(got.Total-want.Total) > time.Duration(want.Count)*spacing {
			differ("%s: longest %s, total %s; merged %s, %s", what, want.Longest, want.Total, got.Longest, got.Total)
		}
	}

	sameAggregate("the whole run", whole.Overall, merged.Overall)
	sameWindows("the whole API", whole.Outage, merged.Outage, run.interval)
	if len(whole.Targets) != len(merged.Targets) {
		differ("%d targets, merged %d", len(whole.Targets), len(merged.Targets))
		return diffs
	}
	for i, tw := range whole.Targets {
		tm := merged.Targets[i]
		sameAggregate(tw.Name, tw.Aggregate, tm.Aggregate)
		sameWindows(tw.Name, tw.Down, tm.Down, time.Duration(run.targets)*run.interval)
		for m, share := range tw.Modes {
			what := tw.Name + " on " + ModeNames[m] + " connections"
			got := tm.Modes[m]
			if share.Requests != got.Requests || share.Failures != got.Failures || share.SilentRetries != got.SilentRetries {
				differ("%s: %d requests, %d failed, %d silent retries; merged %d, %d, %d", what,
					share.Requests, share.Failures, share.SilentRetries, got.Requests, got.Failures, got.SilentRetries)
			}
			// A merge finds a window where no shard got a success and
			// one failed; a shard that sent nothing in it cannot say.
			// One request in ten goes on a fresh connection, too few
			// for every shard to send one to each endpoint within an
			// outage, so only the kept-alive windows must match: their
			// length, as the failures in them are counted at the pace
			// of the whole stream, which the fresh ones leave gaps in.
			if spacing := 2 * time.Duration(run.targets) * run.interval; m == 0 && absolute(share.Down.Longest-got.Down.Longest) > spacing {
				differ("%s: longest window %s, merged %s", what, share.Down.Longest, got.Down.Longest)
			}
		}
	}
	if len(whole.Phases) != len(merged.Phases) {
		differ("%d phases, merged %d", len(whole.Phases), len(merged.Phases))
		return diffs
	}
	for i, pw := range whole.Phases {
		pm := merged.Phases[i]
		sameAggregate("phase "+pw.Name, pw.Aggregate, pm.Aggregate)
		if pw.Start != pm.Start || pw.End != pm.End {
			differ("phase %s: %s to %s, merged %s to %s", pw.Name, pw.Start, pw.End, pm.Start, pm.End)
		}
	}
	for i, mw := range whole.Modes {
		sameAggregate("mode "+mw.Name, mw.Aggregate, merged.Modes[i].Aggregate)
	}
	if diff := cmp.Diff(whole.Codes, merged.Codes); diff != "" {
		differ("status codes (-whole +merged):\n%s", diff)
	}
	// Errors are listed most frequent first, ties in no set order.
	errorCounts := func(list []ErrorCount) map[Class]int64 {
		counts := map[Class]int64{}
		for _, e := range list {
			counts[e.Class] = e.Count
		}
		return counts
	}
	if diff := cmp.Diff(errorCounts(whole.Errors), errorCounts(merged.Errors)); diff != "" {
		differ("errors by class (-whole +merged):\n%s", diff)
	}
	if whole.FirstFailure != merged.FirstFailure || whole.LastFailure != merged.LastFailure {
		differ("failures from %s to %s, merged %s to %s", whole.FirstFailure, whole.LastFailure, merged.FirstFailure, merged.LastFailure)
	}
	if len(whole.Seconds) != len(merged.Seconds) {
		differ("%d seconds, merged %d", len(whole.Seconds), len(merged.Seconds))
		return diffs
	}
	for i, sw := range whole.Seconds {
		sm := merged.Seconds[i]
		if sw.Requests != sm.Requests || sw.Failures != sm.Failures || sw.ByClass != sm.ByClass || sw.P50 != sm.P50 || sw.P99 != sm.P99 ||
			!samePacked(sw.latency, sm.latency) {
			differ("second %d: %+v, merged %+v", i, sw, sm)
		}
	}
	if diff := cmp.Diff(whole.Degraded, merged.Degraded); diff != "" {
		differ("degraded seconds (-whole +merged):\n%s", diff)
	}
	for i, sw := range whole.Selected {
		sm := merged.Selected[i]
		if sw.Requests != sm.Requests || sw.Failures != sm.Failures || !samePacked(sw.Latency(), sm.Latency()) || sw.SecondCount() != sm.SecondCount() ||
			absolute(sw.Down-sm.Down) > time.Duration(run.targets)*run.interval {
			differ("selection %d: %d/%d p99 %s down %s, %d seconds; merged %d/%d p99 %s down %s, %d seconds", i,
				sw.Requests, sw.Failures, sw.Quantile(0.99), sw.Down, sw.SecondCount(), sm.Requests, sm.Failures, sm.Quantile(0.99), sm.Down, sm.SecondCount())
			continue
		}
		for s := range sw.SecondCount() {
			wr, wf := sw.SecondRequests(s)
			mr, mf := sm.SecondRequests(s)
			if wr != mr || wf != mf || !samePacked(sw.SecondLatency(s), sm.SecondLatency(s)) {
				differ("selection %d, second %d: %d/%d, merged %d/%d, or their latencies differ", i, s, wr, wf, mr, mf)
			}
		}
	}
	return diffs
}

// samePacked reports whether two packed histograms hold the same counts in
// every bucket; nil holds none.
func samePacked(a, b *hdrhistogram.PackedHistogram) bool {
	unpack := func(p *hdrhistogram.PackedHistogram) *hdrhistogram.Histogram {
		h := newHistogram()
		if p != nil {
			p.MergeInto(h)
		}
		return h
	}
	return unpack(a).Equals(unpack(b))
}

func sameSet[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func absolute(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
