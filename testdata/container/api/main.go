// Command api is the staging API that .ci/container.sh puts on a container
// network for the action's image to hold load on: it answers every request
// with 200 "ok" and logs when the first request arrived and how many it has
// served, so the script can tell when the load is flowing and how long the
// action took from its container's start to its first request.
//
// Its log lines, one each, on standard output:
//
//	listening ADDR
//	first-request UNIX_NANOSECONDS
//	served N
//	stopped served=N
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("api", flag.ContinueOnError)
	addr := flags.String("addr", ":8080", "address to listen on")
	every := flags.Duration("log-every", 250*time.Millisecond, "how often to log the count of requests served while it grows")
	if err := flags.Parse(args); err != nil {
		return err
	}
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var (
		served    atomic.Int64
		firstOnce sync.Once
		logMu     sync.Mutex
	)
	logf := func(format string, a ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(stdout, format+"\n", a...)
	}
	server := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived := time.Now()
			firstOnce.Do(func() { logf("first-request %d", arrived.UnixNano()) })
			served.Add(1)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, "ok\n")
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	logf("listening %s", listener.Addr())

	done := make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(*every)
		defer ticker.Stop()
		var logged int64
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				if n := served.Load(); n != logged {
					logf("served %d", n)
					logged = n
				}
			}
		}
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()

	select {
	case err := <-serveErr:
		<-done
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = server.Shutdown(shutdownCtx)
	if serveErr := <-serveErr; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	<-done
	logf("stopped served=%d", served.Load())
	return err
}
