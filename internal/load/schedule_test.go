package load

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestARunOfDurationDSendsExactlyRateTimesD(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rate vegeta.Rate
		d    time.Duration
	}{
		{vegeta.Rate{Freq: 50, Per: time.Second}, 2 * time.Second},
		{vegeta.Rate{Freq: 50, Per: time.Second}, 5 * time.Second},
		{vegeta.Rate{Freq: 3, Per: time.Second}, 7 * time.Second},
		{vegeta.Rate{Freq: 1000, Per: time.Second}, 3 * time.Second},
		{vegeta.Rate{Freq: 3000, Per: time.Minute}, time.Minute},
		{vegeta.Rate{Freq: 7, Per: 3 * time.Second}, 30 * time.Second},
	} {
		p := Pacer{Steady: tc.rate}
		want := uint64(tc.rate.Freq) * uint64(tc.d/tc.rate.Per)
		// The hit that would be the first of the next run is due at the
		// very end, to the nanosecond: it is not one of this run's.
		if due, ok := p.DueAt(want); !ok || due != tc.d {
			t.Errorf("%s: DueAt(%d) = %s, want %s exactly", p, want, due, tc.d)
		}
		if got := p.Planned(tc.d); got != want {
			t.Errorf("%s: Planned(%s) = %d, want %d", p, tc.d, got, want)
		}
		if got := p.Planned(tc.d + 1); got != want+1 {
			t.Errorf("%s: Planned(%s + 1ns) = %d, want %d", p, tc.d, got, want+1)
		}
	}
}

func TestPacerDueTimesNeverComeBeforeTheSchedule(t *testing.T) {
	t.Parallel()
	for _, p := range []Pacer{
		{Steady: vegeta.Rate{Freq: 3, Per: time.Second}},
		{Steady: vegeta.Rate{Freq: 100, Per: time.Second}, RampUp: 2 * time.Second},
		{Steady: vegeta.Rate{Freq: 7, Per: 3 * time.Second}, RampUp: 5 * time.Second, Shard: 2, Shards: 3},
	} {
		var last time.Duration
		for n := uint64(0); n < 500; n++ {
			due, ok := p.DueAt(n)
			if !ok {
				t.Fatalf("%s: DueAt(%d) overflowed", p, n)
			}
			if n > 0 && due <= last {
				t.Fatalf("%s: hit %d due at %s, not after hit %d at %s", p, n, due, n-1, last)
			}
			last = due
			// A share's hit n is the whole schedule's hit n·shards+offset;
			// it is due no earlier than the schedule's curve reaches it.
			shards, offset := p.share()
			hits := float64(n*shards + offset)
			r, ramp := p.perNanosecond(), float64(p.RampUp)
			exact := hits/r + ramp/2
			if ramp > 0 && hits <= r*ramp/2 {
				exact = sqrtOf(2 * ramp * hits / r)
			}
			if float64(due) < exact-1 || float64(due) > exact+2 {
				t.Fatalf("%s: hit %d due at %dns, the schedule reaches it at %.1fns", p, n, due, exact)
			}
		}
	}
	if _, ok := (Pacer{Steady: vegeta.Rate{Freq: 1, Per: time.Hour}}).DueAt(1 << 40); ok {
		t.Error("a due time past what a Duration holds was given as ok")
	}
}

func sqrtOf(x float64) float64 {
	// Newton's method, so the test does not share DueAt's math.Sqrt call.
	if x == 0 {
		return 0
	}
	z := x
	for range 200 {
		z = (z + x/z) / 2
	}
	return z
}

// countingServer answers every request and counts them.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { n.Add(1) }))
	t.Cleanup(server.Close)
	return server, &n
}

