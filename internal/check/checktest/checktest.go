// Package checktest holds what tests of the timeline share: the action's
// inputs parsed as the runner fills them, the staging API under load, a
// stand-in GitHub whose deploy workflow acts on that API, and a clock whose
// sleeps end when a condition holds rather than when time has passed.
package checktest

import (
	"context"
	"flag"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/demo"
	"github.com/zerodowntime/deploy-load-check/internal/deploy"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

// Token is the github-token of the stand-in GitHub; it must never be
// printed.
const Token = "ghs_checkT0kenThatMustNeverBePrinted"

// Config reads inputs the way the action does, from actionYML's inputs
// with their defaults filled in for the rest, as the runner fills them.
func Config(t testing.TB, actionYML []byte, inputs map[string]string) *config.Config {
	t.Helper()
	spec, err := config.ParseSpec(actionYML)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GITHUB_REPOSITORY": deploytest.DefaultOwner + "/" + deploytest.DefaultRepo, "GITHUB_TOKEN": Token}
	for k, v := range inputs {
		if _, ok := spec.Input(k); !ok {
			t.Fatalf("test sets undeclared input %q", k)
		}
		env[config.EnvName(k)] = v
	}
	src, _, err := config.NewSource(spec, nil, config.MapEnv(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(src)
	if err != nil {
		t.Fatalf("inputs %v: %v", inputs, err)
	}
	return cfg
}

// StartAPI starts the staging API for one test, answering without delay.
func StartAPI(t testing.TB) *demo.API {
	t.Helper()
	api, err := demo.Start(demo.WithoutLatency())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Close() })
	return api
}

// Clock reads the wall clock, but each of its sleeps ends when the test's
// condition for it holds rather than when a duration has passed: the head
// window ends once the API has answered so many requests, say. Sleeps
// beyond the conditions given end at once.
type Clock struct {
	mu    sync.Mutex
	gates []func() bool
	slept int
}

// Gates returns a Clock whose i-th sleep ends when conditions[i] holds.
func Gates(conditions ...func() bool) *Clock { return &Clock{gates: conditions} }

// Now returns time.Now().
func (c *Clock) Now() time.Time { return time.Now() }

// Sleep waits until the next condition holds or ctx is done, and reports
// whether ctx was not done.
func (c *Clock) Sleep(ctx context.Context, _ time.Duration) bool {
	c.mu.Lock()
	var gate func() bool
	if c.slept < len(c.gates) {
		gate = c.gates[c.slept]
	}
	c.slept++
	c.mu.Unlock()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for gate != nil && !gate() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return ctx.Err() == nil
}

// HitsAtLeast is a condition that holds once the API has answered n more
// requests than when it is first asked.
func HitsAtLeast(api *demo.API, n int64) func() bool {
	var mu sync.Mutex
	var from int64 = -1
	return func() bool {
		mu.Lock()
		defer mu.Unlock()
		if from < 0 {
			from = api.Hits()
		}
		return api.Hits()-from >= n
	}
}

// Never is a condition that never holds: the sleep ends only with its
// context.
func Never() bool { return false }

// WaitUntil polls cond until it holds, for a simulated deploy that acts
// once the load has run for a while; it gives up after a minute, when the
// test has long failed, and reports whether cond held.
func WaitUntil(cond func() bool) bool {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// GitHub is a stand-in GitHub whose deploy workflow runs deployFn on a
// goroutine of its own once dispatched, then concludes with conclusion.
// The run has one job, "deploy", with one step, "Deploy task definition",
// that lasts until the run completes. The deploy ends before the test
// does.
func GitHub(t testing.TB, conclusion string, deployFn func(), opts ...deploytest.Option) *deploytest.Server {
	t.Helper()
	var deploying sync.WaitGroup
	t.Cleanup(deploying.Wait)
	opts = append([]deploytest.Option{
		deploytest.WithToken(Token),
		deploytest.WithJobs(deploytest.JobSpec{Name: "deploy", Steps: []deploytest.StepSpec{{Name: "Deploy task definition"}}}),
		deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}),
		deploytest.WithOnDispatch(func(srv *deploytest.Server, run deploytest.Run) {
			deploying.Add(1)
			go func() {
				defer deploying.Done()
				deployFn()
				if err := srv.Complete(run.ID, conclusion); err != nil {
					t.Errorf("completing run %d: %v", run.ID, err)
				}
			}()
		}),
	}, opts...)
	return deploytest.NewServer(t, opts...)
}

// Client is the real deploy client, talking to srv with Token.
func Client(t testing.TB, srv *deploytest.Server) *deploy.Client {
	t.Helper()
	client, err := deploy.New(Token, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// DeployInputs are the inputs of a short deploy check against api, with
// more added or overriding.
func DeployInputs(api *demo.API, more map[string]string) map[string]string {
	inputs := map[string]string{
		"targets":       "GET " + api.URL + "/health\nGET " + api.URL + "/api/items",
		"rate":          "50/1s",
		"workflow":      "deploy-staging.yml",
		"repository":    deploytest.DefaultOwner + "/" + deploytest.DefaultRepo,
		"github-token":  Token,
		"head":          "1s",
		"tail":          "1s",
		"poll-interval": "1s",
		// These tests are about the deploy, not the generator, and share
		// two cores with each other under the race detector.
		"fail-on-load-shortfall": "false",
	}
	for k, v := range more {
		inputs[k] = v
	}
	return inputs
}

// RaiseParallel lets n tests of the package run at once unless -parallel
// was given: timeline tests spend their time waiting for load and deploys,
// not on the CPU. Call it first in TestMain.
func RaiseParallel(n int) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", strconv.Itoa(n))
	}
}
