package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// everyHit is a schedule of one hit every interval, counting its calls.
type everyHit struct {
	interval time.Duration
	planned  atomic.Int64
}

func (e *everyHit) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	due, _ := e.DueAt(hits)
	return due - elapsed, false
}
func (e *everyHit) Rate(time.Duration) float64 { return float64(time.Second / e.interval) }
func (e *everyHit) DueAt(n uint64) (time.Duration, bool) {
	return time.Duration(n) * e.interval, true
}
func (e *everyHit) Planned(elapsed time.Duration) uint64 {
	e.planned.Add(1)
	return uint64(elapsed/e.interval) + 1
}

func TestASourceFeedsTheLoadAndTaggedAnswersKeepTheirBodies(t *testing.T) {
	t.Parallel()
	var paths sync.Map
	body := strings.Repeat("b", 300)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths.Store(r.URL.Path, true)
		if r.URL.Fragment != "" {
			t.Errorf("the fragment %q reached the server", r.URL.Fragment)
		}
		fmt.Fprint(w, body)
	}))
	defer server.Close()

	var n atomic.Uint64
	source := func(t *vegeta.Target) (int, uint64, error) {
		i := n.Add(1)
		t.Method, t.URL = http.MethodGet, fmt.Sprintf("%s/items/%d", server.URL, i)
		if i == 3 {
			return 0, 0, errors.New("line 3: the file could not be read")
		}
		tag := uint64(0)
		if i%4 == 0 {
			tag = i
		}
		return int(i % 2), tag, nil
	}
	schedule := &everyHit{interval: 5 * time.Millisecond}
	g, err := New([]Target{{Name: "even"}, {Name: "odd"}}, Options{
		Rate: vegeta.Rate{Freq: 200, Per: time.Second}, Timeout: time.Second,
		Source: source, KeepBody: 10, TagBody: 100, Schedule: schedule,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var results atomic.Int64
	health := g.Run(ctx, func(res *vegeta.Result, hit Hit) {
		if res.Method == buildFailed {
			t.Errorf("a request that could not be built was recorded as an answer of staging's: %+v", hit)
			return
		}
		var i uint64
		if _, err := fmt.Sscanf(res.URL[strings.LastIndexByte(res.URL, '/')+1:], "%d", &i); err != nil {
			t.Errorf("result URL %q: %v", res.URL, err)
		}
		if want := int(i % 2); hit.Target != want {
			t.Errorf("request %d counted under target %d, want %d", i, hit.Target, want)
		}
		wantTag, wantBody := uint64(0), body[:10]
		if i%4 == 0 {
			wantTag, wantBody = i, body[:100]
		}
		if hit.Tag != wantTag || string(res.Body) != wantBody {
			t.Errorf("request %d: tag %d and %d bytes of body, want tag %d and %d bytes", i, hit.Tag, len(res.Body), wantTag, len(wantBody))
		}
		if results.Add(1) >= 40 {
			cancel()
		}
	})
	if health.BuildErrors != 1 || !strings.Contains(health.BuildError, "line 3") {
		t.Errorf("build errors %d (%q), want the one the source refused", health.BuildErrors, health.BuildError)
	}
	if health.Rate != (vegeta.Rate{Freq: 200, Per: time.Second}) || schedule.planned.Load() == 0 {
		t.Errorf("health rate %v, schedule asked for its plan %d times; want the rate asked and the schedule's plan", health.Rate, schedule.planned.Load())
	}
	if _, ok := paths.Load("/items/4"); !ok {
		t.Error("the server never saw /items/4")
	}
}

func TestARequestNetHTTPRefusesIsABuildErrorNotAnAnswer(t *testing.T) {
	t.Parallel()
	var g Generator
	refused := &vegeta.Result{Error: `Get "http://127.0.0.1:1/": net/http: invalid header field value for "X-Tag"`}
	if !g.unbuilt(refused) || g.buildErrors.Load() != 1 || g.buildError.Load() == nil {
		t.Errorf("a request net/http refused to send was not counted as a build error")
	}
	for _, res := range []*vegeta.Result{
		{Code: 502},
		{Error: `Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`},
	} {
		if g.unbuilt(res) {
			t.Errorf("%+v was taken as a request that never left", res)
		}
	}
}
