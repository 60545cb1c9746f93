// Command deploy-load-check holds constant-rate HTTP load on a staging API
// while its deploy runs, and fails the check when the deploy dropped
// requests or breached latency limits. It runs as a GitHub Action (inputs
// from INPUT_* variables) or as a CLI (flags named after the inputs).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd := &command{lookupEnv: os.LookupEnv, stdout: os.Stdout, stderr: os.Stderr, tune: tuneProcess}
	code := cmd.main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
