package main

import (
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

// neverEndingDeploy is a stand-in GitHub whose deploy run stays in
// progress until the test ends.
func neverEndingDeploy(t *testing.T) *deploytest.Server {
	t.Helper()
	return deploytest.NewServer(t,
		deploytest.WithToken(deployToken),
		deploytest.WithLifecycle(deploytest.Lifecycle{Queued: 100 * time.Millisecond, Manual: true}),
	)
}

// sigtermAfter sends SIGTERM once the deploy has been dispatched, as the
// runner does when the job is cancelled, and records when.
func sigtermAfter(t *testing.T, github *deploytest.Server, sent *time.Time) func(*os.Process) {
	return func(p *os.Process) {
		for deadline := time.Now().Add(30 * time.Second); github.Count(deploytest.EndpointWorkflowDispatch) == 0; {
			if time.Now().After(deadline) {
				t.Error("the deploy was never dispatched")
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Second)
		*sent = time.Now()
		if err := p.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
	}
}

func TestCancelledCheckWritesAPartialReportAndLinksTheRun(t *testing.T) {
	t.Parallel()
	api := startStagingAPI(t)
	github := neverEndingDeploy(t)
	var signalled time.Time
	// A slow timeout: requests in flight must not hold the report back.
	inputs := deployInputs(api, map[string]string{"timeout": "30s", "tail": "1m"})
	run := runActionWhile(t, sigtermAfter(t, github, &signalled), inputs, map[string]string{"GITHUB_API_URL": github.URL})
	took := time.Since(signalled)

	if run.exit != exitCancelled {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", run.exit, exitCancelled, run.stdout, run.stderr)
	}
	if took > 10*time.Second {
		t.Errorf("the action took %s after SIGTERM to exit, want under 10s", took)
	}
	runs := github.Runs()
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	if run.outputs["verdict"] != "cancelled" || run.outputs["deploy-run-url"] != runs[0].HTMLURL {
		t.Errorf("outputs verdict %q, deploy-run-url %q; want cancelled and %s", run.outputs["verdict"], run.outputs["deploy-run-url"], runs[0].HTMLURL)
	}
	for _, want := range []string{"(cancelled) — cancelled", "the deploy run is still in_progress: " + runs[0].HTMLURL, "### Phases"} {
		if !strings.Contains(run.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, run.summary)
		}
	}
	if n := github.Count(deploytest.EndpointCancelRun); n != 0 {
		t.Errorf("the run was cancelled %d times without cancel-deploy-on-abort", n)
	}
}

func TestCancelDeployOnAbortCancelsTheRun(t *testing.T) {
	t.Parallel()
	api := startStagingAPI(t)
	github := neverEndingDeploy(t)
	var signalled time.Time
	inputs := deployInputs(api, map[string]string{"cancel-deploy-on-abort": "true"})
	run := runActionWhile(t, sigtermAfter(t, github, &signalled), inputs, map[string]string{"GITHUB_API_URL": github.URL})
	if run.exit != exitCancelled {
		t.Fatalf("exit %d, want %d\n%s", run.exit, exitCancelled, run.stderr)
	}
	if n := github.Count(deploytest.EndpointCancelRun); n != 1 {
		t.Errorf("cancel requests: %d, want 1", n)
	}
	if !strings.Contains(run.summary, "and so was the deploy run (cancel-deploy-on-abort)") {
		t.Errorf("summary does not say the run was cancelled:\n%s", run.summary)
	}
}

func TestPreflightStopsBeforeLoadAndDispatch(t *testing.T) {
	t.Parallel()
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	github := deployingGitHub(t, "success", func() {})
	run := runAction(t, map[string]string{
		"targets":           dead + "/health",
		"workflow":          "deploy-staging.yml",
		"repository":        deploytest.DefaultOwner + "/" + deploytest.DefaultRepo,
		"github-token":      deployToken,
		"preflight-timeout": "1500ms",
	}, map[string]string{"GITHUB_API_URL": github.URL})
	if run.exit != exitSetup {
		t.Errorf("exit %d, want %d", run.exit, exitSetup)
	}
	for _, want := range []string{"pre-flight failed", `target "GET /health" did not answer within 1.5s`, "connection refused"} {
		if !strings.Contains(run.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, run.stderr)
		}
	}
	if n := github.Count(deploytest.EndpointWorkflowDispatch); n != 0 {
		t.Errorf("dispatched %d times after a failed pre-flight", n)
	}

	t.Run("and a health URL that answers 503 does too", func(t *testing.T) {
		server, hits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/ready" {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		run := runAction(t, map[string]string{"targets": server.URL + "/v1/items", "health-url": server.URL + "/ready", "preflight-timeout": "1s"}, nil)
		if run.exit != exitSetup || !strings.Contains(run.stderr, "answered 503 Service Unavailable") {
			t.Errorf("exit %d, stderr:\n%s", run.exit, run.stderr)
		}
		if n := hits.Load(); n > 2 {
			t.Errorf("the API answered %d requests; only the pre-flight ones were due", n)
		}
	})
}
