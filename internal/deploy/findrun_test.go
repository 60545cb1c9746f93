package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

// shardRequest is what a shard that does not dispatch looks for: the run
// carrying key.
func shardRequest(key string) Request {
	req := deployRequest()
	req.CorrelationInput = deploytest.DefaultCorrelationInput
	req.CorrelationID = key
	return req
}

// runCarrying creates a run of the deploy workflow whose name carries key,
// as the run shard 1 of a check with that key dispatched.
func runCarrying(srv *deploytest.Server, key string) deploytest.Run {
	return srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor, Inputs: map[string]string{deploytest.DefaultCorrelationInput: key}})
}

func TestFindRunGivesUpAtTheDeadlineWhenNoRunShowsUp(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t)
	c := newTestClient(t, srv)
	ctx, cancel := context.WithTimeout(testContext(t), 200*time.Millisecond)
	defer cancel()

	run, err := c.FindRun(ctx, shardRequest("9001-1"), time.Now())
	if !errors.Is(err, ErrNoRun) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FindRun = run %d, error %v; want ErrNoRun and context.DeadlineExceeded", run.ID, err)
	}
	if ctx.Err() == nil {
		t.Errorf("FindRun gave up before the deadline: %v", err)
	}
	if !strings.Contains(err.Error(), `"9001-1"`) || !strings.Contains(err.Error(), "run-name") {
		t.Errorf("error %q does not name the key and where the workflow must show it", err)
	}
	if n := srv.Count(deploytest.EndpointListWorkflowRuns); n < 2 {
		t.Errorf("listed the runs %d times, want it to keep looking until the deadline", n)
	}
	if srv.Count(deploytest.EndpointWorkflowDispatch) != 0 {
		t.Error("FindRun dispatched")
	}
}

func TestFindRunStopsWhenARateLimitWouldOutlastTheDeadline(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointListWorkflowRuns, Kind: deploytest.SecondaryRateLimit}))
	c := newTestClient(t, srv)
	ctx, cancel := context.WithTimeout(testContext(t), 30*time.Second)
	defer cancel()

	_, err := c.FindRun(ctx, shardRequest("9001-1"), time.Now())
	if !errors.Is(err, ErrNoRun) || !errors.Is(err, ErrDeadline) {
		t.Fatalf("FindRun error = %v; want ErrNoRun and ErrDeadline", err)
	}
	if ctx.Err() != nil {
		t.Error("FindRun waited for the deadline instead of giving up at once")
	}
	if c.sleep.hasWait(time.Minute, time.Hour) {
		t.Errorf("FindRun began a wait past the deadline: %v", c.sleep.recorded())
	}
}

func TestFindRunTakesTheRunCarryingTheWholeKey(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t)
	// Checks 9001-12 and x9001-1 ran too; their keys hold ours.
	runCarrying(srv, "9001-12")
	runCarrying(srv, "x9001-1")
	ours := runCarrying(srv, "9001-1")
	c := newTestClient(t, srv)

	run, err := c.FindRun(testContext(t), shardRequest("9001-1"), time.Now())
	if err != nil {
		t.Fatalf("FindRun: %v", err)
	}
	if run.ID != ours.ID || run.Identified != ByCorrelation {
		t.Errorf("FindRun took run %d (%q, %s), want run %d (%q)", run.ID, run.DisplayTitle, run.Identified, ours.ID, ours.DisplayTitle)
	}
}

func TestFindRunTakesNoRunWhoseKeyOnlyHoldsOurs(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t)
	runCarrying(srv, "9001-12")
	c := newTestClient(t, srv)
	ctx, cancel := context.WithTimeout(testContext(t), 100*time.Millisecond)
	defer cancel()

	run, err := c.FindRun(ctx, shardRequest("9001-1"), time.Now())
	if !errors.Is(err, ErrNoRun) {
		t.Fatalf("FindRun = run %d (%q), error %v; want no run: 9001-12 is another check's", run.ID, run.DisplayTitle, err)
	}
}

func TestAnIDIsCarriedOnlyAsAWhole(t *testing.T) {
	t.Parallel()
	tests := []struct {
		title string
		want  bool
	}{
		{"9001-1", true},
		{"Deploy staging 9001-1", true},
		{"Deploy staging (9001-1)", true},
		{"Deploy 9001-1: v1.2.3", true},
		{"Deploy staging 9001-12", false},
		{"Deploy staging 19001-1", false},
		{"Deploy staging 9001-1a", false},
		{"Deploy staging 9001-1_retry", false},
		{"Deploy staging x-9001-1", false},
		{"Deploy staging 9001-12 after 9001-1", true},
		{"Deploy staging 9001-12, 19001-1", false},
		{"Déploiement 9001-1é", false},
		{"", false},
	}
	d := &dispatch{correlationID: "9001-1"}
	for _, tt := range tests {
		if got := d.carriesCorrelation(Run{DisplayTitle: tt.title}); got != tt.want {
			t.Errorf("a run titled %q carries %q: %v, want %v", tt.title, d.correlationID, got, tt.want)
		}
		if got := d.carriesCorrelation(Run{Name: tt.title}); got != tt.want {
			t.Errorf("a run named %q carries %q: %v, want %v", tt.title, d.correlationID, got, tt.want)
		}
	}
}

func TestFollowStopsWhenARateLimitWouldOutlastTheDeadline(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t,
		deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}),
		deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointGetRun, Kind: deploytest.SecondaryRateLimit, Skip: 1}))
	created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
	c := newTestClient(t, srv)
	ctx, cancel := context.WithTimeout(testContext(t), 30*time.Second)
	defer cancel()

	run, err := c.Follow(ctx, deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, time.Millisecond, nil)
	if !errors.Is(err, ErrDeadline) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Follow error = %v, want ErrDeadline before the deadline itself", err)
	}
	if ctx.Err() != nil {
		t.Error("Follow waited for the deadline instead of giving up at once")
	}
	if run.ID != created.ID || run.Status != "in_progress" {
		t.Errorf("Follow returned run %d %q, want the last state it saw", run.ID, run.Status)
	}
}
