package deploy

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/go-github/v66/github"
)

// Follow polls the run every pollInterval (DefaultPollInterval when zero),
// give or take 10%, until it completes, and returns it whatever its
// conclusion: judging the conclusion is the caller's business (see
// DescribeConclusion). Every status but completed (queued, requested,
// pending, waiting, in_progress) keeps it waiting; a run that waits for
// long is logged as needing an approval, with its link. onUpdate, if not
// nil, sees the run each time its state changes, the first time included.
// The deploy timeout is ctx's deadline; when ctx ends first, Follow returns
// the last state it saw with an error wrapping ctx.Err().
//
// Follow follows the attempt the run is at when it starts. When the run is
// re-run before Follow sees that attempt complete, it returns the followed
// attempt as it ended with a *RerunError (errors.Is(err, ErrRerun)): a
// later attempt is reported, never mixed in.
//
// Polls send If-None-Match with the last ETag, so an unchanged run costs a
// 304 and no rate limit quota. Server errors, broken connections and rate
// limits are waited out for as long as ctx allows: losing track of a
// deploy that is still running would be worse than a slow poll. A run that
// answers 404 several times in a row is reported as vanished
// (ErrRunVanished); a token that stops working is a *ConfigError.
func (c *Client) Follow(ctx context.Context, owner, repo string, runID int64, pollInterval time.Duration, onUpdate func(Run)) (Run, error) {
	if pollInterval <= 0 {
		pollInterval = DefaultPollInterval
	}
	w := c.newWatch(owner, repo, runID)
	for {
		changed, err := w.poll(ctx)
		wait := jitter(pollInterval)
		switch {
		case err == nil:
			if changed && onUpdate != nil {
				onUpdate(w.last)
			}
			if w.rerun != nil {
				return w.rerun.Run, w.rerun
			}
			if w.last.Completed() {
				return w.last, nil
			}
			w.progress()
		case ctx.Err() != nil:
			return w.last, c.stopped(ctx, w.last)
		default:
			if err := w.failed(ctx, err, wait); err != nil {
				return w.last, err
			}
			continue
		}
		if err := c.sleep(ctx, wait); err != nil {
			return w.last, c.stopped(ctx, w.last)
		}
	}
}

// watch is the state of following one run: what was last seen of it and
// how its polls went.
type watch struct {
	c           *Client
	owner, repo string
	runID       int64

	last       Run
	seen       bool
	attempt    int // the attempt followed; 0 until the first answer
	etag       string
	retries    retryState
	notFound   int
	lastReport time.Time
	since      time.Time // when the run took its current status
	// rerun is set when a later attempt started before the followed one
	// was seen to complete.
	rerun *RerunError
}

func (c *Client) newWatch(owner, repo string, runID int64) *watch {
	now := c.now()
	return &watch{c: c, owner: owner, repo: repo, runID: runID, last: Run{ID: runID}, lastReport: now, since: now}
}

func (w *watch) request() Request { return Request{Owner: w.owner, Repo: w.repo} }

// poll reads the run once and reports whether its state changed.
func (w *watch) poll(ctx context.Context) (changed bool, err error) {
	c := w.c
	run, newETag, modified, err := c.pollRun(ctx, w.owner, w.repo, w.runID, w.etag)
	if err != nil {
		return false, err
	}
	w.retries, w.notFound = retryState{}, 0
	if !modified {
		return false, nil
	}
	w.etag = newETag
	if w.attempt == 0 {
		w.attempt = max(run.Attempt, 1)
	}
	if run.Attempt > w.attempt {
		return w.reran(ctx, run)
	}
	now := c.now()
	if !w.seen || run.Status != w.last.Status {
		w.since, w.lastReport = now, now
		c.logf("workflow run #%d%s is %s: %s", run.RunNumber, attemptSuffix(run.Attempt), describeStatus(run), run.HTMLURL)
	}
	changed = !w.seen || stateChanged(w.last, run)
	w.last, w.seen = run, true
	return changed, nil
}

// reran handles a run whose attempt moved past the one followed: it reads
// how the followed attempt ended and records the re-run.
func (w *watch) reran(ctx context.Context, current Run) (bool, error) {
	c := w.c
	what := fmt.Sprintf("read attempt %d of workflow run %d", w.attempt, w.runID)
	var ended *github.WorkflowRun
	_, err := c.call(ctx, what, idempotent, func(ctx context.Context) (resp *github.Response, err error) {
		ended, resp, err = c.gh.Actions.GetWorkflowRunAttempt(ctx, w.owner, w.repo, w.runID, w.attempt, nil)
		return resp, err
	})
	followed := w.last
	if err == nil {
		followed = runFromAPI(ended)
	} else {
		c.logf("%s: %v; reporting the attempt as last seen", what, err)
	}
	w.rerun = &RerunError{Run: followed, Attempt: current.Attempt}
	c.logf("workflow run #%d was re-run while it was followed: attempt %d ended %s, and attempt %d is %s: %s; the later attempt is not followed",
		current.RunNumber, w.attempt, or(followed.Conclusion, followed.Status), current.Attempt, current.Status, current.HTMLURL)
	changed := stateChanged(w.last, followed)
	w.last, w.seen = followed, true
	return changed, nil
}

