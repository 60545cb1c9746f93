package check

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
	"github.com/zerodowntime/deploy-load-check/internal/demo"
	"github.com/zerodowntime/deploy-load-check/internal/deploy"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
	"github.com/zerodowntime/deploy-load-check/internal/report"
)

// shortSleeper stands in for the deploy client's waits: it records each
// and sleeps at most 20 ms of it, so that a minute's wait for a rate limit
// costs the test nothing while the client still plans it in full.
type shortSleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *shortSleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	timer := time.NewTimer(min(d, 20*time.Millisecond))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// longest is the longest wait asked for.
func (s *shortSleeper) longest() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var longest time.Duration
	for _, w := range s.waits {
		longest = max(longest, w)
	}
	return longest
}

// phaseNames lists the report's phases.
func phaseNames(rep *report.Report) string {
	var names []string
	for _, p := range rep.Summary.Phases {
		names = append(names, p.Name)
	}
	return strings.Join(names, ",")
}

func TestAShardThatFindsNoRunWithinDeployTimeoutFailsNamingItsKey(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	github := deploytest.NewServer(t, deploytest.WithToken(checktest.Token))
	// Another check's shard 1 dispatched, and its key holds this one's.
	github.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor, Inputs: map[string]string{deploytest.DefaultCorrelationInput: "9001-12"}})
	cfg := parse(t, checktest.DeployInputs(api, map[string]string{
		"correlation-input": deploytest.DefaultCorrelationInput,
		"shard":             "2/3",
		"shard-key":         "9001-1",
		"deploy-timeout":    "2s",
		"report-file":       filepath.Join(t.TempDir(), "shard-2.json"),
	}))
	rep, err := Run(context.Background(), cfg, Deps{GitHub: checktest.Client(t, github), Clock: checktest.Gates(checktest.HitsAtLeast(api, 10))})

	var shardErr *ShardError
	if !errors.As(err, &shardErr) {
		t.Fatalf("Run error = %v, want a *ShardError", err)
	}
	for _, want := range []string{"shard 2 of 3", `shard-key "9001-1"`, "deploy-timeout 2s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	d := rep.Deploy
	if d == nil || d.RunID != 0 || !strings.Contains(d.Problem, "deploy-timeout 2s") || !strings.Contains(d.Problem, `"9001-1"`) {
		t.Fatalf("deploy %+v, want no run and a problem naming deploy-timeout and the key", d)
	}
	if rep.Verdict() != report.Fail || !d.Failed() {
		t.Errorf("verdict %q, deploy failed %v; want a shard that fails for its deploy", rep.Verdict(), d.Failed())
	}
	if n := github.Count(deploytest.EndpointWorkflowDispatch); n != 0 {
		t.Errorf("shard 2 dispatched %d times; only shard 1 dispatches", n)
	}
	if phaseNames(rep) != "head,deploy" {
		t.Errorf("phases %s, want head and deploy: no tail without a deploy", phaseNames(rep))
	}
}

func TestADeployThatOutlastsItsTimeoutIsCancelledOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	for _, cancel := range []bool{true, false} {
		api := checktest.StartAPI(t)
		github := deploytest.NewServer(t, deploytest.WithToken(checktest.Token), deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}))
		inputs := checktest.DeployInputs(api, map[string]string{"deploy-timeout": "2s"})
		if cancel {
			inputs["cancel-deploy-on-abort"] = "true"
		}
		rep, err := Run(context.Background(), parse(t, inputs), Deps{GitHub: checktest.Client(t, github), Clock: checktest.Gates(checktest.HitsAtLeast(api, 20))})
		if err != nil {
			t.Fatal(err)
		}
		d := rep.Deploy
		if rep.Passed() || !strings.Contains(d.Problem, "did not complete within deploy-timeout 2s") {
			t.Errorf("cancel-deploy-on-abort %v: passed %v, problem %q; want a failure over deploy-timeout", cancel, rep.Passed(), d.Problem)
		}
		run, _ := github.Run(d.RunID)
		wantCancels, wantConclusion := 0, ""
		if cancel {
			wantCancels, wantConclusion = 1, "cancelled"
			if !strings.Contains(d.Problem, "the deploy run was cancelled (cancel-deploy-on-abort)") {
				t.Errorf("problem %q does not say the run was cancelled", d.Problem)
			}
		}
		if n := github.Count(deploytest.EndpointCancelRun); n != wantCancels || run.Conclusion != wantConclusion {
			t.Errorf("cancel-deploy-on-abort %v: %d cancels, run concluded %q; want %d, %q", cancel, n, run.Conclusion, wantCancels, wantConclusion)
		}
	}
}

