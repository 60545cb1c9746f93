package deploy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

// fakeClock drives the stand-in server's run lifecycles, so tests decide
// when a run moves on.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// steppedLifecycle spends ten seconds in each status, on a fakeClock.
var steppedLifecycle = deploytest.Lifecycle{
	Requested: 10 * time.Second, Queued: 10 * time.Second, Pending: 10 * time.Second,
	Waiting: 10 * time.Second, InProgress: 10 * time.Second,
}

// statuses collects what Follow reports through onUpdate.
type statuses struct {
	mu   sync.Mutex
	seen []string
}

func (s *statuses) add(r Run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, describeStatus(r))
}

func (s *statuses) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func TestFollowWaitsUntilTheRunCompletes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		conclusion string
	}{
		{"and returns a successful run", "success"},
		{"and returns a failed run without an error", "failure"},
		{"and returns a run that failed to start", "startup_failure"},
		{"and returns a run that needs an action", "action_required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			life := steppedLifecycle
			life.Conclusion = tc.conclusion
			srv := deploytest.NewServer(t, deploytest.WithClock(clock.Now), deploytest.WithLifecycle(life))
			created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
			c := newTestClient(t, srv)
			var seen statuses

			run, err := c.Follow(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, time.Millisecond, func(r Run) {
				seen.add(r)
				clock.Advance(10 * time.Second) // on to the next status
			})
			if err != nil {
				t.Fatalf("Follow: %v", err)
			}
			if run.ID != created.ID || run.Status != "completed" || run.Conclusion != tc.conclusion {
				t.Errorf("Follow returned run %d %s/%s", run.ID, run.Status, run.Conclusion)
			}
			want := []string{"requested", "queued", "pending", "waiting", "in_progress", "completed (" + tc.conclusion + ")"}
			if diff := cmp.Diff(want, seen.list()); diff != "" {
				t.Errorf("updates (-want +got):\n%s", diff)
			}
			for _, status := range []string{"is requested", "is queued", "is pending", "is waiting", "is in_progress", "is completed (" + tc.conclusion + ")"} {
				if !strings.Contains(c.logs.text(), status) {
					t.Errorf("the log does not say the run %s:\n%s", status, c.logs.text())
				}
			}
			if !strings.Contains(c.logs.text(), created.HTMLURL) {
				t.Errorf("the log does not link the run:\n%s", c.logs.text())
			}
		})
	}
}