// failed decides what to do about a failed poll: wait and go on (nil) or
// give up (the error to return).
func (w *watch) failed(ctx context.Context, err error, wait time.Duration) error {
	c := w.c
	if hasStatus(err, http.StatusNotFound) {
		w.notFound++
		if w.notFound >= vanishedAfter {
			return fmt.Errorf("%w: %s in %q answered 404 %d times in a row; was the run deleted, or did the token lose access to the repository?",
				ErrRunVanished, w.last.describe(), w.request().repository(), w.notFound)
		}
		c.logf("workflow run %d answered 404; checking again in %s", w.runID, roundWait(wait))
		if err := c.sleep(ctx, wait); err != nil {
			return c.stopped(ctx, w.last)
		}
		return nil
	}
	what := fmt.Sprintf("following workflow run %d", w.runID)
	retryErr := c.retry(ctx, what, err, &w.retries, retryPolicy{idem: idempotent, endless: true, floor: wait})
	switch {
	case retryErr == nil:
		return nil
	case ctx.Err() != nil:
		return c.stopped(ctx, w.last)
	case retryErr == err:
		return explain(err, opRun, w.request(), fmt.Sprintf("follow workflow run %d", w.runID))
	}
	return fmt.Errorf("following %s: %w", w.last.describe(), retryErr)
}

// progress logs a run that keeps its status for long, every progressEvery.
func (w *watch) progress() {
	c, last := w.c, w.last
	now := c.now()
	if now.Sub(w.lastReport) < c.progressEvery {
		return
	}
	w.lastReport = now
	held := now.Sub(w.since).Round(time.Second)
	switch last.Status {
	case "waiting":
		c.logf("workflow run #%d has been waiting for %s: a job needs an approval (a required reviewer of its environment) or waits out a wait timer; review it at %s",
			last.RunNumber, held, last.HTMLURL)
	case "pending":
		c.logf("workflow run #%d has been pending for %s: it waits for another run of its concurrency group to finish: %s",
			last.RunNumber, held, last.HTMLURL)
	case "queued", "requested":
		c.logf("workflow run #%d has been %s for %s: it waits for a runner: %s", last.RunNumber, last.Status, held, last.HTMLURL)
	default:
		c.logf("workflow run #%d still %s after %s: %s", last.RunNumber, last.Status, held, last.HTMLURL)
	}
}

func (c *Client) stopped(ctx context.Context, last Run) error {
	status := last.Status
	if status == "" {
		status = "unknown"
	}
	return fmt.Errorf("stopped following %s while it was %s: %w", last.describe(), status, ctx.Err())
}

func describeStatus(r Run) string {
	if r.Completed() {
		return "completed (" + or(r.Conclusion, "no conclusion") + ")"
	}
	return r.Status
}

func attemptSuffix(attempt int) string {
	if attempt > 1 {
		return fmt.Sprintf(" (attempt %d)", attempt)
	}
	return ""
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// stateChanged reports whether b differs from a in what a follower cares
// about.
func stateChanged(a, b Run) bool {
	return a.Status != b.Status || a.Conclusion != b.Conclusion || !a.UpdatedAt.Equal(b.UpdatedAt) ||
		a.DisplayTitle != b.DisplayTitle || !a.RunStartedAt.Equal(b.RunStartedAt) || a.Attempt != b.Attempt
}

// pollRun fetches the run once, conditionally on etag.
func (c *Client) pollRun(ctx context.Context, owner, repo string, runID int64, etag string) (run Run, newETag string, modified bool, err error) {
	var wr github.WorkflowRun
	path := fmt.Sprintf("repos/%s/%s/actions/runs/%d", url.PathEscape(owner), url.PathEscape(repo), runID)
	newETag, modified, err = c.getConditional(ctx, path, etag, &wr)
	if err != nil || !modified {
		return Run{}, newETag, false, err
	}
	return runFromAPI(&wr), newETag, true, nil
}

// getConditional GETs path into v with If-None-Match: etag, once (no
// retries), and reports whether the answer was new. go-github treats a 304
// like any non-2xx answer and returns it as an *ErrorResponse, so that is
// where "not modified" is read from.
func (c *Client) getConditional(ctx context.Context, path, etag string, v any) (newETag string, modified bool, err error) {
	r, err := c.gh.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		return etag, false, err
	}
	if etag != "" {
		r.Header.Set("If-None-Match", etag)
	}
	resp, err := c.gh.Do(unheld(ctx), r, v)
	c.observe(resp)
	if err != nil {
		if etag != "" && hasStatus(err, http.StatusNotModified) {
			return etag, false, nil
		}
		return etag, false, err
	}
	return resp.Header.Get("ETag"), true, nil
}

// Run reads the run once, as it is now.
func (c *Client) Run(ctx context.Context, owner, repo string, runID int64) (Run, error) {
	run, _, _, err := c.pollRun(ctx, owner, repo, runID, "")
	if err != nil {
		return Run{}, explain(err, opRun, Request{Owner: owner, Repo: repo}, fmt.Sprintf("read workflow run %d", runID))
	}
	return run, nil
}
