package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/stats"
)

// The benchmarks below time the generator's per-request path: the
// targeter vegeta calls for every hit, the transport every request goes
// through, and the loop in Run that every result passes. Run them with
//
//	go test -run '^$' -bench . -benchmem ./internal/load

func benchTargets(n int) []Target {
	targets := make([]Target, n)
	for i := range targets {
		url := fmt.Sprintf("http://127.0.0.1:8080/v1/items/%d?limit=20", i)
		targets[i] = Target{Name: "GET " + url, Method: "GET", URL: url}
	}
	return targets
}

func BenchmarkTargeter(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) {
			g, err := New(benchTargets(n), Options{Rate: vegeta.Rate{Freq: 4000, Per: time.Second}})
			if err != nil {
				b.Fatal(err)
			}
			next := g.targeter(nil, nil)
			var t vegeta.Target
			b.ReportAllocs()
			for b.Loop() {
				if err := next(&t); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPacerDueAt(b *testing.B) {
	p := Pacer{Steady: vegeta.Rate{Freq: 4000, Per: time.Second}, RampUp: 10 * time.Second}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = p.DueAt(uint64(i))
	}
}

// stubClient answers every request at once with an empty 200, so that the
// benchmarks below time vegeta's hit and our loop, not the network.
type stubClient struct{}

func (stubClient) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": []string{"text/plain"}}, Body: http.NoBody, Request: req,
	}, nil
}

// runFor holds the load until n results have been recorded, as fast as the
// generator can send (the pacer is always behind), and returns the health.
func runFor(b *testing.B, g *Generator, n int, record func(*vegeta.Result, Hit)) Health {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var seen atomic.Int64
	return g.Run(ctx, func(res *vegeta.Result, hit Hit) {
		record(res, hit)
		if seen.Add(1) == int64(n) {
			cancel()
		}
	})
}

// BenchmarkRunPerResultNoNetwork times one request through vegeta's
// attacker and the loop in Run, with a stub in place of HTTP: the cost
// that is ours and vegeta's rather than net/http's and the kernel's.
func BenchmarkRunPerResultNoNetwork(b *testing.B) {
	for _, withRecorder := range []bool{false, true} {
		name := "record=noop"
		if withRecorder {
			name = "record=stats.Recorder"
		}
		b.Run(name, func(b *testing.B) {
			targets := benchTargets(1)
			g, err := New(targets, Options{Rate: vegeta.Rate{Freq: 1_000_000_000, Per: time.Second}})
			if err != nil {
				b.Fatal(err)
			}
			g.attacker = vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: stubClient{}}), vegeta.MaxBody(0))
			record := func(*vegeta.Result, Hit) {}
			if withRecorder {
				recorder := stats.NewRecorder(time.Now(), []string{targets[0].Name}, stats.Options{})
				record = func(res *vegeta.Result, hit Hit) {
					recorder.Record(res, stats.Hit{Target: hit.Target, Fresh: hit.Fresh, SilentRetried: hit.SilentRetried})
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			h := runFor(b, g, b.N, record)
			b.StopTimer()
			if h.Sent < uint64(b.N) {
				b.Fatalf("sent %d, want %d", h.Sent, b.N)
			}
		})
	}
}

// BenchmarkRunLoopback is the whole request over loopback HTTP, to an
// in-process server, so its time and allocations include the server's.
func BenchmarkRunLoopback(b *testing.B) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	}))
	defer server.Close()
	targets := []Target{{Name: "GET /", Method: "GET", URL: server.URL + "/"}}
	// Workers are capped so the benchmark measures throughput, not how
	// many connections the machine can open.
	g, err := New(targets, Options{Rate: vegeta.Rate{Freq: 1_000_000_000, Per: time.Second}, MaxWorkers: 64})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	h := runFor(b, g, b.N, func(*vegeta.Result, Hit) {})
	b.StopTimer()
	if h.Sent < uint64(b.N) {
		b.Fatalf("sent %d, want %d", h.Sent, b.N)
	}
}

// BenchmarkClientTimeout shows what http.Client.Timeout costs in front of
// a RoundTripper that net/http does not know: for anything but its own
// *http.Transport, the client enforces the timeout with a timer, two
// channels and a goroutine per request (net/http's setRequestCancel)
// instead of a context deadline.
func BenchmarkClientTimeout(b *testing.B) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	}))
	defer server.Close()
	g, err := New([]Target{{Name: "GET /", Method: "GET", URL: server.URL + "/"}}, Options{Rate: vegeta.Rate{Freq: 1, Per: time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		client *http.Client
	}{
		{"ours+Client.Timeout", &http.Client{Timeout: 10 * time.Second, Transport: g.transport}},
		{"ours+no Client.Timeout", &http.Client{Transport: g.transport}},
		{"http.Transport+Client.Timeout", &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 100}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				req, err := http.NewRequest(http.MethodGet, server.URL+"/", nil)
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set(seqHeader, strconv.Itoa(i))
				res, err := c.client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}
}

// BenchmarkTransport compares one GET through the generator's transport
// (keep-alive share, with its silent-retry trace) with one through a bare
// http.Transport, to an in-process server.
func BenchmarkTransport(b *testing.B) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	}))
	defer server.Close()
	g, err := New([]Target{{Name: "GET /", Method: "GET", URL: server.URL + "/"}}, Options{Rate: vegeta.Rate{Freq: 1, Per: time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"ours", g.transport},
		{"bare", &http.Transport{MaxIdleConnsPerHost: 100}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				req, err := http.NewRequest(http.MethodGet, server.URL+"/", nil)
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set(seqHeader, strconv.Itoa(i))
				res, err := c.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}
}
