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
// run (or its deploy job) followed to completion, the tail window. It
// returns what the report shows of the deploy, and the error that kept it
// from completing, if any.
func (r *run) deploy(ctx context.Context, recorder *stats.Recorder, loadStart time.Time) (*report.Deploy, error) {
	d, client, clock := r.cfg.Deploy, r.deps.GitHub, r.deps.Clock
	out := &report.Deploy{Workflow: deploySubject(d), Judged: d.FailOnDeployFailure, Job: d.Job}
	defer r.noteRateLimits(out)
	if !clock.Sleep(ctx, d.Head) {
		out.Problem = "cancelled before the deploy was dispatched"
		return out, ctx.Err()
	}

	dispatchedAt := clock.Now()
	recorder.StartPhase("deploy", dispatchedAt)
	out.Dispatched = dispatchedAt.Sub(loadStart)
	deployCtx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	run, err := r.startOrFind(deployCtx, loadStart)
	if err != nil {
		out.Problem = r.notFound(ctx, deployCtx, err)
		return out, err
	}
	out.RunID, out.URL, out.Status, out.Attempt = run.ID, run.HTMLURL, run.Status, run.Attempt
	out.Identified, out.ByElimination = run.Identified.String(), run.Identified == deploy.ByElimination
	r.logf("deploy: following %s every %s", followed(d, run), d.PollInterval)
	if d.Job != "" {
		err = r.followJob(deployCtx, out)
	} else {
		run, err = client.Follow(deployCtx, d.Owner, d.Repo, run.ID, d.PollInterval, nil)
		r.noteRun(out, run)
	}
	completedAt := clock.Now()
	out.Duration = completedAt.Sub(dispatchedAt)
	if err != nil {
		r.followFailed(ctx, deployCtx, out, err)
		return out, err
	}
	r.logf("deploy: %s completed (%s) after %s; holding the load for %s of tail", followed(d, run), out.Conclusion, out.Duration.Round(time.Second), d.Tail)

	recorder.StartPhase("tail", completedAt)
	out.Completed = completedAt.Sub(loadStart)
	out.Steps = r.deploySteps(ctx, out.RunID, out.Attempt, loadStart)
	if !clock.Sleep(ctx, d.Tail) {
		return out, ctx.Err()
	}
	return out, nil
}

// startOrFind dispatches the deploy; a shard other than the first finds
// the run the first dispatched, by the shard key it sent as the
// correlation ID.
func (r *run) startOrFind(ctx context.Context, loadStart time.Time) (deploy.Run, error) {
	req := deployRequest(r.cfg.Deploy)
	sh := r.cfg.Shard
	if sh == nil {
		return r.deps.GitHub.Dispatch(ctx, req)
	}
	req.CorrelationID = sh.Key
	if sh.Index == 1 {
		r.logf("deploy: shard 1 of %d dispatches the deploy, with correlation ID %q", sh.Count, sh.Key)
		return r.deps.GitHub.Dispatch(ctx, req)
	}
	r.logf("deploy: shard %d of %d follows the run shard 1 dispatches, with correlation ID %q", sh.Index, sh.Count, sh.Key)
	return r.deps.GitHub.FindRun(ctx, req, loadStart)
}

// notFound says why the deploy was not started or its run not found.
func (r *run) notFound(ctx, deployCtx context.Context, err error) string {
	d, sh := r.cfg.Deploy, r.cfg.Shard
	follower := sh != nil && sh.Index > 1
	switch {
	case follower && timedOut(ctx, deployCtx, err):
		return fmt.Sprintf("no run carrying shard-key %q showed up within deploy-timeout %s, so this shard followed no deploy: %v", sh.Key, d.Timeout, err)
	case follower:
		return fmt.Sprintf("the run carrying shard-key %q was not found: %v", sh.Key, err)
	case timedOut(ctx, deployCtx, err):
		return fmt.Sprintf("the deploy's run was not found within deploy-timeout %s: %s", d.Timeout, explainDispatch(err))
	}
	return "the deploy was not started or its run not found: " + explainDispatch(err)
}

// timedOut reports whether deploy-timeout ran out, the check itself not
// being cancelled: deployCtx's deadline passed, or a wait GitHub asked for
// (a rate limit) would have outlasted it.
func timedOut(ctx, deployCtx context.Context, err error) bool {
	return ctx.Err() == nil && (errors.Is(deployCtx.Err(), context.DeadlineExceeded) || errors.Is(err, deploy.ErrDeadline))
}

// followJob follows the deploy job alone: its end is the deploy's end and
// its conclusion the deploy's, while later jobs may go on.
func (r *run) followJob(ctx context.Context, out *report.Deploy) error {
	d := r.cfg.Deploy
	job, err := r.deps.GitHub.FollowJob(ctx, d.Owner, d.Repo, out.RunID, d.Job, d.PollInterval, nil)
	out.Status, out.Conclusion = job.Status, job.Conclusion
	if job.Completed() {
		out.ConclusionMeaning = deploy.DescribeConclusion(job.Conclusion)
	}
	if job.RunAttempt > 0 {
		out.Attempt = job.RunAttempt
	}
	return err
}

