package stats

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

var epoch = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// result builds a vegeta result sent at offset since epoch.
func result(seq uint64, offset, latency time.Duration, code uint16, errText string) *vegeta.Result {
	return &vegeta.Result{Seq: seq, Timestamp: epoch.Add(offset), Latency: latency, Code: code, Error: errText}
}

// schedule is a run at a fixed interval where down(i) says whether request
// i fails (connection refused).
func schedule(n int, interval time.Duration, down func(i int) bool) []*vegeta.Result {
	out := make([]*vegeta.Result, n)
	for i := range n {
		at := time.Duration(i) * interval
		if down(i) {
			out[i] = result(uint64(i), at, 100*time.Microsecond, 0, `Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`)
		} else {
			out[i] = result(uint64(i), at, 5*time.Millisecond, 200, "")
		}
	}
	return out
}

func TestDowntimeWindowSpansFirstFailureToNextSuccess(t *testing.T) {
	t.Parallel()
	interval := 20 * time.Millisecond
	// Requests 100..249 fail: 150 requests, 3 s at 50/s.
	results := schedule(500, interval, func(i int) bool { return i >= 100 && i < 250 })

	r := NewRecorder(epoch, []string{"GET /"}, Options{})
	for _, res := range results {
		r.Record(res, Hit{})
	}
	s := r.Close(epoch.Add(10 * time.Second))

	want := []Window{{
		Start:    100 * interval,
		End:      250 * interval,
		After:    99 * interval,
		Failures: 150,
		Classes:  []Class{ClassRefused},
		Codes:    []uint16{0},
	}}
	if diff := cmp.Diff(want, s.Outage.List); diff != "" {
		t.Errorf("windows (-want +got):\n%s", diff)
	}
	if s.Outage.Longest != 3*time.Second {
		t.Errorf("longest downtime = %s, want 3s", s.Outage.Longest)
	}
	if s.Overall.Requests != 500 || s.Overall.Failures != 150 {
		t.Errorf("requests, failures = %d, %d; want 500, 150", s.Overall.Requests, s.Overall.Failures)
	}
	if s.FirstFailure != 2*time.Second || s.LastFailure != 249*interval {
		t.Errorf("first, last failure = %s, %s; want 2s, %s", s.FirstFailure, s.LastFailure, 249*interval)
	}
}

func TestOutOfOrderArrivalGivesTheSameAnswer(t *testing.T) {
	t.Parallel()
	interval := 10 * time.Millisecond
	down := func(i int) bool { return i%97 == 0 || (i >= 300 && i < 420) }
	inOrder := schedule(1000, interval, down)
	shuffled := schedule(1000, interval, down)
	// Completion order differs from send order by up to 50 requests, as
	// with slow responses in flight.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range shuffled {
		j := min(len(shuffled)-1, i+rng.IntN(50))
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}

	summarize := func(results []*vegeta.Result) *Summary {
		r := NewRecorder(epoch, []string{"GET /"}, Options{})
		for _, res := range results {
			r.Record(res, Hit{})
		}
		return r.Close(epoch.Add(10 * time.Second))
	}
	want, got := summarize(inOrder), summarize(shuffled)
	if diff := cmp.Diff(want.Outage.List, got.Outage.List); diff != "" {
		t.Errorf("windows differ when results arrive out of order (-in order +shuffled):\n%s", diff)
	}
	if diff := cmp.Diff(want.Seconds, got.Seconds, cmp.AllowUnexported(Second{})); diff != "" {
		t.Errorf("timeline differs when results arrive out of order (-in order +shuffled):\n%s", diff)
	}
	if want.Outage.Longest != 120*interval {
		t.Errorf("longest downtime = %s, want %s", want.Outage.Longest, 120*interval)
	}
	if wantCount := 1 + int64(len(isolatedFailures(1000, down))); want.Outage.Count != wantCount {
		t.Errorf("window count = %d, want %d", want.Outage.Count, wantCount)
	}
}

