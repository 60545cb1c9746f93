package deploy

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

func TestJobsListsEveryPage(t *testing.T) {
	t.Parallel()
	specs := make([]deploytest.JobSpec, 150)
	for i := range specs {
		specs[i] = deploytest.JobSpec{Name: fmt.Sprintf("shard %d", i), Steps: []deploytest.StepSpec{{Name: "Run"}}}
	}
	srv := deploytest.NewServer(t, deploytest.WithJobs(specs...), deploytest.WithLifecycle(deploytest.Lifecycle{}))
	created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
	c := newTestClient(t, srv)

	jobs, err := c.Jobs(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID)
	if err != nil {
		t.Fatalf("Jobs: %v", err)
	}
	if len(jobs) != len(specs) {
		t.Fatalf("Jobs returned %d jobs, want %d", len(jobs), len(specs))
	}
	for i, job := range jobs {
		if job.Name != specs[i].Name {
			t.Fatalf("job %d is %q, want %q", i, job.Name, specs[i].Name)
		}
	}
	if n := srv.Count(deploytest.EndpointListJobs); n != 2 {
		t.Errorf("listed jobs %d times, want 2 pages of 100", n)
	}
}

func TestJobsOfAFailedRun(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv := deploytest.NewServer(t,
		deploytest.WithClock(clock.Now),
		deploytest.WithLifecycle(deploytest.Lifecycle{Queued: 2 * time.Second, InProgress: 30 * time.Second, Conclusion: "failure"}),
		deploytest.WithJobs(deploytest.JobSpec{Name: "deploy", Steps: []deploytest.StepSpec{
			{Name: "Set up job", Duration: 2 * time.Second},
			{Name: "Roll out"},
			{Name: "Smoke test", Duration: time.Second},
		}}))
	created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
	clock.Advance(time.Minute)
	c := newTestClient(t, srv)

	jobs, err := c.Jobs(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID)
	if err != nil {
		t.Fatalf("Jobs: %v", err)
	}
	start := created.CreatedAt.Add(2 * time.Second).Truncate(time.Second)
	end := created.CreatedAt.Add(32 * time.Second).Truncate(time.Second)
	want := []Job{{
		Name: "deploy", Status: "completed", Conclusion: "failure", RunAttempt: 1, StartedAt: start, CompletedAt: end,
		Steps: []Step{
			{Name: "Set up job", Number: 1, Status: "completed", Conclusion: "success", StartedAt: start, CompletedAt: created.CreatedAt.Add(4 * time.Second).Truncate(time.Second)},
			{Name: "Roll out", Number: 2, Status: "completed", Conclusion: "failure", StartedAt: created.CreatedAt.Add(4 * time.Second).Truncate(time.Second), CompletedAt: end},
			{Name: "Smoke test", Number: 3, Status: "completed", Conclusion: "skipped", StartedAt: end, CompletedAt: end},
		},
	}}
	if diff := cmp.Diff(want, jobs, cmpopts.IgnoreFields(Job{}, "ID", "HTMLURL"), cmpopts.EquateApproxTime(0)); diff != "" {
		t.Errorf("Jobs (-want +got):\n%s", diff)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	t.Run("cancels a run in progress", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t, deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}))
		created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
		c := newTestClient(t, srv)

		if err := c.Cancel(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if got, _ := srv.Run(created.ID); got.Conclusion != "cancelled" {
			t.Errorf("the run is %s/%s, want cancelled", got.Status, got.Conclusion)
		}
		if n := srv.Count(deploytest.EndpointCancelRun); n != 1 {
			t.Errorf("asked %d times to cancel, want once: 202 is success", n)
		}
	})

	t.Run("says when the run had already completed", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t, deploytest.WithLifecycle(deploytest.Lifecycle{}))
		created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
		c := newTestClient(t, srv)

		err := c.Cancel(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID)
		if !errors.Is(err, ErrAlreadyCompleted) {
			t.Fatalf("Cancel error = %v, want ErrAlreadyCompleted", err)
		}
		if got, _ := srv.Run(created.ID); got.Conclusion != "success" {
			t.Errorf("the run is %s/%s, want it left as it was", got.Status, got.Conclusion)
		}
	})

	t.Run("retries a server error", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t,
			deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}),
			deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointCancelRun, Kind: deploytest.ServerError, Times: 1}))
		created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
		c := newTestClient(t, srv)

		if err := c.Cancel(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if n := srv.Count(deploytest.EndpointCancelRun); n != 2 {
			t.Errorf("asked %d times to cancel, want 2", n)
		}
	})
}
