package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
)

// measure holds load on targets for d with the real generator and the real
// recorder, calling during once the load has run for a second.
func measure(t *testing.T, rate int, freshShare float64, d time.Duration, targets []load.Target, during func()) (*stats.Summary, load.Health) {
	t.Helper()
	gen, err := load.New(targets, load.Options{Rate: vegeta.Rate{Freq: rate, Per: time.Second}, Timeout: time.Second, FreshShare: freshShare})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rec := stats.NewRecorder(start, []string{"target"}, stats.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	go func() {
		time.Sleep(time.Second)
		during()
	}()
	health := gen.Run(ctx, func(res *vegeta.Result, hit load.Hit) { rec.Record(res, stats.Hit(hit)) })
	return rec.Close(time.Now()), health
}

// flakyServer is a loopback HTTP server whose listener and connections the
// test controls.
type flakyServer struct {
	t      *testing.T
	addr   string
	server *http.Server

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func startFlakyServer(t *testing.T) *flakyServer {
	t.Helper()
	s := &flakyServer{t: t, conns: map[net.Conn]bool{}}
	s.server = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }),
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
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if ln, err := net.Listen("tcp", s.addr); err == nil {
			s.listen(ln)
			return time.Now()
		}
		time.Sleep(time.Millisecond)
	}
	s.t.Fatalf("could not listen again on %s", s.addr)
	return time.Time{}
}

func TestAnOutageIsMeasuredToOneRequestIntervalInBothConnectionModes(t *testing.T) {
	t.Parallel()
	const rate, share, outage = 100, 0.5, 2 * time.Second
	server := startFlakyServer(t)
	var down, up time.Time
	summary, _ := measure(t, rate, share, 5*time.Second, []load.Target{{Method: http.MethodGet, URL: "http://" + server.addr + "/"}}, func() {
		down = server.stopAccepting(true)
		time.Sleep(outage)
		up = server.accept()
	})
	actual := up.Sub(down)
	// Each mode gets half the requests: one every 20 ms.
	interval := time.Duration(float64(time.Second) / (rate * share))
	slack := interval + 20*time.Millisecond
	for _, mode := range summary.Modes {
		if got := mode.LongestDowntime; got < actual-slack || got > actual+slack {
			t.Errorf("%s connections: downtime %s, the server was down %s; want it within %s", mode.Name, got, actual, slack)
		}
	}
	if got := summary.LongestDowntime; got < actual-slack || got > actual+slack {
		t.Errorf("overall downtime %s, the server was down %s", got, actual)
	}
}

func TestADrainThatRefusesNewConnectionsShowsOnlyOnFreshOnes(t *testing.T) {
	t.Parallel()
	// A deploy that stops accepting while it keeps serving the connections
	// it has: kept-alive clients notice nothing, new clients are refused.
	server := startFlakyServer(t)
	summary, _ := measure(t, 100, 0.2, 4*time.Second, []load.Target{{Method: http.MethodGet, URL: "http://" + server.addr + "/"}}, func() {
		server.stopAccepting(false)
		time.Sleep(1500 * time.Millisecond)
		server.accept()
	})
	keepAlive, fresh := summary.Modes[0], summary.Modes[1]
	// A kept-alive client only dials (and is refused) when a slow moment
	// leaves it short of idle connections: rare, and never for long.
	if keepAlive.LongestDowntime > 100*time.Millisecond || keepAlive.Failures > fresh.Failures/5 {
		t.Errorf("kept-alive requests: downtime %s, %d failures (fresh: %d); the drain kept their connections open", keepAlive.LongestDowntime, keepAlive.Failures, fresh.Failures)
	}
	if fresh.LongestDowntime < time.Second || fresh.Failures == 0 {
		t.Errorf("fresh connections: downtime %s, %d failures; want the 1.5 s refusal seen", fresh.LongestDowntime, fresh.Failures)
	}
}

// closeSecondRequestServer answers the first request of each connection
// and closes the connection when a second one arrives, without a word: the
// client finds its reused connection dead after writing to it.
func closeSecondRequestServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				req, err := http.ReadRequest(r)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				_, _ = http.ReadRequest(r) // the second request gets no answer
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

func TestAClosedReusedConnectionIsCountedEvenWhenGETHidesIt(t *testing.T) {
	t.Parallel()
	url := closeSecondRequestServer(t)
	summary, health := measure(t, 50, 0, 2*time.Second, []load.Target{{Method: http.MethodGet, URL: url}}, func() {})
	keepAlive := summary.Modes[0]
	if keepAlive.Failures != 0 {
		t.Errorf("GETs failed %d times; net/http should have retried them silently", keepAlive.Failures)
	}
	if keepAlive.SilentRetries == 0 || health.SilentRetries == 0 {
		t.Errorf("silent retries: mode %d, generator %d; want them counted", keepAlive.SilentRetries, health.SilentRetries)
	}

	// A POST is not retried: the same server shows as errors.
	summary, _ = measure(t, 50, 0, 2*time.Second, []load.Target{{Method: http.MethodPost, URL: url, Body: []byte("{}")}}, func() {})
	if summary.Overall.Failures == 0 {
		t.Error("POSTs on reused connections never failed; want the closed connections seen")
	}
	for _, e := range summary.Errors {
		if e.Class != stats.ClassClosed && e.Class != stats.ClassReset {
			t.Errorf("error class %s (%q), want closed or reset", e.Class, e.Sample)
		}
	}
}
