// Package demo serves a small stand-in API on loopback, so that the demo
// command shows a real run's summary in seconds without any setup.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Server is the running demo API.
type Server struct {
	URL    string // http://127.0.0.1:PORT
	server *http.Server
	orders atomic.Int64
}

// Start serves the demo API on a free loopback port until Close.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: listen on loopback: %w", err)
	}
	s := &Server{URL: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": "v2"})
	})
	mux.HandleFunc("GET /api/items", func(w http.ResponseWriter, _ *http.Request) {
		pause(2*time.Millisecond, 6*time.Millisecond)
		writeJSON(w, http.StatusOK, map[string]any{"items": []int{1, 2, 3}, "next": nil})
	})
	mux.HandleFunc("GET /api/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		pause(time.Millisecond, 3*time.Millisecond)
		writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	})
	mux.HandleFunc("POST /api/orders", func(w http.ResponseWriter, _ *http.Request) {
		pause(5*time.Millisecond, 15*time.Millisecond)
		// One order in 100 fails, so the demo shows how errors are reported.
		if s.orders.Add(1)%100 == 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "inventory service unavailable"})
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"status": "created"})
	})
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	// Serve returns ErrServerClosed after Close; the demo has no other way
	// to end.
	go func() { _ = s.server.Serve(ln) }()
	return s, nil
}

// Targets are the demo's requests, in the targets input's syntax.
func (s *Server) Targets() string {
	return strings.Join([]string{
		"GET " + s.URL + "/health",
		"GET " + s.URL + "/api/items",
		"GET " + s.URL + "/api/items/42",
		"POST " + s.URL + "/api/orders",
	}, "\n")
}

// Close stops the server, waiting briefly for requests in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.server.Shutdown(ctx)
}

func pause(lo, hi time.Duration) {
	time.Sleep(lo + rand.N(hi-lo))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
