package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"
)

// maxJobPages bounds paging through jobs; GitHub caps a workflow run at a
// few hundred jobs.
const maxJobPages = 20

// Jobs lists the jobs of the run's latest attempt, with their steps, all
// pages of them. AttemptJobs reads those of a given attempt, which is what
// a caller that followed one attempt wants.
func (c *Client) Jobs(ctx context.Context, owner, repo string, runID int64) ([]Job, error) {
	return c.AttemptJobs(ctx, owner, repo, runID, 0)
}

// AttemptJobs lists the jobs of one attempt of the run (Run.Attempt), with
// their steps, all pages of them; attempt 0 means the latest. A re-run that
// started since cannot slip its jobs in.
func (c *Client) AttemptJobs(ctx context.Context, owner, repo string, runID int64, attempt int) ([]Job, error) {
	jobs, err := c.listJobs(ctx, owner, repo, runID, attempt, true)
	if err != nil {
		return nil, explain(err, opRun, Request{Owner: owner, Repo: repo}, jobsSubject(runID, attempt))
	}
	return jobs, nil
}

func jobsSubject(runID int64, attempt int) string {
	if attempt > 0 {
		return fmt.Sprintf("list jobs of attempt %d of workflow run %d", attempt, runID)
	}
	return fmt.Sprintf("list jobs of workflow run %d", runID)
}

// listJobs reads every page of the jobs of an attempt (0: the latest),
// retrying each page as call does when retried, else failing at the first
// error for the caller to handle.
func (c *Client) listJobs(ctx context.Context, owner, repo string, runID int64, attempt int, retried bool) ([]Job, error) {
	what := jobsSubject(runID, attempt)
	var jobs []Job
	for page := 1; page <= maxJobPages; page++ {
		var list *github.Jobs
		fetch := func(ctx context.Context) (resp *github.Response, err error) {
			opts := github.ListOptions{PerPage: 100, Page: page}
			if attempt > 0 {
				list, resp, err = c.gh.Actions.ListWorkflowJobsAttempt(ctx, owner, repo, runID, int64(attempt), &opts)
			} else {
				list, resp, err = c.gh.Actions.ListWorkflowJobs(ctx, owner, repo, runID, &github.ListWorkflowJobsOptions{Filter: "latest", ListOptions: opts})
			}
			return resp, err
		}
		var (
			resp *github.Response
			err  error
		)
		if retried {
			resp, err = c.call(ctx, what, idempotent, fetch)
		} else {
			resp, err = fetch(unheld(ctx))
			c.observe(resp)
		}
		if err != nil {
			return nil, err
		}
		for _, j := range list.Jobs {
			jobs = append(jobs, jobFromAPI(j))
		}
		if resp.NextPage == 0 {
			break
		}
	}
	return jobs, nil
}

func jobFromAPI(j *github.WorkflowJob) Job {
	job := Job{
		ID:          j.GetID(),
		Name:        j.GetName(),
		HTMLURL:     j.GetHTMLURL(),
		Status:      j.GetStatus(),
		Conclusion:  j.GetConclusion(),
		RunAttempt:  int(j.GetRunAttempt()),
		StartedAt:   j.GetStartedAt().Time,
		CompletedAt: j.GetCompletedAt().Time,
	}
	for _, s := range j.Steps {
		job.Steps = append(job.Steps, Step{
			Name:        s.GetName(),
			Number:      s.GetNumber(),
			Status:      s.GetStatus(),
			Conclusion:  s.GetConclusion(),
			StartedAt:   s.GetStartedAt().Time,
			CompletedAt: s.GetCompletedAt().Time,
		})
	}
	return job
}

