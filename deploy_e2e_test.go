package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

const deployToken = "ghs_e2eT0kenThatMustNeverBePrinted"

// deployInputs are the inputs of a short deploy check against api.
func deployInputs(api *stagingAPI, more map[string]string) map[string]string {
	inputs := map[string]string{
		"targets":        "GET " + api.URL() + "/health\nGET " + api.URL() + "/v1/items",
		"rate":           "50/1s",
		"workflow":       "deploy-staging.yml",
		"repository":     deploytest.DefaultOwner + "/" + deploytest.DefaultRepo,
		"github-token":   deployToken,
		"head":           "1s",
		"tail":           "1s",
		"poll-interval":  "1s",
		"deploy-timeout": "1m",
		// These tests are about the deploy, not the generator, and share
		// two cores with each other under the race detector.
		"fail-on-load-shortfall": "false",
	}
	for k, v := range more {
		inputs[k] = v
	}
	return inputs
}

// deployingGitHub is a stand-in GitHub whose deploy workflow runs deploy
// against the staging API, then concludes.
func deployingGitHub(t *testing.T, conclusion string, deploy func()) *deploytest.Server {
	t.Helper()
	return deploytest.NewServer(t,
		deploytest.WithToken(deployToken),
		deploytest.WithJobs(deploytest.JobSpec{Name: "deploy", Steps: []deploytest.StepSpec{
			{Name: "Set up job", Duration: 10 * time.Millisecond},
			{Name: "Build image", Duration: 10 * time.Millisecond},
			{Name: "Deploy task definition"},
		}}),
		deploytest.WithLifecycle(deploytest.Lifecycle{Queued: 300 * time.Millisecond, Manual: true}),
		deploytest.WithOnDispatch(func(srv *deploytest.Server, run deploytest.Run) {
			go func() {
				// The deploy acts once its step is under way.
				time.Sleep(time.Second)
				deploy()
				time.Sleep(500 * time.Millisecond)
				if err := srv.Complete(run.ID, conclusion); err != nil {
					t.Errorf("completing run %d: %v", run.ID, err)
				}
			}()
		}),
	)
}

func TestDeployWithAGracefulReloadPasses(t *testing.T) {
	t.Parallel()
	api := startStagingAPI(t)
	github := deployingGitHub(t, "success", func() { api.reload("v2") })
	run := runAction(t, deployInputs(api, map[string]string{"max-downtime": "0s", "version-header": "X-Version"}), map[string]string{"GITHUB_API_URL": github.URL})
	t.Logf("summary:\n%s", run.summary)

	if run.exit != exitPass {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s\nsummary:\n%s", run.exit, exitPass, run.stdout, run.stderr, run.summary)
	}
	if got := github.Count(deploytest.EndpointWorkflowDispatch); got != 1 {
		t.Errorf("dispatched %d times, want once", got)
	}
	runs := github.Runs()
	if len(runs) != 1 {
		t.Fatalf("stand-in GitHub has %d runs, want 1", len(runs))
	}
	want := map[string]string{
		"verdict":           "pass",
		"downtime-s":        "0.000",
		"deploy-run-id":     strconv.FormatInt(runs[0].ID, 10),
		"deploy-run-url":    runs[0].HTMLURL,
		"deploy-conclusion": "success",
	}
	for k, v := range want {
		if run.outputs[k] != v {
			t.Errorf("output %s = %q, want %q", k, run.outputs[k], v)
		}
	}
	if api.version.Load() != "v2" {
		t.Error("the deploy did not run")
	}
	for _, section := range []string{"### Deploy run", "[#" + want["deploy-run-id"] + "](" + runs[0].HTMLURL + ")", "### Phases", "| head |", "| deploy |", "| tail |",
		"### Versions", "`v2` first answered at T+", "| `v1` |", "Deploy steps on the load's timeline", "| deploy | Deploy task definition |"} {
		if !strings.Contains(run.summary, section) {
			t.Errorf("summary lacks %q:\n%s", section, run.summary)
		}
	}
}