// isolatedFailures lists the failures outside the long outage.
func isolatedFailures(n int, down func(int) bool) []int {
	var out []int
	for i := range n {
		if down(i) && (i < 300 || i >= 420) {
			out = append(out, i)
		}
	}
	return out
}

func TestOutageAtTheEndStaysOpenUntilTheLoadStops(t *testing.T) {
	t.Parallel()
	results := schedule(100, 10*time.Millisecond, func(i int) bool { return i >= 80 })
	r := NewRecorder(epoch, nil, Options{})
	for _, res := range results {
		r.Record(res, Hit{Target: -1})
	}
	s := r.Close(epoch.Add(time.Second))
	if len(s.Outage.List) != 1 || !s.Outage.List[0].Open {
		t.Fatalf("windows = %+v, want one open window", s.Outage.List)
	}
	if got := s.Outage.List[0].Duration(); got != 200*time.Millisecond {
		t.Errorf("open window lasts %s, want 200ms (800ms to the stop at 1s)", got)
	}
}

func TestTimelineCountsEachSecondBySendTime(t *testing.T) {
	t.Parallel()
	// 3 s at 10/s; second 1 fails entirely with 503s.
	r := NewRecorder(epoch, []string{"GET /"}, Options{})
	for i := range 30 {
		code, errText := uint16(200), ""
		if i >= 10 && i < 20 {
			code, errText = 503, "503 Service Unavailable"
		}
		r.Record(result(uint64(i), time.Duration(i)*100*time.Millisecond, time.Duration(i+1)*time.Millisecond, code, errText), Hit{})
	}
	s := r.Close(epoch.Add(3 * time.Second))
	if len(s.Seconds) != 3 {
		t.Fatalf("timeline has %d seconds, want 3", len(s.Seconds))
	}
	for i, sec := range s.Seconds {
		wantFailures := int64(0)
		if i == 1 {
			wantFailures = 10
		}
		if sec.Requests != 10 || sec.Failures != wantFailures || sec.ByClass[Class5xx] != wantFailures {
			t.Errorf("second %d: requests %d, failures %d, 5xx %d; want 10, %d, %d", i, sec.Requests, sec.Failures, sec.ByClass[Class5xx], wantFailures, wantFailures)
		}
	}
	// Second 2 holds latencies 21..30 ms: p50 is 25 ms, p99 30 ms.
	if got := s.Seconds[2].P50; got < 25*time.Millisecond || got > 25050*time.Microsecond {
		t.Errorf("second 2 p50 = %s, want 25ms", got)
	}
	if got := s.Seconds[2].P99; got < 30*time.Millisecond || got > 30050*time.Microsecond {
		t.Errorf("second 2 p99 = %s, want 30ms", got)
	}
	if diff := cmp.Diff([]CodeCount{{200, 20}, {503, 10}}, s.Codes); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]ErrorCount{{Class5xx, 10, "503 Service Unavailable"}}, s.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestPhasesSplitByTheMomentTheyStart(t *testing.T) {
	t.Parallel()
	r := NewRecorder(epoch, []string{"GET /"}, Options{})
	r.StartPhase("head", epoch)
	r.Record(result(0, 0, time.Millisecond, 200, ""), Hit{})
	r.StartPhase("deploy", epoch.Add(10*time.Millisecond))
	r.Record(result(1, 10*time.Millisecond, time.Millisecond, 502, "502 Bad Gateway"), Hit{})
	r.Record(result(2, 20*time.Millisecond, time.Millisecond, 200, ""), Hit{})
	s := r.Close(epoch.Add(30 * time.Millisecond))
	if len(s.Phases) != 2 {
		t.Fatalf("phases = %d, want 2", len(s.Phases))
	}
	head, deploy := s.Phases[0], s.Phases[1]
	if head.Requests != 1 || head.Failures != 0 || deploy.Requests != 2 || deploy.Failures != 1 {
		t.Errorf("head %d/%d, deploy %d/%d (requests/failures); want 1/0 and 2/1", head.Requests, head.Failures, deploy.Requests, deploy.Failures)
	}
	if head.End != 10*time.Millisecond || deploy.Start != 10*time.Millisecond || deploy.End != 30*time.Millisecond {
		t.Errorf("head ends %s, deploy spans %s to %s; want 10ms, 10ms to 30ms", head.End, deploy.Start, deploy.End)
	}
	if deploy.Downtime != 10*time.Millisecond || deploy.Outage != 10*time.Millisecond || head.Downtime != 0 {
		t.Errorf("downtime head %s, deploy %s (outage %s); want 0 and 10ms (10ms)", head.Downtime, deploy.Downtime, deploy.Outage)
	}
}

