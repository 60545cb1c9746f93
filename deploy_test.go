package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
	"github.com/zerodowntime/deploy-load-check/internal/demo"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

// startAPI starts the staging API under load for one test.
func startAPI(t *testing.T) *demo.API { return checktest.StartAPI(t) }

// deployInputs are the inputs of a short deploy check against api through
// github, with more added or overriding.
func deployInputs(api *demo.API, github *deploytest.Server, more map[string]string) map[string]string {
	inputs := checktest.DeployInputs(api, more)
	inputs["github-token"] = testToken
	if _, ok := more["github-token"]; ok {
		inputs["github-token"] = more["github-token"]
	}
	return inputs
}

func TestADeployWithAGracefulReloadPasses(t *testing.T) {
	t.Parallel()
	api := startAPI(t)
	github := checktest.GitHub(t, "success", func() {
		checktest.WaitUntil(checktest.HitsAtLeast(api, 25))
		api.Reload("v2")
		checktest.WaitUntil(checktest.HitsAtLeast(api, 25))
	}, deploytest.WithToken(testToken))
	clock := checktest.Gates(checktest.HitsAtLeast(api, 50), checktest.HitsAtLeast(api, 50))
	run := runCommand(t, clock, deployInputs(api, github, map[string]string{"version-header": "X-Version"}), map[string]string{"GITHUB_API_URL": github.URL})
	if run.exit != exitPass {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s\nsummary:\n%s", run.exit, exitPass, run.stdout, run.stderr, run.summary)
	}
	runs := github.Runs()
	if len(runs) != 1 || github.Count(deploytest.EndpointWorkflowDispatch) != 1 {
		t.Fatalf("%d runs, %d dispatches; want one each", len(runs), github.Count(deploytest.EndpointWorkflowDispatch))
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
	summaryHas(t, run, "[run "+want["deploy-run-id"]+"]("+runs[0].HTMLURL+"): success", "| head |", "| deploy |", "| tail |", "`v2`", "`v1`", "Deploy task definition")
}

func TestADeployThatStopsTheAPIFor3sFails(t *testing.T) {
	t.Parallel()
	api := startAPI(t)
	github := checktest.GitHub(t, "success", func() {
		checktest.WaitUntil(checktest.HitsAtLeast(api, 25))
		if err := api.Restart("v2", 3*time.Second); err != nil {
			t.Error(err)
		}
		checktest.WaitUntil(checktest.HitsAtLeast(api, 25))
	}, deploytest.WithToken(testToken))
	clock := checktest.Gates(checktest.HitsAtLeast(api, 50), checktest.HitsAtLeast(api, 50))
	run := runCommand(t, clock, deployInputs(api, github, map[string]string{"max-downtime": "1s"}), map[string]string{"GITHUB_API_URL": github.URL})
	if run.exit != exitBreach {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", run.exit, exitBreach, run.stdout, run.stderr)
	}
	downtime, err := strconv.ParseFloat(run.outputs["downtime-s"], 64)
	// Each endpoint is asked every 40 ms; listening again takes a moment.
	if err != nil || downtime < 2.9 || downtime > 3.3 {
		t.Errorf("downtime-s = %q, want about 3", run.outputs["downtime-s"])
	}
	summaryHas(t, run, "Deploy task definition", "refused", "| deploy |", "xychart-beta")
	if run.outputs["deploy-conclusion"] != "success" || run.outputs["verdict"] != "fail" {
		t.Errorf("deploy-conclusion %q, verdict %q; want success, fail", run.outputs["deploy-conclusion"], run.outputs["verdict"])
	}
}

func TestADeployRunThatFailsFailsTheCheck(t *testing.T) {
	t.Parallel()
	api := startAPI(t)
	github := checktest.GitHub(t, "failure", func() {}, deploytest.WithToken(testToken))
	clock := checktest.Gates(checktest.HitsAtLeast(api, 20), checktest.HitsAtLeast(api, 20))
	run := runCommand(t, clock, deployInputs(api, github, nil), map[string]string{"GITHUB_API_URL": github.URL})
	if run.exit != exitBreach || run.outputs["deploy-conclusion"] != "failure" || run.outputs["verdict"] != "fail" {
		t.Fatalf("exit %d, deploy-conclusion %q, verdict %q; want %d, failure, fail\n%s", run.exit, run.outputs["deploy-conclusion"], run.outputs["verdict"], exitBreach, run.stdout)
	}
	if runs := github.Runs(); len(runs) != 1 || !strings.Contains(run.summary, runs[0].HTMLURL) || !strings.Contains(run.summary, `"failure"`) {
		t.Errorf("the summary does not link the failed run:\n%s", run.summary)
	}
}

func TestADeployMisconfigurationStopsBeforeAnyLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{"an unknown workflow", map[string]string{"workflow": "nope.yml"}, `input "workflow": `},
		{"a bad token", map[string]string{"github-token": "ghs_wrong_token_x"}, `input "github-token": the token is invalid or expired`},
		{"an unknown ref", map[string]string{"workflow-ref": "no-such-branch"}, `"no-such-branch"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := startAPI(t)
			github := checktest.GitHub(t, "success", func() {}, deploytest.WithToken(testToken))
			run := runCommand(t, checktest.Gates(checktest.Never), deployInputs(api, github, tt.inputs), map[string]string{"GITHUB_API_URL": github.URL})
			if run.exit != exitSetup || !strings.Contains(run.stderr, tt.want) {
				t.Errorf("exit %d, want %d with %q\nstderr:\n%s", run.exit, exitSetup, tt.want, run.stderr)
			}
			if n := api.Hits(); n != 0 {
				t.Errorf("the API answered %d requests before the setup was found wrong", n)
			}
			if n := github.Count(deploytest.EndpointWorkflowDispatch); n != 0 {
				t.Errorf("dispatched %d times despite the bad setup", n)
			}
		})
	}
}
