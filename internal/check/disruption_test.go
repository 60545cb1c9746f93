package check

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
)

// These tests hold real load on servers that fail the ways deploys make
// them fail, and check what the generator and the recorder, together, make
// of it. Each phase ends on a condition (so many answers served), never
// after a fixed time, so a busy machine only makes them slower.

// measure holds load on targets with the real generator and recorder: it
// calls during once the server has answered 30 requests, and stops the
// load once it has answered 30 more after during returned.
func measure(t *testing.T, served func() int64, opts load.Options, targets []load.Target, during func()) (*stats.Summary, load.Health) {
	t.Helper()
	gen, err := load.New(targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rec := stats.NewRecorder(start, []string{"target"}, stats.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	atLeast := func(n int64) func() bool {
		from := served()
		return func() bool { return served()-from >= n }
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		if !checktest.WaitUntil(atLeast(30)) {
			t.Error("the server never answered 30 requests")
			return
		}
		during()
		if !checktest.WaitUntil(atLeast(30)) {
			t.Error("the server never answered 30 requests after the disruption")
		}
	}()
	health := gen.Run(ctx, func(res *vegeta.Result, hit load.Hit) { rec.Record(res, statsHit(hit)) })
	<-done
	return rec.Close(time.Now()), health
}

// flakyServer is a loopback HTTP server whose listener and connections the
// test controls.
type flakyServer struct {
	t      *testing.T
	addr   string
	server *http.Server
	served atomic.Int64

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func startFlakyServer(t *testing.T) *flakyServer {
	t.Helper()
	s := &flakyServer{t: t, conns: map[net.Conn]bool{}}
	s.server = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.served.Add(1)
			_, _ = io.WriteString(w, "ok")
		}),
		ConnState: func(c net.Conn, state http.ConnState) {
			s.mu.Lock()
			defer s.mu.Unlock()
			switch state {
			case http.StateNew:
				s.conns[c] = true
			case http.StateClosed, http.StateHijacked:
				delete(s.conns, c)
			}
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.listen(ln)
	t.Cleanup(func() { s.server.Close() })
	return s
}

func (s *flakyServer) listen(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	go func() { _ = s.server.Serve(ln) }()
}

// stopAccepting closes the listener: new connections are refused. With
// dropConns, every open connection is closed too, as when a process dies.
func (s *flakyServer) stopAccepting(dropConns bool) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ln.Close()
	if dropConns {
		for c := range s.conns {
			c.Close()
		}
	}
	return time.Now()
}

// accept listens again on the same address.
func (s *flakyServer) accept() time.Time {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if ln, err := net.Listen("tcp", s.addr); err == nil {
			s.listen(ln)
			return time.Now()
		}
	}
	s.t.Errorf("could not listen again on %s", s.addr)
	return time.Now()
}

func TestAnOutageIsMeasuredToARequestIntervalInBothConnectionModes(t *testing.T) {
	t.Parallel()
	const rate, share = 100, 0.5
	server := startFlakyServer(t)
	var down, up time.Time
	opts := load.Options{Rate: vegeta.Rate{Freq: rate, Per: time.Second}, Timeout: time.Second, FreshShare: share}
	summary, health := measure(t, server.served.Load, opts, []load.Target{{Method: http.MethodGet, URL: "http://" + server.addr + "/"}}, func() {
		down = server.stopAccepting(true)
		time.Sleep(2 * time.Second) // the outage itself
		up = server.accept()
	})
	actual := up.Sub(down)
	// Each mode gets half the requests: one every 20 ms. A request leaves
	// at most LagMax late, and the moment it is stamped as sent and the
	// moment it dials differ by scheduling; the slack allows for both.
	interval := time.Duration(float64(time.Second) / (rate * share))
	slack := interval + health.LagMax + 50*time.Millisecond
	for _, mode := range summary.Modes {
		if got := mode.Down.Longest; got < actual-slack || got > actual+slack {
			t.Errorf("%s connections: downtime %s, the server was down %s; want it within %s", mode.Name, got, actual, slack)
		}
	}
	if got := summary.Downtime(); got < actual-slack || got > actual+slack {
		t.Errorf("downtime %s, the server was down %s; want it within %s", got, actual, slack)
	}
}

func TestADrainThatRefusesNewConnectionsShowsOnlyOnFreshOnes(t *testing.T) {
	t.Parallel()
	// A deploy that stops accepting while it keeps serving the connections
	// it has: kept-alive clients notice nothing, new clients are refused.
	// With one request in flight at a time, the kept-alive pool holds one
	// connection and never needs another, however busy the machine.
	server := startFlakyServer(t)
	opts := load.Options{Rate: vegeta.Rate{Freq: 100, Per: time.Second}, Timeout: time.Second, FreshShare: 0.2, MaxWorkers: 1}
	summary, _ := measure(t, server.served.Load, opts, []load.Target{{Method: http.MethodGet, URL: "http://" + server.addr + "/"}}, func() {
		server.stopAccepting(false)
		// Hold the drain while the kept-alive connection answers 50 more,
		// so that fresh requests are refused meanwhile.
		from := server.served.Load()
		checktest.WaitUntil(func() bool { return server.served.Load()-from >= 50 })
		server.accept()
	})
	keepAlive, fresh := summary.Modes[0], summary.Modes[1]
	if keepAlive.Failures != 0 || keepAlive.Down.Longest != 0 {
		t.Errorf("kept-alive requests: %d failures, downtime %s; the drain kept their connection open", keepAlive.Failures, keepAlive.Down.Longest)
	}
	if fresh.Failures == 0 || fresh.Down.Longest == 0 {
		t.Errorf("fresh connections: %d failures, downtime %s; want the refusals seen", fresh.Failures, fresh.Down.Longest)
	}
}

// closeSecondRequestServer answers the first request of each connection
// and closes the connection when a second one arrives, without a word: the
// client finds its reused connection dead after writing to it.
func closeSecondRequestServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Int64
	var conns sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		conns.Wait()
	})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
				r := bufio.NewReader(conn)
				req, err := http.ReadRequest(r)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				served.Add(1)
				_, _ = http.ReadRequest(r) // the second request gets no answer
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/", &served
}

func TestAClosedReusedConnectionIsCountedEvenWhenGETHidesIt(t *testing.T) {
	t.Parallel()
	url, served := closeSecondRequestServer(t)
	opts := load.Options{Rate: vegeta.Rate{Freq: 50, Per: time.Second}, Timeout: time.Second}
	summary, health := measure(t, served.Load, opts, []load.Target{{Method: http.MethodGet, URL: url}}, func() {})
	keepAlive := summary.Modes[0]
	if keepAlive.Failures != 0 {
		t.Errorf("GETs failed %d times; net/http should have retried them silently", keepAlive.Failures)
	}
	if keepAlive.SilentRetries == 0 || health.SilentRetries == 0 {
		t.Errorf("silent retries: mode %d, generator %d; want them counted", keepAlive.SilentRetries, health.SilentRetries)
	}

	// A POST is not retried: the same server shows as errors.
	summary, _ = measure(t, served.Load, opts, []load.Target{{Method: http.MethodPost, URL: url, Body: []byte("{}")}}, func() {})
	if summary.Overall.Failures == 0 {
		t.Error("POSTs on reused connections never failed; want the closed connections seen")
	}
	for _, e := range summary.Errors {
		if e.Class != stats.ClassClosed && e.Class != stats.ClassReset {
			t.Errorf("error class %s (%q), want closed or reset", e.Class, e.Sample)
		}
	}
}