func TestTargetsAndPhasesKeepTheLatencyOfSuccessesApart(t *testing.T) {
	t.Parallel()
	r := NewRecorder(epoch, []string{"GET /"}, Options{})
	r.StartPhase("deploy", epoch)
	// Refusals fail in microseconds; counted, they would read as a
	// speed-up.
	r.Record(result(0, 0, 40*time.Millisecond, 200, ""), Hit{})
	for i := range 200 {
		r.Record(result(uint64(i+1), time.Duration(i+1)*time.Millisecond, 50*time.Microsecond, 0, "connect: connection refused"), Hit{})
	}
	s := r.Close(epoch.Add(time.Second))
	for what, a := range map[string]*Aggregate{"target": s.Targets[0].Aggregate, "phase": s.Phases[0].Aggregate} {
		// Histograms keep three significant figures: 40ms within 0.1%.
		near := func(d time.Duration) bool { return d >= 40*time.Millisecond && d <= 40040*time.Microsecond }
		if got := a.SucceededLatency(); !near(got.P50) || !near(got.P99) || !near(got.Max) {
			t.Errorf("%s: latency of successes %+v, want 40ms throughout", what, got)
		}
		if got := a.Latency().P99; got >= time.Millisecond {
			t.Errorf("%s: p99 of every request %s, want the refusals' microseconds", what, got)
		}
	}
	if got := s.Overall.SucceededLatency(); got != (Latency{}) {
		t.Errorf("the whole run keeps no latency of successes apart, yet gave %+v", got)
	}
}

func TestOneEndpointDownIsDowntimeThoughTheAPIAnswered(t *testing.T) {
	t.Parallel()
	// Three endpoints in turn, 10 ms apart: each is asked every 30 ms.
	// /images answers 502 from 1 s to 4 s; the others never fail.
	names := []string{"GET /health", "GET /images", "GET /audio"}
	r := NewRecorder(epoch, names, Options{})
	r.StartPhase("head", epoch)
	r.StartPhase("deploy", epoch.Add(time.Second))
	for i := range 600 {
		target := i % 3
		at := time.Duration(i) * 10 * time.Millisecond
		code, errText := uint16(200), ""
		if target == 1 && at >= time.Second && at < 4*time.Second {
			code, errText = 502, "502 Bad Gateway"
		}
		r.Record(result(uint64(i), at, time.Millisecond, code, errText), Hit{Target: target})
	}
	s := r.Close(epoch.Add(6 * time.Second))

	// The whole API was never down: the other endpoints kept answering.
	if s.Outage.Count != 0 || s.Outage.Longest != 0 {
		t.Errorf("whole-API outage = %+v, want none: two endpoints kept answering", s.Outage)
	}
	images := s.Target("GET /images")
	// The first failure was sent at 1.00 s, the next success at 4.00 s:
	// exact to one of the endpoint's request intervals (30 ms).
	want := Windows{
		List:    []Window{{Start: time.Second, End: 4 * time.Second, After: 970 * time.Millisecond, Failures: 100, Classes: []Class{Class5xx}, Codes: []uint16{502}}},
		Count:   1,
		Total:   3 * time.Second,
		Longest: 3 * time.Second,
	}
	if diff := cmp.Diff(want, images.Down); diff != "" {
		t.Errorf("GET /images windows (-want +got):\n%s", diff)
	}
	if got := s.Downtime(); got != 3*time.Second {
		t.Errorf("Downtime() = %s, want the worst endpoint's 3s", got)
	}
	if worst := s.WorstTarget(); worst == nil || worst.Name != "GET /images" {
		t.Errorf("WorstTarget() = %v, want GET /images", worst)
	}
	if got := s.Phases[1].Downtime; got != 3*time.Second {
		t.Errorf("deploy phase downtime = %s, want 3s", got)
	}
	if got := s.Phases[0].Downtime; got != 0 {
		t.Errorf("head phase downtime = %s, want 0", got)
	}
}