func TestFollowPollsWithETags(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}))
	created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
	c := newTestClient(t, srv)
	ctx := testContext(t)

	go func() {
		// Complete the run once the client has been told "not modified"
		// a few times.
		for ctx.Err() == nil {
			notModified := 0
			for _, call := range callsTo(srv, deploytest.EndpointGetRun) {
				if call.Status == 304 {
					notModified++
				}
			}
			if notModified >= 3 {
				_ = srv.Complete(created.ID, "success")
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var seen statuses
	run, err := c.Follow(ctx, deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, time.Millisecond, seen.add)
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	if run.Conclusion != "success" {
		t.Errorf("Conclusion = %q", run.Conclusion)
	}
	if diff := cmp.Diff([]string{"in_progress", "completed (success)"}, seen.list()); diff != "" {
		t.Errorf("onUpdate must see each state once (-want +got):\n%s", diff)
	}
	polls := callsTo(srv, deploytest.EndpointGetRun)
	if polls[0].Status != 200 || polls[len(polls)-1].Status != 200 {
		t.Errorf("first and last polls answered %d and %d, want 200", polls[0].Status, polls[len(polls)-1].Status)
	}
}

func TestFollowSurvivesTransientFaults(t *testing.T) {
	t.Parallel()
	getRun := deploytest.EndpointGetRun
	for _, tc := range []struct {
		name     string
		fault    deploytest.Fault
		realWait time.Duration // how much of each wait to really sleep
		skip     int           // waits to skip
		wantWait [2]time.Duration
		want403  int // answers with 403 that reached the server, when checked
	}{
		{
			name:     "server errors back off exponentially",
			fault:    deploytest.Fault{Endpoint: getRun, Kind: deploytest.ServerError, Skip: 1, Times: 3},
			wantWait: [2]time.Duration{3600 * time.Millisecond, 4400 * time.Millisecond}, // the third retry
		},
		{
			name:     "a 429 waits for Retry-After",
			fault:    deploytest.Fault{Endpoint: getRun, Kind: deploytest.TooManyRequests, Skip: 1, Times: 1, RetryAfter: 7 * time.Second},
			wantWait: [2]time.Duration{7 * time.Second, 7 * time.Second},
		},
		{
			// net/http retries a GET on a dropped keep-alive connection by
			// itself, so the client may see one failure or two.
			name:     "dropped connections are retried",
			fault:    deploytest.Fault{Endpoint: getRun, Kind: deploytest.Disconnect, Skip: 1, Times: 2},
			wantWait: [2]time.Duration{900 * time.Millisecond, 2200 * time.Millisecond},
		},
		{
			// go-github would hold back the retry made before Retry-After
			// has passed, and make up an error of its own.
			name:     "a secondary rate limit waits for Retry-After, and go-github does not hold back the retry",
			fault:    deploytest.Fault{Endpoint: getRun, Kind: deploytest.SecondaryRateLimit, Skip: 1, Times: 1, RetryAfter: time.Minute},
			skip:     1, // retry at once
			wantWait: [2]time.Duration{time.Minute, time.Minute},
			want403:  1,
		},
		{
			name: "a secondary rate limit go-github does not recognise waits for Retry-After",
			fault: deploytest.Fault{Endpoint: getRun, Kind: deploytest.Status, Status: 403, Skip: 1, Times: 1,
				Message: "You have exceeded a secondary rate limit and have been temporarily blocked.", RetryAfter: 3 * time.Second},
			wantWait: [2]time.Duration{3 * time.Second, 3 * time.Second},
		},
		{
			name:     "a secondary rate limit without Retry-After waits a minute",
			fault:    deploytest.Fault{Endpoint: getRun, Kind: deploytest.Status, Status: 403, Skip: 1, Times: 1, Message: "You have exceeded a secondary rate limit."},
			wantWait: [2]time.Duration{time.Minute, time.Minute},
		},
		{
			name:     "a used-up primary rate limit waits for the reset",
			fault:    deploytest.Fault{Endpoint: getRun, Kind: deploytest.PrimaryRateLimit, Skip: 1, Times: 1},
			wantWait: [2]time.Duration{20 * time.Millisecond, 1100 * time.Millisecond},
			want403:  1,
		},
		{
			name:     "a used-up primary rate limit answered with 429 waits for the reset",
			fault:    deploytest.Fault{Endpoint: getRun, Kind: deploytest.PrimaryRateLimit, Status: 429, Skip: 1, Times: 1},
			wantWait: [2]time.Duration{20 * time.Millisecond, 1100 * time.Millisecond},
		},
		{
			// go-github remembers the reset and would answer the retry
			// itself, without a request, until then.
			name:     "a used-up primary rate limit waits for the reset, and go-github does not hold back the retry",
			fault:    deploytest.Fault{Endpoint: getRun, Kind: deploytest.PrimaryRateLimit, Skip: 1, Times: 1, ResetAfter: time.Hour},
			skip:     1, // retry at once
			wantWait: [2]time.Duration{time.Hour - 2*time.Second, time.Hour + 2*time.Second},
			want403:  1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Real time here: rate limit resets are compared to the real
			// clock, by go-github as by GitHub.
			srv := deploytest.NewServer(t,
				deploytest.WithLifecycle(deploytest.Lifecycle{Queued: 10 * time.Millisecond, InProgress: 20 * time.Millisecond}),
				deploytest.WithFault(tc.fault))
			created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
			c := newTestClient(t, srv)
			c.sleep.maxReal = max(c.sleep.maxReal, tc.realWait)
			c.sleep.skipLong = tc.skip

			run, err := c.Follow(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, time.Millisecond, nil)
			if err != nil {
				t.Fatalf("Follow: %v", err)
			}
			if !run.Completed() {
				t.Errorf("Follow returned a run that is %s", run.Status)
			}
			if !c.sleep.hasWait(tc.wantWait[0], tc.wantWait[1]) {
				t.Errorf("waits %v, want one in %v", c.sleep.recorded(), tc.wantWait)
			}
			if tc.skip > 0 {
				if n := strings.Count(c.logs.text(), "rate limit"); n != 1 {
					t.Errorf("waited for a rate limit %d times, want once: go-github must not hold back the retry:\n%s", n, c.logs.text())
				}
			}
			if tc.want403 > 0 {
				got := 0
				for _, call := range callsTo(srv, getRun) {
					if call.Status == 403 {
						got++
					}
				}
				if got != tc.want403 {
					t.Errorf("%d answers of 403 reached the server, want %d", got, tc.want403)
				}
			}
		})
	}
}

func TestFollowReportsARunThatVanishes(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}))
	created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
	c := newTestClient(t, srv)

	run, err := c.Follow(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, time.Millisecond, func(Run) {
		srv.DeleteRun(created.ID)
	})
	if !errors.Is(err, ErrRunVanished) {
		t.Fatalf("Follow error = %v, want ErrRunVanished", err)
	}
	for _, want := range []string{"vanished", "deleted", created.HTMLURL} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if run.Status != "in_progress" {
		t.Errorf("Follow returned the last state %q, want in_progress", run.Status)
	}
	notFound := 0
	for _, call := range callsTo(srv, deploytest.EndpointGetRun) {
		if call.Status == 404 {
			notFound++
		}
	}
	if notFound != vanishedAfter {
		t.Errorf("asked %d times after the run vanished, want %d", notFound, vanishedAfter)
	}
}

