package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

// These tests judge deploys against their own head and by phase: what an
// absolute limit on the whole run cannot see.

// TestANewVersion40msSlowerFailsMaxRegressionThoughEveryLimitHolds runs on
// its own, before the parallel tests: the head and the tail must see the
// same machine, or the comparison rightly sees the difference between two
// machines (a head slowed by sixty other tests, a tail on a quiet one).
func TestANewVersion40msSlowerFailsMaxRegressionThoughEveryLimitHolds(t *testing.T) {
	api := startAPI(t)
	github := checktest.GitHub(t, "success", func() {
		checktest.WaitUntil(checktest.HitsAtLeast(api, 20))
		api.SetSlower(40 * time.Millisecond)
		api.Reload("v2")
		checktest.WaitUntil(checktest.HitsAtLeast(api, 20))
	}, deploytest.WithToken(testToken))
	clock := checktest.Gates(checktest.HitsAtLeast(api, 80), checktest.HitsAtLeast(api, 80))
	inputs := deployInputs(api, github, map[string]string{
		"rate":           "50/1s",
		"max-regression": "20%",
		"max-p99":        "1s",
		"max-error-rate": "0%",
	})
	run := runCommand(t, clock, inputs, map[string]string{"GITHUB_API_URL": github.URL})
	if run.exit != exitBreach || run.outputs["verdict"] != "fail" {
		t.Fatalf("exit %d, verdict %q; want %d, fail\nsummary:\n%s", run.exit, run.outputs["verdict"], exitBreach, run.summary)
	}
	summaryHas(t, run, "- ✓ `p(99)<=1s` (max-p99)", "- ✓ `error_rate<=0%` (max-error-rate)", "- ✓ `downtime<=0s` (max-downtime)")
	if !strings.Contains(run.summary, "the tail is slower than the head") || !strings.Contains(run.summary, "<details open><summary>Before / during / after") {
		t.Errorf("the summary does not say the tail regressed:\n%s", run.summary)
	}
	// The shift is 40 ms on top of whatever the head took, which depends on
	// how busy the machine is; what the test controls is that it exceeds
	// the allowed 20%.
	if shift, err := strconv.ParseFloat(run.outputs["latency-shift-pct"], 64); err != nil || shift <= 20 {
		t.Errorf("latency-shift-pct = %q, want a shift above the allowed 20%%", run.outputs["latency-shift-pct"])
	}
}

// TestGracefulReloadsRaiseNoFalseAlarm deploys ten graceful reloads through
// the built action, with only targets, a workflow and the token set (and
// short windows): a pass means no endpoint
// dropped a request, and none did, so each must pass. (How often
// max-regression calls a graceful reload slower than its head is a rate,
// measured on a quiet machine by bench/cmd/reloads: BENCHMARKS.md.)
func TestGracefulReloadsRaiseNoFalseAlarm(t *testing.T) {
	t.Parallel()
	for i := range 10 {
		t.Run(fmt.Sprintf("deploy %d", i+1), func(t *testing.T) {
			t.Parallel()
			api := startAPI(t)
			github := checktest.GitHub(t, "success", func() {
				checktest.WaitUntil(checktest.HitsAtLeast(api, 15))
				api.Reload("v2")
				checktest.WaitUntil(checktest.HitsAtLeast(api, 15))
			}, deploytest.WithToken(testToken))
			inputs := map[string]string{
				"targets":                threeEndpoints(api) + "\nPOST " + api.URL + "/api/orders",
				"rate":                   "60/1s",
				"head":                   "1s",
				"tail":                   "1s",
				"workflow":               "deploy-staging.yml",
				"repository":             deploytest.DefaultOwner + "/" + deploytest.DefaultRepo,
				"poll-interval":          "1s",
				"version-header":         "X-Version",
				"fail-on-load-shortfall": "false",
			}
			run := runBinary(t, nil, inputs, map[string]string{"GITHUB_API_URL": github.URL})
			if run.exit != exitPass || run.outputs["verdict"] != "pass" || run.outputs["downtime-s"] != "0.000" {
				t.Fatalf("exit %d, verdict %q, downtime-s %q: a false alarm on a graceful reload\nsummary:\n%s", run.exit, run.outputs["verdict"], run.outputs["downtime-s"], run.summary)
			}
			if !strings.Contains(run.summary, "Versions: <code>v2</code> first answered at T+") {
				t.Errorf("the new version never answered; the deploy did not happen:\n%s", run.summary)
			}
		})
	}
}

func TestASlowSpellDuringTheDeployFailsItsPhaseThresholdOnly(t *testing.T) {
	t.Parallel()
	api := startAPI(t)
	github := checktest.GitHub(t, "success", func() {
		checktest.WaitUntil(checktest.HitsAtLeast(api, 20))
		api.SetSlower(700 * time.Millisecond)
		checktest.WaitUntil(checktest.HitsAtLeast(api, 40))
		api.SetSlower(0)
		checktest.WaitUntil(checktest.HitsAtLeast(api, 20))
	}, deploytest.WithToken(testToken))
	clock := checktest.Gates(checktest.HitsAtLeast(api, 100), checktest.HitsAtLeast(api, 100))
	inputs := deployInputs(api, github, map[string]string{
		"rate":       "50/1s",
		"thresholds": "p(99){phase:deploy}<300ms\np(99)<5s\np(99)[2s]<5s",
	})
	run := runCommand(t, clock, inputs, map[string]string{"GITHUB_API_URL": github.URL})
	if run.exit != exitBreach {
		t.Fatalf("exit %d, want %d\nsummary:\n%s", run.exit, exitBreach, run.summary)
	}
	summaryHas(t, run,
		"- ✗ `p(99){phase:deploy}<300ms` (thresholds): ",
		"- ✓ `p(99)<5s` (thresholds): ",
		"- ✓ `p(99)[2s]<5s` (thresholds): ",
		" in the worst 2.0 s window, from T",
		"p(99){phase:deploy} was ",
	)
}

// An API left answering 503 after the deploy has no successful request in
// the tail to compare latencies with: max-regression cannot judge the
// latency, but the failures speak, and the check fails as it does without
// max-regression.
func TestAnAPILeftBrokenFailsMaxRegressionRatherThanInconclusive(t *testing.T) {
	t.Parallel()
	api := startAPI(t)
	github := leftBroken(t, api, http.StatusServiceUnavailable)
	clock := checktest.Gates(checktest.HitsAtLeast(api, 60), checktest.HitsAtLeast(api, 60))
	inputs := deployInputs(api, github, map[string]string{"rate": "60/1s", "max-regression": "20%"})
	run := runCommand(t, clock, inputs, map[string]string{"GITHUB_API_URL": github.URL})
	if run.exit != exitBreach || run.outputs["verdict"] != "fail" {
		t.Fatalf("exit %d, verdict %q; want %d, fail\nsummary:\n%s", run.exit, run.outputs["verdict"], exitBreach, run.summary)
	}
	if strings.Contains(run.summary, "cannot be judged") || strings.Contains(run.summary, "tail too short") {
		t.Errorf("the summary blames the windows' length for an API that stopped answering:\n%s", run.summary)
	}
	if !strings.Contains(run.summary, "the tail fails more often than the head") {
		t.Errorf("the summary does not say the tail failed more often than the head:\n%s", run.summary)
	}
}