func TestAnEndpointThatNeverRecoveredIsOpen(t *testing.T) {
	t.Parallel()
	names := []string{"GET /a", "GET /b"}
	r := NewRecorder(epoch, names, Options{})
	for i := range 200 {
		target := i % 2
		at := time.Duration(i) * 10 * time.Millisecond
		code, errText := uint16(200), ""
		if target == 1 && at >= time.Second {
			code, errText = 429, "429 Too Many Requests"
		}
		r.Record(result(uint64(i), at, time.Millisecond, code, errText), Hit{Target: target})
	}
	s := r.Close(epoch.Add(2 * time.Second))
	b := s.Target("GET /b")
	if !b.Down.Open || len(b.Down.List) != 1 || !b.Down.List[0].Open {
		t.Fatalf("GET /b windows = %+v, want one open window", b.Down)
	}
	// Its last success was sent at 0.99 s, its first failure at 1.01 s.
	if got := b.Down.Longest; got != 990*time.Millisecond {
		t.Errorf("GET /b downtime = %s, want 990ms (from 1.01s to the stop at 2s)", got)
	}
	if a := s.Target("GET /a"); a.Down.Open || a.Down.Count != 0 {
		t.Errorf("GET /a windows = %+v, want none", a.Down)
	}
}

func TestWindowListKeepsTheLongest(t *testing.T) {
	t.Parallel()
	// Every other request fails: one short window each, plus one long one.
	n := 2*MaxWindows*3 + 100
	results := schedule(n, time.Millisecond, func(i int) bool { return i%2 == 1 || (i >= 50 && i < 90) })
	r := NewRecorder(epoch, nil, Options{})
	for _, res := range results {
		r.Record(res, Hit{Target: -1})
	}
	s := r.Close(epoch.Add(time.Duration(n) * time.Millisecond))
	if len(s.Outage.List) != MaxWindows {
		t.Fatalf("kept %d windows, want %d", len(s.Outage.List), MaxWindows)
	}
	if s.Outage.Count <= MaxWindows {
		t.Errorf("counted %d windows, want more than %d", s.Outage.Count, MaxWindows)
	}
	if s.Outage.Longest != 41*time.Millisecond {
		t.Errorf("longest = %s, want 41ms (49 fails, 50..89 fail, 90 succeeds)", s.Outage.Longest)
	}
	for i := 1; i < len(s.Outage.List); i++ {
		if s.Outage.List[i].Start < s.Outage.List[i-1].Start {
			t.Fatalf("windows not in time order at %d", i)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code uint16
		err  string
		want Class
	}{
		{200, "", ClassNone},
		{302, "", ClassNone},
		{503, "503 Service Unavailable", Class5xx},
		{404, "404 Not Found", Class4xx},
		{0, `Get "http://127.0.0.1:9/": dial tcp 127.0.0.1:9: connect: connection refused`, ClassRefused},
		{0, `Get "http://127.0.0.1:9/": read tcp 127.0.0.1:5->127.0.0.1:9: read: connection reset by peer`, ClassReset},
		{0, `Post "http://127.0.0.1:9/": write tcp 127.0.0.1:5->127.0.0.1:9: write: broken pipe`, ClassReset},
		{0, `Get "http://127.0.0.1:9/": EOF`, ClassClosed},
		{0, `Get "http://127.0.0.1:9/": http: server closed idle connection`, ClassClosed},
		{0, `Get "http://127.0.0.1:9/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, ClassTimeout},
		{0, `Get "https://127.0.0.1:9/": tls: failed to verify certificate: x509: certificate signed by unknown authority`, ClassTLS},
		{0, `Get "http://nowhere.invalid/": dial tcp: lookup nowhere.invalid: no such host`, ClassDNS},
		{0, "something odd", ClassOther},
	}
	for _, tt := range tests {
		if got := Classify(tt.code, tt.err); got != tt.want {
			t.Errorf("Classify(%d, %q) = %s, want %s", tt.code, tt.err, got, tt.want)
		}
	}
}

func TestEachConnectionModeHasItsOwnDowntime(t *testing.T) {
	t.Parallel()
	// Every fifth request goes on a fresh connection. From 1 s to 3 s new
	// connections are refused while kept-alive ones are still served.
	r := NewRecorder(epoch, []string{"GET /"}, Options{})
	for i := range 250 {
		at := time.Duration(i) * 20 * time.Millisecond
		fresh := i%5 == 0
		res := result(uint64(i), at, time.Millisecond, 200, "")
		if fresh && at >= time.Second && at < 3*time.Second {
			res = result(uint64(i), at, time.Millisecond, 0, "dial tcp 127.0.0.1:1: connect: connection refused")
		}
		r.Record(res, Hit{Fresh: fresh, SilentRetried: i == 7})
	}
	s := r.Close(epoch.Add(5 * time.Second))
	keepAlive, fresh := s.Modes[0], s.Modes[1]
	if keepAlive.Name != "keep-alive" || fresh.Name != "fresh" {
		t.Fatalf("modes = %s, %s", keepAlive.Name, fresh.Name)
	}
	if keepAlive.Requests != 200 || fresh.Requests != 50 {
		t.Errorf("requests keep-alive %d, fresh %d; want 200, 50", keepAlive.Requests, fresh.Requests)
	}
	if keepAlive.Down.Longest != 0 || keepAlive.Failures != 0 {
		t.Errorf("keep-alive downtime %s, failures %d; want none", keepAlive.Down.Longest, keepAlive.Failures)
	}
	if fresh.Down.Longest != 2*time.Second {
		t.Errorf("fresh downtime %s, want 2s (exact to one fresh request interval, 100ms)", fresh.Down.Longest)
	}
	if s.Outage.Longest > 20*time.Millisecond {
		t.Errorf("overall downtime %s; keep-alive requests kept succeeding, so want one request interval at most", s.Outage.Longest)
	}
	if keepAlive.SilentRetries != 1 || s.Seconds[0].SilentRetries != 1 {
		t.Errorf("silent retries: mode %d, second 0 %d; want 1, 1", keepAlive.SilentRetries, s.Seconds[0].SilentRetries)
	}
}

func TestEachEndpointHasItsShareOfEachConnectionMode(t *testing.T) {
	t.Parallel()
	// Two endpoints asked in turn for 3 s, one request in ten of each on
	// a fresh connection; the second answers 502 throughout.
	r := NewRecorder(epoch, []string{"GET /ok", "GET /bad"}, Options{})
	for i := range 300 {
		target := i % 2
		code, errText := uint16(200), ""
		if target == 1 {
			code, errText = 502, "502 Bad Gateway"
		}
		r.Record(result(uint64(i), time.Duration(i)*10*time.Millisecond, time.Millisecond, code, errText), Hit{Target: target, Fresh: i/2%10 == 9})
	}
	s := r.Close(epoch.Add(3 * time.Second))
	want := [2][2]ModeShare{
		{{Requests: 135}, {Requests: 15}},
		{{Requests: 135, Failures: 135}, {Requests: 15, Failures: 15}},
	}
	for i, target := range s.Targets {
		for m, share := range target.Modes {
			w := want[i][m]
			if share.Requests != w.Requests || share.Failures != w.Failures {
				t.Errorf("%s on %s connections: %d requests, %d failed; want %d, %d", target.Name, ModeNames[m], share.Requests, share.Failures, w.Requests, w.Failures)
			}
		}
	}
	// The failing endpoint never answered, on either kind of connection:
	// down from its first request to the end, on both.
	for m, share := range s.Targets[1].Modes {
		if share.Down.Longest < 2800*time.Millisecond || !share.Down.Open {
			t.Errorf("GET /bad on %s connections: longest window %s, open %v; want about 3 s, open", ModeNames[m], share.Down.Longest, share.Down.Open)
		}
		if s.Modes[m].Down.Longest != share.Down.Longest {
			t.Errorf("%s connections: longest window %s; want the failing endpoint's, %s", ModeNames[m], s.Modes[m].Down.Longest, share.Down.Longest)
		}
	}
	if s.Targets[0].Modes[0].Down.Count != 0 || s.Targets[0].Modes[1].Down.Count != 0 {
		t.Errorf("GET /ok has windows %+v; want none", s.Targets[0].Modes)
	}
}

func TestVersionHeaderShowsTheCutOver(t *testing.T) {
	t.Parallel()
	var results []*vegeta.Result
	for i := range 100 {
		at := time.Duration(i) * 40 * time.Millisecond // 4 s at 25/s
		version := "v1"
		if at >= 1500*time.Millisecond && (i%2 == 0 || at >= 2*time.Second) {
			version = "v2"
		}
		res := result(uint64(i), at, time.Millisecond, 200, "")
		res.Headers = map[string][]string{"X-Version": {version}}
		if i == 30 {
			res = result(uint64(i), at, time.Millisecond, 0, "EOF") // no answer, no version
		}
		results = append(results, res)
	}
	r := NewRecorder(epoch, nil, Options{VersionHeader: "X-Version"})
	// Results arrive newest first: the versions are still ordered by
	// when they first answered.
	for i := len(results) - 1; i >= 0; i-- {
		r.Record(results[i], Hit{Target: -1})
	}
	s := r.Close(epoch.Add(4 * time.Second))

	want := []VersionSummary{
		{Name: "v1", First: 0, Last: 1960 * time.Millisecond, Requests: 43, Failures: 0},
		{Name: "v2", First: 1520 * time.Millisecond, Last: 3960 * time.Millisecond, Requests: 56, Failures: 0},
	}
	if diff := cmp.Diff(want, s.Versions); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	old, next, ok := s.CutOver()
	if !ok || old.Name != "v1" || next.Name != "v2" {
		t.Errorf("CutOver = %s, %s, %v; want v1, v2, true", old.Name, next.Name, ok)
	}
	// Second 0 heard only v1, second 1 both, second 3 only v2.
	if s.Seconds[0].Versions != 0b01 || s.Seconds[1].Versions != 0b11 || s.Seconds[3].Versions != 0b10 {
		t.Errorf("version bits by second = %b %b %b", s.Seconds[0].Versions, s.Seconds[1].Versions, s.Seconds[3].Versions)
	}
}

func TestDegradedSecondsMergeIntoWindows(t *testing.T) {
	t.Parallel()
	seconds := []Second{
		{Requests: 10, Failures: 0},
		{Requests: 10, Failures: 2},
		{Requests: 10, Failures: 5},
		{Requests: 10, Failures: 1},
		{Requests: 0},
		{Requests: 10, Failures: 10},
	}
	got := degradedWindows(seconds, 0.1)
	want := []Degraded{
		{Start: time.Second, End: 3 * time.Second, Requests: 20, Failures: 7, WorstRate: 0.5},
		{Start: 5 * time.Second, End: 6 * time.Second, Requests: 10, Failures: 10, WorstRate: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("degraded windows (-want +got):\n%s", diff)
	}
	if got := degradedWindows(seconds, 0); got != nil {
		t.Errorf("level 0 gives %v, want none", got)
	}
}

func TestVersionFieldIsReadFromJSONAnswers(t *testing.T) {
	t.Parallel()
	r := NewRecorder(epoch, nil, Options{VersionHeader: "X-Version", VersionField: "build.version"})
	bodies := []string{
		`{"build": {"version": "v1"}}`,
		`{"build": {"version": "v2"}, "status": "ok"}`,
		`{"build": "flat"}`,
		`not json`,
		`{"build": {"version": 3}}`,
	}
	for i, body := range bodies {
		res := result(uint64(i), time.Duration(i)*time.Second, time.Millisecond, 200, "")
		res.Body = []byte(body)
		r.Record(res, Hit{Target: -1})
	}
	header := result(5, 5*time.Second, time.Millisecond, 200, "")
	header.Headers = map[string][]string{"X-Version": {"v9"}}
	header.Body = []byte(`{"build": {"version": "ignored"}}`)
	r.Record(header, Hit{Target: -1})
	var names []string
	for _, v := range r.Close(epoch.Add(6 * time.Second)).Versions {
		names = append(names, v.Name)
	}
	if diff := cmp.Diff([]string{"v1", "v2", "3", "v9"}, names); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
}

func TestAVersionNeverShowsASecretAndIsCutShort(t *testing.T) {
	t.Parallel()
	const secret = "BEARERSECRET123"
	long := strings.Repeat("é", 40) // 80 bytes
	tests := []struct {
		name    string
		opts    Options
		answers []string // JSON bodies, one answer each
		want    []string
	}{
		{
			name:    "an echoed Authorization header with a secret input's token",
			opts:    Options{VersionField: "auth", Secrets: []string{secret}},
			answers: []string{`{"auth": "Bearer ` + secret + `"}`, `{"auth": "Bearer ` + secret + `"}`},
			want:    []string{"Bearer ***"},
		},
		{
			name:    "a token the check was not told of, after an authorization scheme",
			opts:    Options{VersionField: "auth"},
			answers: []string{`{"auth": "Bearer abc.def.ghi"}`, `{"auth": "basic dXNlcjpwYXNz"}`, `{"auth": "v1"}`},
			want:    []string{"Bearer ***", "basic ***", "v1"},
		},
		{
			name:    "a secret inside a version, and credential pairs",
			opts:    Options{VersionField: "v", Secrets: []string{secret}},
			answers: []string{`{"v": "build-` + secret + `"}`, `{"v": "v2 token=abcdef"}`},
			want:    []string{"build-***", "v2 token=***"},
		},
		{
			name:    "a field named for a credential",
			opts:    Options{VersionField: "session.token"},
			answers: []string{`{"session": {"token": "xyz"}}`},
			want:    []string{"***"},
		},
		{
			name:    "a whole body for a version",
			opts:    Options{VersionField: "v"},
			answers: []string{`{"v": "` + long + `"}`, `{"v": "` + strings.Repeat("x", 64) + `"}`},
			want:    []string{strings.Repeat("é", 32) + "…", strings.Repeat("x", 64)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.ForMerge = true
			r := NewRecorder(epoch, []string{"GET /"}, tt.opts)
			for i, body := range tt.answers {
				res := result(uint64(i), time.Duration(i)*time.Second, time.Millisecond, 200, "")
				res.Body = []byte(body)
				r.Record(res, Hit{})
			}
			s := r.Close(epoch.Add(time.Duration(len(tt.answers)) * time.Second))
			var names []string
			for _, v := range s.Versions {
				names = append(names, v.Name)
				if len(v.Name) > maxVersionName+len("…") {
					t.Errorf("version %q is %d bytes long", v.Name, len(v.Name))
				}
			}
			if diff := cmp.Diff(tt.want, names); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
			part, err := json.Marshal(s.Part())
			if err != nil {
				t.Fatal(err)
			}
			for _, leak := range []string{secret, "abc.def.ghi", "dXNlcjpwYXNz", "abcdef", "xyz"} {
				if strings.Contains(string(part), leak) || strings.Contains(fmt.Sprint(s.Versions), leak) {
					t.Errorf("%q reached the summary or its part", leak)
				}
			}
		})
	}
}

func TestASelectionKeepsItsPartOfTheRun(t *testing.T) {
	t.Parallel()
	// Two targets in turn, 10 ms apart, for 4 s; the deploy phase runs
	// from 1 s to 3 s. Target 1 answers 503 from 1.5 s to 2 s, and takes
	// 50 ms to succeed during the deploy, 5 ms otherwise.
	deployOnly := Selection{Targets: []int{1}, Phase: "deploy", Successful: true, PerSecond: true}
	r := NewRecorder(epoch, []string{"GET /a", "GET /b"}, Options{Selections: []Selection{deployOnly, {}}})
	r.StartPhase("head", epoch)
	r.StartPhase("deploy", epoch.Add(time.Second))
	r.StartPhase("tail", epoch.Add(3*time.Second))
	for i := range 400 {
		at := time.Duration(i) * 10 * time.Millisecond
		target := i % 2
		code, latency, errText := uint16(200), 5*time.Millisecond, ""
		if target == 1 && at >= time.Second && at < 3*time.Second {
			latency = 50 * time.Millisecond
			if at >= 1500*time.Millisecond && at < 2*time.Second {
				code, latency, errText = 503, time.Millisecond, "503 Service Unavailable"
			}
		}
		r.Record(result(uint64(i), at, latency, code, errText), Hit{Target: target})
	}
	s := r.Close(epoch.Add(4 * time.Second))
	if len(s.Selected) != 2 {
		t.Fatalf("%d selections kept, want 2", len(s.Selected))
	}
	sel := s.Selected[0]
	if sel.Requests != 100 || sel.Failures != 25 {
		t.Errorf("deploy share of GET /b: %d requests, %d failed; want 100 and 25", sel.Requests, sel.Failures)
	}
	// Only its successful requests are timed: all took 50 ms.
	if p := sel.Quantile(0.01); p < 50*time.Millisecond || p > 50100*time.Microsecond {
		t.Errorf("p1 of successful requests = %s, want 50ms", p)
	}
	if got := sel.Downtime(); got != 500*time.Millisecond {
		t.Errorf("downtime within the deploy = %s, want 500ms", got)
	}
	if got := sel.RequestRate(); got != 50 {
		t.Errorf("request rate over the 2 s deploy = %v, want 50", got)
	}
	if n := sel.SecondCount(); n != 3 {
		t.Fatalf("kept %d seconds, want 3 (up to the deploy's last)", n)
	}
	if r, f := sel.SecondRequests(0); r != 0 || f != 0 {
		t.Errorf("second 0, before the deploy: %d requests, %d failed; want none", r, f)
	}
	if r, f := sel.SecondRequests(1); r != 50 || f != 25 {
		t.Errorf("second 1: %d requests, %d failed; want 50 and 25", r, f)
	}
	if h := sel.SecondLatency(1); h == nil || h.TotalCount() != 25 {
		t.Errorf("second 1 timed %v requests, want its 25 successes", h)
	}
	if whole := s.Selected[1]; whole.Requests != 400 || whole.Failures != 25 || whole.SecondCount() != 0 {
		t.Errorf("the whole run: %d requests, %d failed, %d seconds; want 400, 25, none kept", whole.Requests, whole.Failures, whole.SecondCount())
	}
}
