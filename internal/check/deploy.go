package check

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/deploy"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
)

// deploy runs the deploy under load: the head window, the dispatch, the
// run followed to completion, the tail window. It returns what the report
// shows of the deploy, and the error that kept it from completing, if any.
func (r *run) deploy(ctx context.Context, recorder *stats.Recorder, loadStart time.Time) (*report.Deploy, error) {
	d, client, clock := r.cfg.Deploy, r.deps.GitHub, r.deps.Clock
	out := &report.Deploy{Workflow: deploySubject(d), Judged: d.FailOnDeployFailure}
	if !clock.Sleep(ctx, d.Head) {
		out.Problem = "cancelled before the deploy was dispatched"
		return out, ctx.Err()
	}

	dispatchedAt := clock.Now()
	recorder.StartPhase("deploy", dispatchedAt)
	out.Dispatched = dispatchedAt.Sub(loadStart)
	deployCtx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	run, err := client.Dispatch(deployCtx, deployRequest(d))
	if err != nil {
		out.Problem = "the deploy was not started or its run not found: " + err.Error()
		return out, err
	}
	out.RunID, out.URL, out.Status = run.ID, run.HTMLURL, run.Status
	r.logf("deploy: following run %s every %s", run.HTMLURL, d.PollInterval)
	run, err = client.Follow(deployCtx, d.Owner, d.Repo, run.ID, d.PollInterval, nil)
	completedAt := clock.Now()
	out.Duration = completedAt.Sub(dispatchedAt)
	if run.ID != 0 {
		out.Status, out.Conclusion = run.Status, run.Conclusion
		if run.HTMLURL != "" {
			out.URL = run.HTMLURL
		}
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
			out.Problem = fmt.Sprintf("cancelled while the deploy run was %s; it may still be running: %s", out.Status, out.URL)
		case deployCtx.Err() != nil:
			out.Problem = fmt.Sprintf("the deploy run did not complete within deploy-timeout %s (last status %s): %s", d.Timeout, out.Status, out.URL)
		default:
			out.Problem = "lost track of the deploy run: " + err.Error()
		}
		return out, err
	}
	r.logf("deploy: run completed (%s) after %s; holding the load for %s of tail", run.Conclusion, out.Duration.Round(time.Second), d.Tail)

	recorder.StartPhase("tail", completedAt)
	out.Completed = completedAt.Sub(loadStart)
	out.Steps = r.deploySteps(ctx, run.ID, loadStart)
	if !clock.Sleep(ctx, d.Tail) {
		return out, ctx.Err()
	}
	return out, nil
}

// deploySteps reads the run's jobs and places their steps on the load's
// timeline, so a disruption can name the step that was running. Without
// them the check still stands, so a failure here is only logged.
func (r *run) deploySteps(ctx context.Context, runID int64, loadStart time.Time) []report.Step {
	d := r.cfg.Deploy
	jobs, err := r.deps.GitHub.Jobs(ctx, d.Owner, d.Repo, runID)
	if err != nil {
		r.logf("deploy: could not read the run's jobs, so disruptions will not name deploy steps: %v", err)
		return nil
	}
	var steps []report.Step
	for _, job := range jobs {
		for _, st := range job.Steps {
			if st.StartedAt.IsZero() {
				continue
			}
			step := report.Step{Job: job.Name, Name: st.Name, Start: st.StartedAt.Sub(loadStart), Conclusion: st.Conclusion}
			if !st.CompletedAt.IsZero() {
				step.End = st.CompletedAt.Sub(loadStart)
			}
			steps = append(steps, step)
		}
	}
	slices.SortStableFunc(steps, func(a, b report.Step) int { return cmp.Compare(a.Start, b.Start) })
	return steps
}

// settleDeploy says, for a cancelled check, what became of the deploy run,
// and cancels it when asked to. It has a few seconds: the runner stops a
// cancelled job's container soon after its signal.
func (r *run) settleDeploy(ctx context.Context, out *report.Deploy) {
	if out == nil || out.RunID == 0 || out.Completed > 0 {
		return
	}
	d, client := r.cfg.Deploy, r.deps.GitHub
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if d.CancelOnAbort {
		err := client.Cancel(settle, d.Owner, d.Repo, out.RunID)
		switch {
		case err == nil:
			out.Problem = "the check was cancelled, and so was the deploy run (cancel-deploy-on-abort): " + out.URL
		case errors.Is(err, deploy.ErrAlreadyCompleted):
			out.Problem = "the check was cancelled; the deploy run had already finished: " + out.URL
		default:
			out.Problem = fmt.Sprintf("the check was cancelled; cancelling the deploy run failed (%v), so it may still be running: %s", err, out.URL)
		}
		r.logf("deploy: %s", out.Problem)
		return
	}
	run, err := client.Run(settle, d.Owner, d.Repo, out.RunID)
	switch {
	case err != nil:
		out.Problem = "the check was cancelled; the deploy run may still be running: " + out.URL
	case run.Completed():
		out.Status, out.Conclusion = run.Status, run.Conclusion
		out.Problem = fmt.Sprintf("the check was cancelled; the deploy run has finished (%s): %s", run.Conclusion, out.URL)
	default:
		out.Status = run.Status
		out.Problem = fmt.Sprintf("the check was cancelled; the deploy run is still %s: %s", run.Status, out.URL)
	}
	r.logf("deploy: %s", out.Problem)
}

// deployInputError names the input behind a deploy setting GitHub refused;
// other errors pass unchanged.
func deployInputError(err error) error {
	return err
}

func deployRequest(d *config.Deploy) deploy.Request {
	return deploy.Request{
		Owner:            d.Owner,
		Repo:             d.Repo,
		Workflow:         d.Workflow,
		Ref:              d.Ref,
		Inputs:           d.Inputs,
		EventType:        d.EventType,
		ClientPayload:    d.ClientPayload,
		CorrelationInput: d.CorrelationInput,
	}
}

// deploySubject names what is dispatched, for the log and the summary.
func deploySubject(d *config.Deploy) string {
	if d.EventType != "" {
		return fmt.Sprintf("repository_dispatch %q to %s/%s", d.EventType, d.Owner, d.Repo)
	}
	return fmt.Sprintf("%s in %s/%s", d.Workflow, d.Owner, d.Repo)
}
