package check

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
	cfgpkg "github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/deploy"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

func TestAPRCheckHoldsTheLoadAndJudgesIt(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	cfg := parse(t, map[string]string{
		"targets":                "GET " + api.URL + "/health\nPOST " + api.URL + "/api/orders",
		"rate":                   "100/1s",
		"max-p99":                "5s",
		"fail-on-load-shortfall": "false",
	})
	var results, log bytes.Buffer
	rep, err := Run(context.Background(), cfg, Deps{Clock: checktest.Gates(checktest.HitsAtLeast(api, 100)), Results: &results, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Summary
	if !rep.Passed() || rep.Verdict() != "pass" {
		t.Errorf("verdict %s, reasons %v; want pass", rep.Verdict(), rep.Reasons())
	}
	if s.Overall.Requests < 100 || s.Overall.Failures != 0 {
		t.Errorf("requests %d, failures %d; want 100 or more, none failed", s.Overall.Requests, s.Overall.Failures)
	}
	// Pre-flight: one request to each target before the load.
	if got, want := api.Hits(), s.Overall.Requests+2; got != want {
		t.Errorf("the API answered %d requests, want %d (the load and two pre-flight ones)", got, want)
	}
	for _, name := range []string{"GET /health", "POST /api/orders"} {
		if target := s.Target(name); target == nil || target.Requests < s.Overall.Requests/2-1 {
			t.Errorf("target %q: %+v, want half the requests", name, target)
		}
	}
	if rep.Deploy != nil || len(s.Phases) != 0 {
		t.Errorf("a PR check has a deploy %+v or phases %v", rep.Deploy, s.Phases)
	}
	if len(rep.Checks) == 0 {
		t.Error("no thresholds were judged")
	}
	if !strings.Contains(log.String(), "load: 100/s on 2 target(s)") {
		t.Errorf("log lacks the load line:\n%s", log.String())
	}

	// Every result went to the results file, in vegeta's encoding.
	dec := vegeta.NewDecoder(&results)
	var decoded int64
	for {
		var res vegeta.Result
		if err := dec.Decode(&res); err != nil {
			break
		}
		decoded++
		if res.Headers != nil || res.Body != nil {
			t.Fatalf("result %d kept the answer's headers or body", res.Seq)
		}
	}
	if decoded != s.Overall.Requests {
		t.Errorf("results file holds %d results, want %d", decoded, s.Overall.Requests)
	}
}

func TestADeployIsFollowedBetweenHeadAndTail(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	github := checktest.GitHub(t, "success", func() {
		checktest.WaitUntil(checktest.HitsAtLeast(api, 25))
		api.Reload("v2")
		checktest.WaitUntil(checktest.HitsAtLeast(api, 25))
	})
	cfg := parse(t, checktest.DeployInputs(api, map[string]string{"version-header": "X-Version"}))
	rep, err := Run(context.Background(), cfg, Deps{GitHub: checktest.Client(t, github), Clock: checktest.Gates(checktest.HitsAtLeast(api, 50), checktest.HitsAtLeast(api, 50))})
	if err != nil {
		t.Fatal(err)
	}
	if got := github.Count(deploytest.EndpointWorkflowDispatch); got != 1 {
		t.Errorf("dispatched %d times, want once", got)
	}
	runs := github.Runs()
	if len(runs) != 1 {
		t.Fatalf("the stand-in has %d runs, want 1", len(runs))
	}
	d := rep.Deploy
	if d == nil || d.RunID != runs[0].ID || d.URL != runs[0].HTMLURL || d.Conclusion != "success" || d.Problem != "" {
		t.Fatalf("deploy %+v, want run %d concluded success", d, runs[0].ID)
	}
	if !rep.Passed() {
		t.Errorf("a graceful reload failed the check: %v", rep.Reasons())
	}
	phases := rep.Summary.Phases
	var names []string
	for _, p := range phases {
		names = append(names, p.Name)
		if p.Requests == 0 {
			t.Errorf("phase %s has no requests", p.Name)
		}
	}
	if strings.Join(names, ",") != "head,deploy,tail" {
		t.Fatalf("phases %v, want head, deploy, tail", names)
	}
	if phases[1].Start != d.Dispatched || phases[2].Start != d.Completed || d.Completed <= d.Dispatched {
		t.Errorf("deploy phase from %s, tail from %s; deploy dispatched at %s, completed at %s", phases[1].Start, phases[2].Start, d.Dispatched, d.Completed)
	}
	if len(d.Steps) != 1 || d.Steps[0].Name != "Deploy task definition" {
		t.Errorf("steps %+v, want the deploy job's one step", d.Steps)
	}
	old, next, ok := rep.Summary.CutOver()
	if !ok || old.Name != "v1" || next.Name != "v2" {
		t.Errorf("cut-over %v → %v (%v), want v1 → v2", old.Name, next.Name, ok)
	}
}

func TestADeployRunThatFailsFailsTheCheck(t *testing.T) {
	t.Parallel()
	for _, judged := range []bool{true, false} {
		api := checktest.StartAPI(t)
		github := checktest.GitHub(t, "failure", func() {})
		inputs := checktest.DeployInputs(api, nil)
		if !judged {
			inputs["fail-on-deploy-failure"] = "false"
		}
		rep, err := Run(context.Background(), parse(t, inputs), Deps{GitHub: checktest.Client(t, github), Clock: checktest.Gates(checktest.HitsAtLeast(api, 20), checktest.HitsAtLeast(api, 20))})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Deploy.Conclusion != "failure" || rep.Passed() != !judged {
			t.Errorf("fail-on-deploy-failure %v: conclusion %q, passed %v", judged, rep.Deploy.Conclusion, rep.Passed())
		}
	}
}

func TestACancelledCheckStopsAtOnceAndSaysWhereTheRunIs(t *testing.T) {
	t.Parallel()
	for _, cancelRun := range []bool{false, true} {
		api := checktest.StartAPI(t)
		github := deploytest.NewServer(t, deploytest.WithToken(checktest.Token), deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}))
		inputs := checktest.DeployInputs(api, map[string]string{"timeout": "30s"})
		if cancelRun {
			inputs["cancel-deploy-on-abort"] = "true"
		}
		ctx, cancel := context.WithCancel(context.Background())
		// The job is cancelled once the deploy is under way and followed:
		// the dispatch reads the run once, following it reads it again.
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for github.Count(deploytest.EndpointGetRun) < 2 {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
			cancel()
		}()
		rep, err := Run(ctx, parse(t, inputs), Deps{GitHub: checktest.Client(t, github), Clock: checktest.Gates(checktest.HitsAtLeast(api, 20))})
		<-watched
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Cancelled || rep.Verdict() != "cancelled" {
			t.Fatalf("cancelled %v, verdict %s", rep.Cancelled, rep.Verdict())
		}
		runs := github.Runs()
		if len(runs) != 1 || rep.Deploy.RunID != runs[0].ID {
			t.Fatalf("runs %+v, deploy %+v", runs, rep.Deploy)
		}
		cancels := github.Count(deploytest.EndpointCancelRun)
		switch {
		case cancelRun && (cancels != 1 || !strings.Contains(rep.Deploy.Problem, "and so was the deploy run")):
			t.Errorf("cancel-deploy-on-abort: %d cancels, problem %q", cancels, rep.Deploy.Problem)
		case !cancelRun && (cancels != 0 || rep.Deploy.Problem != "the check was cancelled; the deploy run is still in_progress: "+runs[0].HTMLURL):
			t.Errorf("without cancel-deploy-on-abort: %d cancels, problem %q", cancels, rep.Deploy.Problem)
		}
	}
}

