package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

func TestAttemptJobsReadsTheAttemptItIsAskedFor(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithLifecycle(deploytest.Lifecycle{Conclusion: "failure"}))
	created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
	if _, err := srv.Rerun(created.ID); err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, srv)

	first, err := c.AttemptJobs(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, 1)
	if err != nil {
		t.Fatalf("AttemptJobs: %v", err)
	}
	latest, err := c.Jobs(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID)
	if err != nil {
		t.Fatalf("Jobs: %v", err)
	}
	if len(first) != 1 || first[0].RunAttempt != 1 || len(latest) != 1 || latest[0].RunAttempt != 2 || first[0].ID == latest[0].ID {
		t.Errorf("attempt 1 jobs %+v, latest %+v; want one job each, of attempts 1 and 2", first, latest)
	}
	if calls := callsTo(srv, deploytest.EndpointListAttemptJobs); len(calls) != 1 || !strings.HasSuffix(calls[0].Path, "/attempts/1/jobs") {
		t.Errorf("calls to the attempt's jobs: %+v", calls)
	}
}

func TestFollowJob(t *testing.T) {
	t.Parallel()
	deployThenSmoke := deploytest.WithJobs(
		deploytest.JobSpec{Name: "deploy", Duration: 30 * time.Millisecond, Steps: []deploytest.StepSpec{{Name: "Roll out"}}},
		deploytest.JobSpec{Name: "smoke", After: 30 * time.Millisecond},
	)

	t.Run("returns when the job ends, while later jobs go on", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		srv := deploytest.NewServer(t,
			deploytest.WithClock(clock.Now),
			deploytest.WithJobs(
				deploytest.JobSpec{Name: "deploy", Duration: 30 * time.Second, Steps: []deploytest.StepSpec{{Name: "Roll out"}}},
				deploytest.JobSpec{Name: "smoke", After: 30 * time.Second}),
			deploytest.WithLifecycle(deploytest.Lifecycle{Queued: 10 * time.Second, Manual: true}))
		created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
		c := newTestClient(t, srv)
		var seen []string

		job, err := c.FollowJob(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, "deploy", time.Millisecond, func(j Job) {
			seen = append(seen, j.Status)
			clock.Advance(30 * time.Second) // on to the next status
		})
		if err != nil {
			t.Fatalf("FollowJob: %v", err)
		}
		if job.Name != "deploy" || !job.Completed() || job.Conclusion != "success" || job.RunAttempt != 1 || job.CompletedAt.IsZero() {
			t.Errorf("FollowJob returned %+v, want the deploy job completed with success", job)
		}
		if run, _ := srv.Run(created.ID); run.Status != "in_progress" {
			t.Errorf("the run is %s, want it still in progress", run.Status)
		}
		if diff := cmp.Diff([]string{"queued", "in_progress", "completed"}, seen); diff != "" {
			t.Errorf("updates (-want +got):\n%s", diff)
		}
		if n := srv.Count(deploytest.EndpointListJobs); n != 0 {
			t.Errorf("listed the latest jobs %d times; want the attempt's jobs only", n)
		}
	})

	t.Run("waits for a job that shows up late", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t, deployThenSmoke, deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}))
		created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
		c := newTestClient(t, srv)
		ctx, cancel := context.WithCancel(testContext(t))
		defer cancel()
		// The smoke job lasts until the run completes: complete it once
		// FollowJob has seen the job running.
		job, err := c.FollowJob(ctx, deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, "smoke", time.Millisecond, func(j Job) {
			if j.Status == "in_progress" {
				if err := srv.Complete(created.ID, "success"); err != nil {
					t.Error(err)
				}
			}
		})
		if err != nil || job.Conclusion != "success" {
			t.Fatalf("FollowJob = %+v, %v; want the smoke job completed", job, err)
		}
		if !strings.Contains(c.logs.text(), `has no job named "smoke" yet`) {
			t.Errorf("the log does not say it waits for the job:\n%s", c.logs.text())
		}
	})

	t.Run("returns a skipped job as such", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t,
			deploytest.WithJobs(deploytest.JobSpec{Name: "deploy", Skipped: true}),
			deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}))
		created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
		c := newTestClient(t, srv)

		job, err := c.FollowJob(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, "deploy", time.Millisecond, nil)
		if err != nil || job.Conclusion != "skipped" {
			t.Fatalf("FollowJob = %+v, %v; want the job skipped", job, err)
		}
	})

	t.Run("fails for a job the run never had", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t, deployThenSmoke)
		created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
		c := newTestClient(t, srv)

		_, err := c.FollowJob(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, "deploy-prod", time.Millisecond, nil)
		if !errors.Is(err, ErrJobNotFound) {
			t.Fatalf("FollowJob error = %v, want ErrJobNotFound", err)
		}
		for _, want := range []string{`without a job named "deploy-prod"`, `"deploy", "smoke"`, created.HTMLURL} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})

	t.Run("reports a re-run", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t, deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}))
		created := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor})
		c := newTestClient(t, srv)
		rerun := false
		_, err := c.FollowJob(testContext(t), deploytest.DefaultOwner, deploytest.DefaultRepo, created.ID, "deploy", time.Millisecond, func(j Job) {
			if !rerun {
				rerun = true
				_ = srv.Complete(created.ID, "cancelled")
				_, _ = srv.Rerun(created.ID)
			}
		})
		var rerr *RerunError
		if !errors.As(err, &rerr) || rerr.Run.Conclusion != "cancelled" || rerr.Attempt != 2 {
			t.Fatalf("FollowJob error = %v, want a *RerunError from attempt 1 (cancelled) to 2", err)
		}
	})
}
