package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stagingAPI is a loopback API that can be deployed the two ways deploys
// really go: a graceful reload (the listener stays, connections drain, the
// new version answers) or a stop-and-start (nothing listens for a while).
type stagingAPI struct {
	t       testing.TB
	addr    string
	version atomic.Value // string
	hits    atomic.Int64

	mu     sync.Mutex
	server *http.Server
}

func startStagingAPI(t testing.TB) *stagingAPI {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api := &stagingAPI{t: t, addr: ln.Addr().String()}
	api.version.Store("v1")
	api.serve(ln)
	t.Cleanup(func() {
		api.mu.Lock()
		defer api.mu.Unlock()
		api.server.Close()
	})
	return api
}

// URL is the API's base URL.
func (a *stagingAPI) URL() string { return "http://" + a.addr }

func (a *stagingAPI) serve(ln net.Listener) {
	server := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.hits.Add(1)
			w.Header().Set("X-Version", a.version.Load().(string))
			fmt.Fprintln(w, "ok")
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	a.mu.Lock()
	a.server = server
	a.mu.Unlock()
	go func() { _ = server.Serve(ln) }()
}

// reload deploys the next version without dropping a request: the listener
// stays open, and existing connections close after their current answer.
func (a *stagingAPI) reload(version string) {
	a.mu.Lock()
	server := a.server
	a.mu.Unlock()
	server.SetKeepAlivesEnabled(false)
	a.version.Store(version)
	time.Sleep(200 * time.Millisecond)
	server.SetKeepAlivesEnabled(true)
}

// restart deploys the next version the careless way: the server stops,
// dropping every connection, and nothing listens for down.
func (a *stagingAPI) restart(version string, down time.Duration) {
	a.mu.Lock()
	server := a.server
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	_ = server.Shutdown(ctx)
	server.Close()
	time.Sleep(down)
	a.version.Store(version)
	var ln net.Listener
	err := errors.New("not yet")
	for deadline := time.Now().Add(5 * time.Second); err != nil && time.Now().Before(deadline); {
		if ln, err = net.Listen("tcp", a.addr); err != nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err != nil {
		a.t.Errorf("staging API could not listen again on %s: %v", a.addr, err)
		return
	}
	a.serve(ln)
}
