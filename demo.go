package main

import (
	"strings"

	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/demo"
)

// demoInputs gives the demo its inputs: the embedded API as targets and a
// short run. Flags still override them.
func demoInputs(server *demo.Server, getenv func(string) string) func(string) string {
	inputs := map[string]string{
		"targets":        server.Targets(),
		"rate":           "100/1s",
		"ramp-up":        "1s",
		"duration":       "5s",
		"timeout":        "2s",
		"max-error-rate": "1%",
		"max-p99":        "250ms",
		"thresholds":     "p(95)<100ms\ndowntime<=500ms",
		// The demo never dispatches a deploy, whatever the environment says.
		"workflow":   "",
		"event-type": "",
	}
	return func(key string) string {
		if name, ok := strings.CutPrefix(key, "INPUT_"); ok {
			for input, v := range inputs {
				if config.EnvName(input) == "INPUT_"+name {
					return v
				}
			}
		}
		return getenv(key)
	}
}