func TestDeployThatStopsTheServerFor3sFails(t *testing.T) {
	t.Parallel()
	api := startStagingAPI(t)
	github := deployingGitHub(t, "success", func() { api.restart("v2", 3*time.Second) })
	run := runAction(t, deployInputs(api, map[string]string{"max-downtime": "1s"}), map[string]string{"GITHUB_API_URL": github.URL})

	t.Logf("summary:\n%s", run.summary)
	if run.exit != exitBreach {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", run.exit, exitBreach, run.stdout, run.stderr)
	}
	downtime, err := strconv.ParseFloat(run.outputs["downtime-s"], 64)
	// Exact to one request interval (20 ms at 50/s), plus the time the
	// restart takes to listen again.
	if err != nil || downtime < 2.98 || downtime > 3.3 {
		t.Errorf("downtime-s = %q, want about 3", run.outputs["downtime-s"])
	}
	for _, want := range []string{"without a successful response from T+", `Deploy task definition";`, "### Disruption", "refused", "| deploy |", "### Timeline", "xychart-beta", "### Connections"} {
		if !strings.Contains(run.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, run.summary)
		}
	}
	if run.outputs["deploy-conclusion"] != "success" {
		t.Errorf("deploy-conclusion = %q, want success", run.outputs["deploy-conclusion"])
	}
}

func TestDeployRunThatFailsFailsTheCheck(t *testing.T) {
	t.Parallel()
	api := startStagingAPI(t)
	github := deployingGitHub(t, "failure", func() {})
	run := runAction(t, deployInputs(api, nil), map[string]string{"GITHUB_API_URL": github.URL})

	if run.exit != exitBreach {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", run.exit, exitBreach, run.stdout, run.stderr)
	}
	runs := github.Runs()
	if len(runs) != 1 {
		t.Fatalf("stand-in GitHub has %d runs, want 1", len(runs))
	}
	if run.outputs["deploy-conclusion"] != "failure" || run.outputs["verdict"] != "fail" {
		t.Errorf("deploy-conclusion %q, verdict %q; want failure, fail", run.outputs["deploy-conclusion"], run.outputs["verdict"])
	}
	for _, want := range []string{`the deploy run concluded "failure"`, runs[0].HTMLURL} {
		if !strings.Contains(run.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, run.summary)
		}
	}

	t.Run("unless fail-on-deploy-failure is off", func(t *testing.T) {
		api := startStagingAPI(t)
		github := deployingGitHub(t, "failure", func() {})
		run := runAction(t, deployInputs(api, map[string]string{"fail-on-deploy-failure": "false"}), map[string]string{"GITHUB_API_URL": github.URL})
		if run.exit != exitPass || run.outputs["deploy-conclusion"] != "failure" {
			t.Errorf("exit %d, deploy-conclusion %q; want 0 and failure\n%s", run.exit, run.outputs["deploy-conclusion"], run.stdout)
		}
	})
}

func TestDeployMisconfigurationStopsBeforeAnyLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{"an unknown workflow", map[string]string{"workflow": "nope.yml"}, `workflow "nope.yml" was not found`},
		{"a bad token", map[string]string{"github-token": "ghs_wrong"}, `input "github-token" is invalid or expired`},
		{"an unknown ref", map[string]string{"workflow-ref": "no-such-branch"}, `"no-such-branch"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := startStagingAPI(t)
			github := deployingGitHub(t, "success", func() {})
			run := runAction(t, deployInputs(api, tt.inputs), map[string]string{"GITHUB_API_URL": github.URL})
			if run.exit != exitSetup {
				t.Errorf("exit %d, want %d\nstdout:\n%s", run.exit, exitSetup, run.stdout)
			}
			if !strings.Contains(run.stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, run.stderr)
			}
			if n := api.hits.Load(); n != 0 {
				t.Errorf("the staging API answered %d requests before the setup was found wrong", n)
			}
			if n := github.Count(deploytest.EndpointWorkflowDispatch); n != 0 {
				t.Errorf("dispatched %d times despite the bad setup", n)
			}
		})
	}
}