func TestRunFromSendsTheHitsDueBeforeItsLengthAndNoMore(t *testing.T) {
	t.Parallel()
	server, answered := countingServer(t)
	g, err := New([]Target{{Name: "GET /", Method: http.MethodGet, URL: server.URL}}, Options{Rate: vegeta.Rate{Freq: 200, Per: time.Second}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// The context outlives the schedule: the length alone ends the load,
	// however late a busy machine sends the last hits.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	var late []time.Duration
	health := g.RunFrom(ctx, start, 500*time.Millisecond, func(res *vegeta.Result, _ Hit) {
		due, _ := g.pacer.DueAt(res.Seq)
		if due >= 500*time.Millisecond {
			late = append(late, due)
		}
	})
	if health.Sent != 100 || answered.Load() != 100 {
		t.Errorf("sent %d, the server answered %d; want 100 at 200/s for 500ms", health.Sent, answered.Load())
	}
	if health.Planned != 100 || health.Elapsed != 500*time.Millisecond || !health.Complete {
		t.Errorf("planned %d over %s, complete %v; want 100 over 500ms, complete", health.Planned, health.Elapsed, health.Complete)
	}
	if len(late) > 0 {
		t.Errorf("hits due at %v were sent, at or after the end of the schedule", late)
	}
	if ctx.Err() != nil {
		t.Error("the run waited for its context rather than ending with its schedule")
	}
}

func TestAStopEndsTheWaitForTheNextHitAtOnce(t *testing.T) {
	t.Parallel()
	server, answered := countingServer(t)
	// One hit at the start, the next 30 s later.
	g, err := New([]Target{{Name: "GET /", Method: http.MethodGet, URL: server.URL}}, Options{Rate: vegeta.Rate{Freq: 1, Per: 30 * time.Second}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	returned := make(chan Health, 1)
	go func() {
		returned <- g.Run(ctx, func(*vegeta.Result, Hit) { cancel() })
	}()
	select {
	case health := <-returned:
		if health.Sent != 1 || answered.Load() != 1 || health.Planned != 1 {
			t.Errorf("sent %d, answered %d, planned %d; want the one hit due before the stop", health.Sent, answered.Load(), health.Planned)
		}
		if !health.Complete {
			t.Error("health.Complete = false after the context ended the run")
		}
	case <-time.After(20 * time.Second):
		// The next hit is 30 s away: a run that returns only then slept
		// through its stop.
		t.Fatal("the run did not return after its context ended; it waited for the next hit")
	}
}

func TestEveryTargetGetsItsShareOfFreshConnections(t *testing.T) {
	t.Parallel()
	for _, share := range []float64{0.1, 0.25, 0.5, 0.37} {
		for n := 1; n <= 7; n++ {
			t.Run(fmt.Sprintf("%d targets, %.0f%%", n, share*100), func(t *testing.T) {
				t.Parallel()
				g, err := New(benchTargets(n), Options{Rate: vegeta.Rate{Freq: 100, Per: time.Second}, FreshShare: share})
				if err != nil {
					t.Fatal(err)
				}
				next := g.targeter(nil, nil)
				perTarget := 1000
				requests, fresh := make([]int, n), make([]int, n)
				var order []bool // fresh or not, in send order
				for range n * perTarget {
					var vt vegeta.Target
					if err := next(&vt); err != nil {
						t.Fatal(err)
					}
					res := vegeta.Result{URL: vt.URL}
					i, _, isFresh := detach(&res)
					requests[i]++
					if isFresh {
						fresh[i]++
					}
					order = append(order, isFresh)
				}
				for i := range n {
					if want := share * float64(requests[i]); float64(fresh[i]) < want-1 || float64(fresh[i]) > want+1 {
						t.Errorf("target %d: %d of %d requests fresh, want %.0f", i, fresh[i], requests[i], want)
					}
				}
				// The targets' fresh requests are spread out, not bunched:
				// no stretch of 1/share requests holds more than twice its
				// share of them.
				window := int(1 / share)
				for from := 0; from+window <= len(order); from++ {
					in := 0
					for _, f := range order[from : from+window] {
						if f {
							in++
						}
					}
					if in > 2+int(float64(window)*share) {
						t.Fatalf("requests %d to %d hold %d fresh ones; want them spread", from, from+window, in)
					}
				}
			})
		}
	}
}

func TestTheFreshConnectionsReachEveryEndpoint(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 4, 5} {
		t.Run(fmt.Sprintf("%d targets", n), func(t *testing.T) {
			t.Parallel()
			// The server sees a fresh connection's request ask for the
			// connection to close; it keeps what each request asked, by
			// the sequence number vegeta gives it.
			var mu sync.Mutex
			closing := map[string]bool{}
			byPath := map[string][2]int{} // requests, fresh
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				closing[r.Header.Get(seqHeader)] = r.Close
				c := byPath[r.URL.Path]
				c[0]++
				if r.Close {
					c[1]++
				}
				byPath[r.URL.Path] = c
			}))
			defer server.Close()
			targets := make([]Target, n)
			for i := range targets {
				targets[i] = Target{Name: fmt.Sprint(i), Method: http.MethodGet, URL: fmt.Sprintf("%s/%d", server.URL, i)}
			}
			g, err := New(targets, Options{Rate: vegeta.Rate{Freq: 400, Per: time.Second}, Timeout: 5 * time.Second, FreshShare: 0.1})
			if err != nil {
				t.Fatal(err)
			}
			// 40 requests to each target, 4 of them fresh, however long
			// the machine takes to send them.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var wrong []string
			g.RunFrom(ctx, time.Now(), time.Duration(n)*100*time.Millisecond, func(res *vegeta.Result, hit Hit) {
				mu.Lock()
				defer mu.Unlock()
				if seq := fmt.Sprint(res.Seq); closing[seq] != hit.Fresh {
					wrong = append(wrong, seq)
				}
			})
			if len(wrong) > 0 {
				t.Errorf("requests %v were reported on the other kind of connection than the server saw", wrong)
			}
			for i := range n {
				got := byPath[fmt.Sprintf("/%d", i)]
				if got[0] != 40 || got[1] != 4 {
					t.Errorf("endpoint %d: %d requests, %d on fresh connections; want 40 and 4", i, got[0], got[1])
				}
			}
		})
	}
}

func TestASourcesRequestsGetTheirShareOfFreshConnectionsByTarget(t *testing.T) {
	t.Parallel()
	var n atomic.Uint64
	g, err := New(benchTargets(2), Options{
		Rate: vegeta.Rate{Freq: 100, Per: time.Second}, FreshShare: 0.1,
		// The source sends to target 0 and 1 in turn, as a recording of
		// two endpoints asked in turn would.
		Source: func(vt *vegeta.Target) (int, uint64, error) {
			i := int(n.Add(1) % 2)
			vt.Method, vt.URL = http.MethodGet, fmt.Sprintf("http://127.0.0.1:1/%d", i)
			return i, 0, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	next := g.targeter(nil, nil)
	fresh := make([]int, 2)
	for range 2000 {
		var vt vegeta.Target
		if err := next(&vt); err != nil {
			t.Fatal(err)
		}
		res := vegeta.Result{URL: vt.URL}
		if i, _, isFresh := detach(&res); isFresh {
			fresh[i]++
		}
	}
	if fresh[0] != 100 || fresh[1] != 100 {
		t.Errorf("fresh requests by target %v; want 100 of each target's 1,000", fresh)
	}
}