func TestABadDeploySetupStopsBeforeAnyLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inputs map[string]string
		input  string
		want   string
	}{
		{"an unknown workflow", map[string]string{"workflow": "nope.yml"}, "workflow", `"nope.yml"`},
		{"a bad token", map[string]string{"github-token": "ghs_wrong"}, "github-token", "invalid or expired"},
		{"an unknown ref", map[string]string{"workflow-ref": "no-such-branch"}, "workflow-ref", `"no-such-branch"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := checktest.StartAPI(t)
			github := checktest.GitHub(t, "success", func() {})
			client := checktest.Client(t, github)
			if token, ok := tt.inputs["github-token"]; ok {
				var err error
				if client, err = deploy.New(token, github.URL); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := Run(context.Background(), parse(t, checktest.DeployInputs(api, tt.inputs)), Deps{GitHub: client, Clock: checktest.Gates(checktest.Never)})
			if rep != nil || err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `"`+tt.input+`"`) {
				t.Errorf("report %v, error %v; want no report and an error naming input %q and holding %s", rep, err, tt.input, tt.want)
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

func TestAFailedPreflightSendsNoLoadAndDispatchesNothing(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	api := checktest.StartAPI(t)
	github := checktest.GitHub(t, "success", func() {})
	cfg := parse(t, checktest.DeployInputs(api, map[string]string{"targets": dead + "/health", "preflight-timeout": "1500ms"}))
	rep, err := Run(context.Background(), cfg, Deps{GitHub: checktest.Client(t, github), Clock: checktest.Gates(checktest.Never)})
	var bad *cfgpkg.Error
	if rep != nil || !errors.As(err, &bad) || bad.Input != "targets" {
		t.Fatalf("report %v, error %v; want a bad targets input", rep, err)
	}
	for _, want := range []string{"pre-flight failed", `target "GET /health" did not answer within 1.5s`, "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if n := github.Count(deploytest.EndpointWorkflowDispatch); n != 0 {
		t.Errorf("dispatched %d times after a failed pre-flight", n)
	}

	t.Run("and a health URL that answers 503 does too", func(t *testing.T) {
		t.Parallel()
		api := checktest.StartAPI(t)
		api.Break("/health", http.StatusServiceUnavailable)
		cfg := parse(t, map[string]string{"targets": api.URL + "/api/items", "health-url": api.URL + "/health", "preflight-timeout": "1s"})
		_, err := Run(context.Background(), cfg, Deps{Clock: checktest.Gates(checktest.Never)})
		if err == nil || !strings.Contains(err.Error(), "answered 503 Service Unavailable") {
			t.Errorf("error %v, want the 503 named", err)
		}
		if n := api.Hits(); n > 2 {
			t.Errorf("the API answered %d requests; only the pre-flight ones were due", n)
		}
	})
}

func TestADeployThatOutlastsItsTimeoutFails(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	github := deploytest.NewServer(t, deploytest.WithToken(checktest.Token), deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}))
	cfg := parse(t, checktest.DeployInputs(api, map[string]string{"deploy-timeout": "2s"}))
	rep, err := Run(context.Background(), cfg, Deps{GitHub: checktest.Client(t, github), Clock: checktest.Gates(checktest.HitsAtLeast(api, 20))})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed() || !strings.Contains(rep.Deploy.Problem, "did not complete within deploy-timeout 2s") {
		t.Errorf("passed %v, deploy problem %q; want a failure over the timeout", rep.Passed(), rep.Deploy.Problem)
	}
	if rep.Deploy.Completed != 0 || len(rep.Summary.Phases) != 2 {
		t.Errorf("completed at %s, phases %d; want no tail", rep.Deploy.Completed, len(rep.Summary.Phases))
	}
}

// parse parses inputs as the action does.
func parse(t *testing.T, inputs map[string]string) *cfgpkg.Config {
	t.Helper()
	raw, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	return checktest.Config(t, raw, inputs)
}