// noteRun takes what the report shows from the run as last seen.
func (r *run) noteRun(out *report.Deploy, run deploy.Run) {
	if run.ID == 0 {
		return
	}
	out.Status, out.Conclusion = run.Status, run.Conclusion
	if run.Completed() {
		out.ConclusionMeaning = deploy.DescribeConclusion(run.Conclusion)
	}
	if run.HTMLURL != "" {
		out.URL = run.HTMLURL
	}
	if run.Attempt > 0 {
		out.Attempt = run.Attempt
	}
}

// followFailed says why the deploy could not be followed to its end, and
// cancels the run when deploy-timeout ran out (or a rate limit's wait would
// have outlasted it) and cancel-deploy-on-abort asks for it.
func (r *run) followFailed(ctx, deployCtx context.Context, out *report.Deploy, err error) {
	d := r.cfg.Deploy
	var rerun *deploy.RerunError
	switch {
	case errors.As(err, &rerun):
		r.noteRun(out, rerun.Run)
		out.Problem = "the deploy run was re-run while the check followed it, so the check cannot vouch for what runs now: " + rerun.Error()
	case ctx.Err() != nil:
		out.Problem = fmt.Sprintf("cancelled while the deploy run was %s; it may still be running: %s", or(out.Status, "starting"), out.URL)
	case timedOut(ctx, deployCtx, err):
		out.Problem = fmt.Sprintf("the deploy did not complete within deploy-timeout %s (last status %s): %s", d.Timeout, or(out.Status, "unknown"), out.URL)
		if deployCtx.Err() == nil {
			// The deadline is still ahead, but GitHub asked for a wait
			// that would outlast it.
			out.Problem += "; " + err.Error()
		}
		if d.CancelOnAbort {
			out.Problem += "; " + r.cancelRun(ctx, out)
		}
	case errors.Is(err, deploy.ErrJobNotFound):
		out.Problem = fmt.Sprintf("deploy-job %q: %v", d.Job, err)
	default:
		out.Problem = "lost track of the deploy run: " + err.Error()
	}
}

// cancelRun asks GitHub to cancel the deploy run, with a few seconds of
// its own, and says how that went.
func (r *run) cancelRun(ctx context.Context, out *report.Deploy) string {
	d := r.cfg.Deploy
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := r.deps.GitHub.Cancel(settle, d.Owner, d.Repo, out.RunID)
	var said string
	switch {
	case err == nil:
		said = "the deploy run was cancelled (cancel-deploy-on-abort)"
	case errors.Is(err, deploy.ErrAlreadyCompleted):
		said = "the deploy run had already finished"
	default:
		said = fmt.Sprintf("cancelling the deploy run failed (%v), so it may still be running", err)
	}
	r.logf("deploy: %s", said)
	return said
}

// noteRateLimits counts the waits GitHub's rate limits imposed.
func (r *run) noteRateLimits(out *report.Deploy) {
	for _, w := range r.deps.GitHub.RateLimitWaits() {
		out.RateLimitWaits++
		out.RateLimitWaited += w.Until.Sub(w.Start)
	}
}

// followed names what is followed: the run, or its deploy job.
func followed(d *config.Deploy, run deploy.Run) string {
	if d.Job != "" {
		return fmt.Sprintf("job %q of run %s", d.Job, run.HTMLURL)
	}
	return "run " + run.HTMLURL
}

// explainDispatch adds to a dispatch's error what only this layer can say:
// which input tells runs apart.
func explainDispatch(err error) string {
	var ambiguous *deploy.AmbiguousRunError
	if errors.As(err, &ambiguous) && !ambiguous.Correlated {
		return err.Error() + `; set input "correlation-input" to such a workflow input`
	}
	return err.Error()
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// deploySteps reads the run's jobs and places their steps on the load's
// timeline, so a disruption can name the step that was running. Without
// them the check still stands, so a failure here is only logged.
func (r *run) deploySteps(ctx context.Context, runID int64, attempt int, loadStart time.Time) []report.Step {
	d := r.cfg.Deploy
	jobs, err := r.deps.GitHub.AttemptJobs(ctx, d.Owner, d.Repo, runID, attempt)
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

// deploySettingInputs are the inputs behind the deploy's settings.
var deploySettingInputs = map[deploy.Setting]string{
	deploy.Token:            "github-token",
	deploy.Repository:       "repository",
	deploy.Workflow:         "workflow",
	deploy.Ref:              "workflow-ref",
	deploy.WorkflowInputs:   "workflow-inputs",
	deploy.EventType:        "event-type",
	deploy.EventPayload:     "client-payload",
	deploy.CorrelationInput: "correlation-input",
}

// deployInputError names the input behind a deploy setting GitHub refused;
// other errors pass unchanged.
func deployInputError(err error) error {
	var ce *deploy.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	if input, ok := deploySettingInputs[ce.Setting]; ok {
		return &config.Error{Input: input, Err: err}
	}
	if ce.Setting == deploy.APIURL {
		return fmt.Errorf("GITHUB_API_URL: %w", err)
	}
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
