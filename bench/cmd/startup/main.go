// Command startup measures how long a load tool takes from process start to
// its first request. It serves HTTP on a fresh loopback port per attempt,
// notes the time just before it starts the command (fork and exec are part
// of the start-up a user waits for), and the moment the first request
// arrives; then it interrupts the command and waits for it to exit.
//
// With -load-header it also waits for the first request that carries that
// header (X-Vegeta-Seq marks the load requests of vegeta and of
// deploy-load-check), so that a pre-flight probe sent before the load is
// told apart from the load itself.
//
// The command follows "--"; {url} and {addr} in it, and in -stdin, are
// replaced by the server's URL and host:port:
//
//	startup -n 10 -name ours -- /tmp/dlc --targets 'GET {url}' --rate 1000/1s --duration 5s
//	startup -n 10 -name vegeta -stdin 'GET {url}' -- vegeta attack -rate 1000/s -duration 5s
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
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "startup: %s\n", err)
		os.Exit(2)
	}
}

func run() error {
	attempts := flag.Int("n", 10, "attempts")
	name := flag.String("name", "tool", "name printed with the result")
	stdin := flag.String("stdin", "", "text given to the command on its standard input")
	wait := flag.Duration("timeout", 5*time.Second, "give up on an attempt after this long")
	loadHeader := flag.String("load-header", "", "also time the first request with this header")
	flag.Parse()
	if flag.NArg() == 0 {
		return errors.New("no command given after --")
	}
	var first, firstLoad []time.Duration
	for range *attempts {
		anyRequest, loadRequest, err := attempt(flag.Args(), *stdin, *loadHeader, *wait)
		if err != nil {
			return err
		}
		first = append(first, anyRequest)
		firstLoad = append(firstLoad, loadRequest)
	}
	report := func(what string, samples []time.Duration) {
		slices.Sort(samples)
		ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }
		var all []string
		for _, s := range samples {
			all = append(all, ms(s))
		}
		fmt.Printf("startup name=%q %s n=%d median_ms=%s min_ms=%s max_ms=%s samples_ms=%s\n",
			*name, what, len(samples), ms(samples[len(samples)/2]), ms(samples[0]), ms(samples[len(samples)-1]), strings.Join(all, ","))
	}
	report("first_request", first)
	if *loadHeader != "" {
		report("first_load_request", firstLoad)
	}
	return nil
}

// attempt starts the command once and returns the time to its first
// request and, with loadHeader, to its first request with that header.
func attempt(args []string, stdin, loadHeader string, wait time.Duration) (first, firstLoad time.Duration, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	firstc, loadc := make(chan time.Time, 1), make(chan time.Time, 1)
	var once, loadOnce sync.Once
	server := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		once.Do(func() { firstc <- now })
		if loadHeader != "" && r.Header.Get(loadHeader) != "" {
			loadOnce.Do(func() { loadc <- now })
		}
		_, _ = io.WriteString(w, "ok\n")
	})}
	go func() { _ = server.Serve(ln) }()
	defer server.Close()

	addr := ln.Addr().String()
	expand := func(s string) string {
		return strings.NewReplacer("{url}", "http://"+addr+"/", "{addr}", addr).Replace(s)
	}
	argv := make([]string, len(args))
	for i, a := range args {
		argv[i] = expand(a)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(expand(stdin) + "\n")
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard

	began := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer stop(cmd)
	deadline := time.After(wait)
	select {
	case t := <-firstc:
		first = t.Sub(began)
	case <-deadline:
		return 0, 0, fmt.Errorf("%s: no request within %s", argv[0], wait)
	}
	if loadHeader == "" {
		return first, 0, nil
	}
	select {
	case t := <-loadc:
		return first, t.Sub(began), nil
	case <-deadline:
		return 0, 0, fmt.Errorf("%s: no request with %s within %s", argv[0], loadHeader, wait)
	}
}

// stop interrupts the command and kills it if it does not exit promptly.
func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case <-done:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
	}
}
