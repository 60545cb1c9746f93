package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v66/github"
)

// maxJobPages bounds paging through jobs; GitHub caps a workflow run at a
// few hundred jobs.
const maxJobPages = 20

// Jobs lists the jobs of the run's latest attempt, with their steps, all
// pages of them.
func (c *Client) Jobs(ctx context.Context, owner, repo string, runID int64) ([]Job, error) {
	opts := &github.ListWorkflowJobsOptions{Filter: "latest", ListOptions: github.ListOptions{PerPage: 100}}
	what := fmt.Sprintf("list jobs of workflow run %d", runID)
	var jobs []Job
	for page := 1; page <= maxJobPages; page++ {
		opts.Page = page
		var list *github.Jobs
		resp, err := c.call(ctx, what, idempotent, func(ctx context.Context) (resp *github.Response, err error) {
			list, resp, err = c.gh.Actions.ListWorkflowJobs(ctx, owner, repo, runID, opts)
			return resp, err
		})
		if err != nil {
			return nil, explain(err, opRun, Request{Owner: owner, Repo: repo}, what)
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
