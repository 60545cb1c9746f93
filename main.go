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
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Getenv, os.Stdout, os.Stderr))
}