func TestFollowStopsAtTheDeployTimeout(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}))
	created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
	c := newTestClient(t, srv)
	ctx, cancel := context.WithTimeout(testContext(t), 50*time.Millisecond)
	defer cancel()

	run, err := c.Follow(ctx, deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, time.Millisecond, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Follow error = %v, want context.DeadlineExceeded", err)
	}
	if run.ID != created.ID || run.Status != "in_progress" {
		t.Errorf("Follow returned run %d %q, want the last state it saw", run.ID, run.Status)
	}
	if !strings.Contains(err.Error(), "in_progress") || !strings.Contains(err.Error(), created.HTMLURL) {
		t.Errorf("error %q does not say where the run was", err)
	}
}

func TestFollowStopsOnATokenThatStopsWorking(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t,
		deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}),
		deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointGetRun, Kind: deploytest.Status, Status: 401, Message: "Bad credentials", Skip: 1}))
	created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
	c := newTestClient(t, srv)

	_, err := c.Follow(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, time.Millisecond, nil)
	var config *ConfigError
	if !errors.As(err, &config) || config.Setting != Token {
		t.Fatalf("Follow error = %v, want a ConfigError about the token", err)
	}
	checkNamesNoInput(t, err)
	if n := srv.Count(deploytest.EndpointGetRun); n != 2 {
		t.Errorf("polled %d times, want 2: no retry after a 401", n)
	}
}

func TestFollowReportsProgressWhileTheRunTakesLong(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}))
	created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
	c := newTestClient(t, srv)
	c.progressEvery = 5 * time.Millisecond
	go func() {
		time.Sleep(40 * time.Millisecond)
		_ = srv.Complete(created.ID, "success")
	}()

	if _, err := c.Follow(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, time.Millisecond, nil); err != nil {
		t.Fatalf("Follow: %v", err)
	}
	if !strings.Contains(c.logs.text(), "still in_progress after") {
		t.Errorf("no progress line in:\n%s", c.logs.text())
	}
}

func TestDispatchThenFollowThroughThePathPrefix(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t)
	c := newTestClient(t, srv)
	if got, want := c.BaseURL(), srv.URL+"/api/v3/"; got != want {
		t.Fatalf("BaseURL = %q, want %q", got, want)
	}
	ctx := testContext(t)

	run, err := c.Dispatch(ctx, deployRequest())
	if err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	run, err = c.Follow(ctx, deploytest.DefaultOwner, deploytest.DefaultRepo, run.ID, time.Millisecond, nil)
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	if run.Conclusion != "success" {
		t.Errorf("Conclusion = %q", run.Conclusion)
	}
}