// FollowJob follows one job of the run, the one named name in the attempt
// the run is at, until that job completes, and returns it whatever its
// conclusion (a skipped job is returned as such; see DescribeConclusion).
// It lets the caller start its tail when the deploy job ends, even while
// later jobs (smoke tests, notifications) go on. It polls every
// pollInterval (DefaultPollInterval when zero); onUpdate, if not nil, sees
// the job each time its status changes.
//
// A job that has not shown up yet is waited for while the run goes on; a
// run that completes without it fails with an error wrapping
// ErrJobNotFound that lists the jobs it had. A re-run of the run while the
// job is followed returns a *RerunError, like Follow. Failures are waited
// out as in Follow, within ctx.
func (c *Client) FollowJob(ctx context.Context, owner, repo string, runID int64, name string, pollInterval time.Duration, onUpdate func(Job)) (Job, error) {
	if pollInterval <= 0 {
		pollInterval = DefaultPollInterval
	}
	var (
		w         = c.newWatch(owner, repo, runID)
		job       Job
		seen      bool
		announced bool
		since     = c.now()
		reported  = c.now()
	)
	for {
		wait := jitter(pollInterval)
		_, err := w.poll(ctx)
		var jobs []Job
		if err == nil && w.rerun == nil {
			jobs, err = c.listJobs(ctx, owner, repo, runID, w.attempt, false)
		}
		switch {
		case err == nil && w.rerun != nil:
			return job, w.rerun
		case err == nil:
			w.retries = retryState{}
			var matches []Job
			for _, j := range jobs {
				if j.Name == name {
					matches = append(matches, j)
				}
			}
			switch {
			case len(matches) > 1:
				return matches[0], fmt.Errorf("%d jobs of %s are named %q; name one job to follow", len(matches), w.last.describe(), name)
			case len(matches) == 1:
				latest := matches[0]
				if !seen || latest.Status != job.Status || latest.Conclusion != job.Conclusion {
					since, reported = c.now(), c.now()
					c.logf("job %q of workflow run #%d%s is %s: %s", name, w.last.RunNumber, attemptSuffix(w.attempt), describeJobStatus(latest), or(latest.HTMLURL, w.last.HTMLURL))
					if onUpdate != nil {
						onUpdate(latest)
					}
				}
				job, seen = latest, true
				if job.Completed() {
					return job, nil
				}
				if now := c.now(); now.Sub(reported) >= c.progressEvery {
					reported = now
					c.logf("%s", jobProgress(name, job, now.Sub(since).Round(time.Second), w.last))
				}
			case w.last.Completed():
				return job, fmt.Errorf("%w: %s completed (%s) without a job named %q; its jobs are %s",
					ErrJobNotFound, w.last.describe(), or(w.last.Conclusion, "no conclusion"), name, jobNames(jobs))
			case !announced:
				announced = true
				c.logf("workflow run #%d has no job named %q yet (jobs so far: %s); waiting for it", w.last.RunNumber, name, jobNames(jobs))
			}
		case ctx.Err() != nil:
			return job, c.stoppedJob(ctx, name, job, seen, w.last)
		default:
			if err := w.failed(ctx, err, wait); err != nil {
				if ctx.Err() != nil {
					return job, c.stoppedJob(ctx, name, job, seen, w.last)
				}
				return job, err
			}
			continue
		}
		if err := c.sleep(ctx, wait); err != nil {
			return job, c.stoppedJob(ctx, name, job, seen, w.last)
		}
	}
}

func (c *Client) stoppedJob(ctx context.Context, name string, job Job, seen bool, run Run) error {
	if !seen {
		return fmt.Errorf("stopped following job %q of %s before it showed up (the run was %s): %w", name, run.describe(), or(run.Status, "unknown"), ctx.Err())
	}
	return fmt.Errorf("stopped following job %q of %s while it was %s: %w", name, run.describe(), job.Status, ctx.Err())
}

func describeJobStatus(j Job) string {
	if j.Completed() {
		return "completed (" + or(j.Conclusion, "no conclusion") + ")"
	}
	return j.Status
}

func jobProgress(name string, j Job, held time.Duration, run Run) string {
	switch j.Status {
	case "waiting":
		return fmt.Sprintf("job %q has been waiting for %s: it needs an approval (a required reviewer of its environment) or waits out a wait timer; review it at %s", name, held, run.HTMLURL)
	case "queued", "requested", "pending":
		return fmt.Sprintf("job %q has been %s for %s: it waits for a runner or for the jobs it needs: %s", name, j.Status, held, run.HTMLURL)
	}
	return fmt.Sprintf("job %q still %s after %s: %s", name, j.Status, held, or(j.HTMLURL, run.HTMLURL))
}

func jobNames(jobs []Job) string {
	if len(jobs) == 0 {
		return "none"
	}
	names := make([]string, len(jobs))
	for i, j := range jobs {
		names[i] = fmt.Sprintf("%q", j.Name)
	}
	slices.Sort(names)
	return strings.Join(slices.Compact(names), ", ")
}

// Cancel asks GitHub to cancel the run; GitHub answers 202 and cancels it
// shortly after. When the run has already completed GitHub answers 409, and
// Cancel returns an error wrapping ErrAlreadyCompleted, which a caller
// cancelling on its way out may ignore.
func (c *Client) Cancel(ctx context.Context, owner, repo string, runID int64) error {
	what := fmt.Sprintf("cancel workflow run %d", runID)
	_, err := c.call(ctx, what, idempotent, func(ctx context.Context) (*github.Response, error) {
		resp, err := c.gh.Actions.CancelWorkflowRunByID(ctx, owner, repo, runID)
		var accepted *github.AcceptedError
		if errors.As(err, &accepted) {
			// 202 Accepted is the success answer of this endpoint.
			return resp, nil
		}
		return resp, err
	})
	switch {
	case err == nil:
		c.logf("asked GitHub to cancel workflow run %d", runID)
		return nil
	case hasStatus(err, http.StatusConflict):
		return fmt.Errorf("cancel workflow run %d in %q: %w", runID, owner+"/"+repo, ErrAlreadyCompleted)
	}
	return explain(err, opRun, Request{Owner: owner, Repo: repo}, what)
}