func TestARateLimitWaitPastDeployTimeoutIsTheTimeoutRunningOut(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	// From the second poll on, a secondary limit without Retry-After:
	// GitHub asks for at least a minute, and 30 s are left.
	github := deploytest.NewServer(t, deploytest.WithToken(checktest.Token), deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}),
		deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointGetRun, Kind: deploytest.SecondaryRateLimit, Skip: 1}))
	cfg := parse(t, checktest.DeployInputs(api, map[string]string{"deploy-timeout": "30s", "cancel-deploy-on-abort": "true"}))
	rep, err := Run(context.Background(), cfg, Deps{GitHub: checktest.Client(t, github), Clock: checktest.Gates(checktest.HitsAtLeast(api, 20))})
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Deploy
	for _, want := range []string{"did not complete within deploy-timeout 30s", "rate limit", "the deploy run was cancelled (cancel-deploy-on-abort)"} {
		if !strings.Contains(d.Problem, want) {
			t.Errorf("problem %q lacks %q", d.Problem, want)
		}
	}
	if strings.Contains(d.Problem, "lost track") {
		t.Errorf("problem %q calls the refused wait a lost run", d.Problem)
	}
	if d.Duration >= 30*time.Second || rep.Passed() {
		t.Errorf("the deploy took %s, passed %v; want a failure as soon as the wait was refused", d.Duration, rep.Passed())
	}
	run, _ := github.Run(d.RunID)
	if n := github.Count(deploytest.EndpointCancelRun); n != 1 || run.Conclusion != "cancelled" {
		t.Errorf("%d cancels, run concluded %q; want the run cancelled once", n, run.Conclusion)
	}
}

// ghesWithARival is a stand-in GitHub Enterprise, which names no run in
// its answer to a dispatch, where someone else dispatched the same
// workflow a second before the check: that rival run is listed at once and
// fails. Ours deploys under load and succeeds once it has been polled
// three times.
func ghesWithARival(t *testing.T, api *demo.API, opts ...deploytest.Option) *deploytest.Server {
	t.Helper()
	var deploying sync.WaitGroup
	t.Cleanup(deploying.Wait)
	return deploytest.NewServer(t, append([]deploytest.Option{
		deploytest.WithToken(checktest.Token),
		deploytest.WithDispatchAnswer(deploytest.AnswerRejectRunDetails),
		deploytest.WithRival(deploytest.Rival{Earlier: time.Second}),
		deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}),
		deploytest.WithOnDispatch(func(srv *deploytest.Server, run deploytest.Run) {
			deploying.Add(1)
			go func() {
				defer deploying.Done()
				conclusion := "failure"
				if run.Actor == deploytest.Actor {
					conclusion = "success"
					checktest.WaitUntil(func() bool { return srv.Count(deploytest.EndpointGetRun) >= 3 })
					checktest.WaitUntil(checktest.HitsAtLeast(api, 25))
				}
				if err := srv.Complete(run.ID, conclusion); err != nil {
					t.Errorf("completing run %d: %v", run.ID, err)
				}
			}()
		}),
	}, opts...)...)
}

// pollsAroundALimit counts the polls of a run that met a rate limit, and
// those after the first that did.
func pollsAroundALimit(github *deploytest.Server) (limited, after int) {
	for _, call := range github.Calls() {
		switch {
		case call.Endpoint != deploytest.EndpointGetRun:
		case call.Status == 403:
			limited++
		case limited > 0:
			after++
		}
	}
	return limited, after
}

