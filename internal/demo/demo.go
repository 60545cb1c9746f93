// Package demo serves a small staging API on loopback that can be deployed
// the ways real deploys go: a graceful reload, a careless restart, an
// endpoint broken for a while or for good. The tests use it as their API
// under load; Staging adds a stand-in GitHub whose deploy workflow
// restarts it, for the demo command to run the whole timeline against.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// API is a running staging API. Its endpoints:
//
//	GET  /health          {"status": "ok", "version": ...}
//	GET  /api/items       a list, in 2 to 6 ms
//	GET  /api/items/{id}  one item, in 1 to 3 ms
//	POST /api/orders      201, in 5 to 15 ms
//
// Every answer carries the version in X-Version.
type API struct {
	URL  string // http://127.0.0.1:PORT
	addr string

	latency bool
	version atomic.Value // string
	hits    atomic.Int64
	// generation counts reloads; a connection opened before the latest
	// one is closed after its next answer.
	generation atomic.Int64
	// slower is added to every answer's latency (SetSlower).
	slower atomic.Int64

	mu      sync.Mutex
	server  *http.Server
	broken  map[string]int // path prefix → status it answers
	stopped bool
}

// Option tunes an API.
type Option func(*API)

// WithoutLatency answers at once, for tests that count requests rather
// than read latencies.
func WithoutLatency() Option { return func(a *API) { a.latency = false } }

// Start serves the API on a free loopback port until Close.
func Start(opts ...Option) (*API, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: listen on loopback: %w", err)
	}
	a := &API{URL: "http://" + ln.Addr().String(), addr: ln.Addr().String(), latency: true, broken: map[string]int{}}
	for _, opt := range opts {
		opt(a)
	}
	a.version.Store("v1")
	a.serve(ln)
	return a, nil
}

func (a *API) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": a.Version()})
	})
	mux.HandleFunc("GET /api/items", func(w http.ResponseWriter, _ *http.Request) {
		a.pause(2*time.Millisecond, 6*time.Millisecond)
		writeJSON(w, http.StatusOK, map[string]any{"items": []int{1, 2, 3}, "next": nil})
	})
	mux.HandleFunc("GET /api/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.pause(time.Millisecond, 3*time.Millisecond)
		writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	})
	mux.HandleFunc("POST /api/orders", func(w http.ResponseWriter, _ *http.Request) {
		a.pause(5*time.Millisecond, 15*time.Millisecond)
		writeJSON(w, http.StatusCreated, map[string]string{"status": "created"})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		if born, ok := r.Context().Value(connGeneration{}).(int64); ok && born < a.generation.Load() {
			// Drained: the client reads this answer whole, then opens a
			// new connection for its next request.
			w.Header().Set("Connection", "close")
		}
		w.Header().Set("X-Version", a.Version())
		if d := time.Duration(a.slower.Load()); d > 0 {
			time.Sleep(d)
		}
		if code := a.brokenStatus(r.URL.Path); code != 0 {
			writeJSON(w, code, map[string]string{"error": http.StatusText(code)})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// connGeneration keys the reload generation a connection was opened in.
type connGeneration struct{}

func (a *API) serve(ln net.Listener) {
	server := &http.Server{
		Handler:           a.handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connGeneration{}, a.generation.Load())
		},
	}
	a.mu.Lock()
	a.server = server
	a.mu.Unlock()
	// Serve returns ErrServerClosed after Close or a restart.
	go func() { _ = server.Serve(ln) }()
}

// Targets are the API's requests, in the targets input's syntax.
func (a *API) Targets() string {
	return strings.Join([]string{
		"GET " + a.URL + "/health",
		"GET " + a.URL + "/api/items",
		"GET " + a.URL + "/api/items/42",
		"POST " + a.URL + "/api/orders",
	}, "\n")
}

// Version is the version that answers now.
func (a *API) Version() string { return a.version.Load().(string) }

// Hits counts the requests the API answered.
func (a *API) Hits() int64 { return a.hits.Load() }

// Reload deploys version without dropping a request, as a rolling restart
// with draining does: the listener stays open, the new version answers
// from now on, and each connection opened before is closed after its next
// answer, which says so (Connection: close), so no client ever writes to a
// connection the server has closed.
func (a *API) Reload(version string) {
	a.version.Store(version)
	a.generation.Add(1)
}

// Restart deploys version the careless way: the server stops, dropping
// every connection, nothing listens for down, then the new version
// listens on the same address. It returns when the API answers again, or
// an error when the address could not be taken back.
func (a *API) Restart(version string, down time.Duration) error {
	if err := a.Stop(); err != nil {
		return err
	}
	time.Sleep(down)
	a.version.Store(version)
	return a.Resume()
}

// Stop closes the listener and every connection: from now on connections
// are refused.
func (a *API) Stop() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return errors.New("demo: the API is stopped already")
	}
	a.stopped = true
	return a.server.Close()
}

// Resume listens again on the API's address after Stop.
func (a *API) Resume() error {
	var ln net.Listener
	err := errors.New("not yet")
	// The port is ours, but the kernel may hold it for a moment.
	for deadline := time.Now().Add(5 * time.Second); err != nil && time.Now().Before(deadline); {
		if ln, err = net.Listen("tcp", a.addr); err != nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err != nil {
		return fmt.Errorf("demo: listen again on %s: %w", a.addr, err)
	}
	a.mu.Lock()
	a.stopped = false
	a.mu.Unlock()
	a.serve(ln)
	return nil
}

// SetSlower makes every answer d slower from now on, as a new version
// with a slow query or a cold cache does; 0 restores the speed.
func (a *API) SetSlower(d time.Duration) { a.slower.Store(int64(d)) }

// Break makes every path starting with prefix answer status, as a broken
// route, a renamed handler or a throttled path does, until Heal.
func (a *API) Break(prefix string, status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.broken[prefix] = status
}

// Heal undoes Break for prefix.
func (a *API) Heal(prefix string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.broken, prefix)
}

func (a *API) brokenStatus(path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	for prefix, code := range a.broken {
		if strings.HasPrefix(path, prefix) {
			return code
		}
	}
	return 0
}

// Close stops the API, waiting briefly for requests in flight.
func (a *API) Close() error {
	a.mu.Lock()
	server := a.server
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return server.Shutdown(ctx)
}

func (a *API) pause(lo, hi time.Duration) {
	if a.latency {
		time.Sleep(lo + rand.N(hi-lo))
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