func TestFollowWaitsOutASecondaryRateLimitWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	// GitHub answers some secondary limits without Retry-After; the
	// X-RateLimit-Reset it sends then names the primary window's reset, an
	// hour away here. GitHub's documentation asks for a wait of at least a
	// minute, and the deploy is still running meanwhile.
	srv := deploytest.NewServer(t,
		deploytest.WithLifecycle(deploytest.Lifecycle{Queued: 10 * time.Millisecond, InProgress: 20 * time.Millisecond}),
		deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointGetRun, Kind: deploytest.SecondaryRateLimit, Skip: 1, Times: 2}))
	created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
	c := newTestClient(t, srv)

	run, err := c.Follow(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, time.Millisecond, nil)
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	if run.ID != created.ID || !run.Completed() {
		t.Errorf("Follow returned run %d, %s; want run %d completed", run.ID, run.Status, created.ID)
	}
	if !c.sleep.hasWait(time.Minute, 3*time.Minute) {
		t.Errorf("waits %v, want one of at least a minute", c.sleep.recorded())
	}
	if c.sleep.hasWait(10*time.Minute, 24*time.Hour) {
		t.Errorf("waits %v: waited for the primary window's reset", c.sleep.recorded())
	}
	waits := c.RateLimitWaits()
	if len(waits) != 2 || waits[1].Until.Sub(waits[1].Start) < 2*time.Minute {
		t.Errorf("RateLimitWaits = %+v, want two, the second twice as long as the first", waits)
	}
	for _, want := range []string{"secondary rate limit was hit without Retry-After", "waiting 1m0s, until " + waits[0].Until.UTC().Format(clockLayout)} {
		if !strings.Contains(c.logs.text(), want) {
			t.Errorf("the log does not say %q:\n%s", want, c.logs.text())
		}
	}
}

func TestFollowSaysALongWaitNeedsAnApproval(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithLifecycle(deploytest.Lifecycle{Waiting: time.Hour}))
	created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
	c := newTestClient(t, srv)
	c.progressEvery = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	go func() {
		defer cancel()
		for ctx.Err() == nil && !strings.Contains(c.logs.text(), "needs an approval") {
			time.Sleep(time.Millisecond)
		}
	}()

	run, err := c.Follow(ctx, deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, time.Millisecond, nil)
	if !errors.Is(err, context.Canceled) || run.Status != "waiting" {
		t.Fatalf("Follow = %s, %v; want the run waiting when the test stops following", run.Status, err)
	}
	line := ""
	for _, l := range strings.Split(c.logs.text(), "\n") {
		if strings.Contains(l, "needs an approval") {
			line = l
		}
	}
	if !strings.Contains(line, created.HTMLURL) || !strings.Contains(line, "has been waiting for") {
		t.Errorf("the approval line %q does not link the run or say how long", line)
	}
}

func TestFollowReportsARerunInsteadOfMixingItIn(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}))
	created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
	c := newTestClient(t, srv)

	// Between two polls the run fails and someone re-runs it.
	once := false
	run, err := c.Follow(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, time.Millisecond, func(r Run) {
		if once {
			return
		}
		once = true
		if err := srv.Complete(created.ID, "failure"); err != nil {
			t.Error(err)
		}
		if _, err := srv.Rerun(created.ID); err != nil {
			t.Error(err)
		}
	})
	var rerun *RerunError
	if !errors.As(err, &rerun) || !errors.Is(err, ErrRerun) {
		t.Fatalf("Follow error = %v, want a *RerunError", err)
	}
	if run.Attempt != 1 || run.Conclusion != "failure" || rerun.Attempt != 2 {
		t.Errorf("Follow returned attempt %d (%s), re-run attempt %d; want attempt 1 as it ended (failure), and attempt 2", run.Attempt, run.Conclusion, rerun.Attempt)
	}
	for _, want := range []string{"attempt 1 ended failure", "attempt 2"} {
		if !strings.Contains(err.Error(), want) || !strings.Contains(c.logs.text(), want) {
			t.Errorf("neither the error nor the log may lack %q:\n%v\n%s", want, err, c.logs.text())
		}
	}
	if n := srv.Count(deploytest.EndpointGetRunAttempt); n != 1 {
		t.Errorf("read the followed attempt %d times, want once", n)
	}
}