func TestASecondaryLimitWithoutRetryAfterMidFollowIsWaitedOut(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	// The second poll of our run meets a secondary limit without
	// Retry-After: GitHub asks for at least a minute.
	github := ghesWithARival(t, api,
		deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointGetRun, Kind: deploytest.SecondaryRateLimit, Skip: 1, Times: 1}))
	sleeper := &shortSleeper{}
	client, err := deploy.New(checktest.Token, github.URL, deploy.WithSleep(sleeper.sleep))
	if err != nil {
		t.Fatal(err)
	}
	cfg := parse(t, checktest.DeployInputs(api, map[string]string{"correlation-input": deploytest.DefaultCorrelationInput}))
	rep, err := Run(context.Background(), cfg, Deps{GitHub: client, Clock: checktest.Gates(checktest.HitsAtLeast(api, 20))})
	if err != nil {
		t.Fatal(err)
	}

	var ours deploytest.Run
	for _, run := range github.Runs() {
		if run.Actor == deploytest.Actor {
			ours = run
		}
	}
	d := rep.Deploy
	if d.RunID != ours.ID || d.Conclusion != "success" || d.Problem != "" || d.Identified != deploy.ByCorrelation.String() {
		t.Fatalf("deploy %+v; want our run %d, found by its correlation ID, concluded success", d, ours.ID)
	}
	if d.RateLimitWaits != 1 || d.RateLimitWaited < time.Minute || sleeper.longest() < time.Minute {
		t.Errorf("%d rate limit waits of %s in all, longest wait asked %s; want one wait of at least a minute", d.RateLimitWaits, d.RateLimitWaited, sleeper.longest())
	}
	if limited, after := pollsAroundALimit(github); limited != 1 || after == 0 {
		t.Errorf("%d polls limited, %d after; want the follow to go on after the limit", limited, after)
	}
	if !rep.Passed() || phaseNames(rep) != "head,deploy,tail" {
		t.Errorf("passed %v (%v), phases %s; want a pass with head, deploy and tail", rep.Passed(), rep.Reasons(), phaseNames(rep))
	}
}

func TestADeployJobEndsTheDeployWhileLaterJobsRun(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	// The run never completes while the check runs: its smoke tests go on.
	github := deploytest.NewServer(t,
		deploytest.WithToken(checktest.Token),
		deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}),
		deploytest.WithJobs(
			deploytest.JobSpec{Name: "deploy", Duration: 300 * time.Millisecond, Steps: []deploytest.StepSpec{{Name: "Roll out"}}},
			deploytest.JobSpec{Name: "smoke", After: 300 * time.Millisecond, Steps: []deploytest.StepSpec{{Name: "Smoke test"}}},
		))
	cfg := parse(t, checktest.DeployInputs(api, map[string]string{"deploy-job": "deploy"}))
	rep, err := Run(context.Background(), cfg, Deps{GitHub: checktest.Client(t, github), Clock: checktest.Gates(checktest.HitsAtLeast(api, 20))})
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Deploy
	if d.Job != "deploy" || d.Conclusion != "success" || d.Problem != "" || d.Completed <= d.Dispatched {
		t.Fatalf("deploy %+v; want job deploy followed to success", d)
	}
	if run, _ := github.Run(d.RunID); run.Status == "completed" {
		t.Errorf("the run completed (%s) before the check did; want its later job still running", run.Conclusion)
	}
	if !rep.Passed() || phaseNames(rep) != "head,deploy,tail" {
		t.Errorf("passed %v (%v), phases %s; want a pass with a tail after the deploy job", rep.Passed(), rep.Reasons(), phaseNames(rep))
	}
	var steps []string
	for _, s := range d.Steps {
		steps = append(steps, s.Job+"/"+s.Name)
	}
	if !strings.Contains(strings.Join(steps, ","), "deploy/Roll out") {
		t.Errorf("steps %v lack the deploy job's", steps)
	}
}

func TestADeployJobTheRunLacksFailsTheCheck(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	github := checktest.GitHub(t, "success", func() { checktest.WaitUntil(checktest.HitsAtLeast(api, 20)) })
	cfg := parse(t, checktest.DeployInputs(api, map[string]string{"deploy-job": "migrate"}))
	rep, err := Run(context.Background(), cfg, Deps{GitHub: checktest.Client(t, github), Clock: checktest.Gates(checktest.HitsAtLeast(api, 20))})
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Deploy
	if rep.Passed() || !strings.Contains(d.Problem, `deploy-job "migrate"`) || !strings.Contains(d.Problem, "deploy") {
		t.Errorf("passed %v, problem %q; want a failure naming the missing job and the jobs the run had", rep.Passed(), d.Problem)
	}
	if phaseNames(rep) != "head,deploy" {
		t.Errorf("phases %s, want no tail", phaseNames(rep))
	}
}
