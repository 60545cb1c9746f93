package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/demo"
)

// startDemo starts the embedded API and returns the environment that
// gives the demo its inputs: the API as targets and a short run. Flags
// still override them.
func startDemo(getenv func(string) string) (*demo.API, func(string) string, error) {
	server, err := demo.Start()
	if err != nil {
		return nil, nil, err
	}
	// The report goes to a directory of its own, never into the working
	// tree; its path is printed at the end.
	dir, err := os.MkdirTemp("", "deploy-load-check-demo-")
	if err != nil {
		server.Close()
		return nil, nil, err
	}
	inputs := map[string]string{
		"targets":        server.Targets(),
		"rate":           "100/1s",
		"ramp-up":        "1s",
		"duration":       "5s",
		"timeout":        "2s",
		"max-error-rate": "1%",
		"max-p99":        "250ms",
		"thresholds":     "p(95)<100ms\ndowntime<=500ms",
		"report-file":    filepath.Join(dir, "deploy-load-check-report.json"),
		// The demo never dispatches a deploy, whatever the environment says.
		"workflow":   "",
		"event-type": "",
	}
	return server, func(key string) string {
		if name, ok := strings.CutPrefix(key, "INPUT_"); ok {
			for input, v := range inputs {
				if config.EnvName(input) == "INPUT_"+name {
					return v
				}
			}
		}
		return getenv(key)
	}, nil
}
