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
// conclusion: judging the conclusion is the caller's business. onUpdate, if
// not nil, sees the run each time its state changes, the first time
// included. The deploy timeout is ctx's deadline; when ctx ends first,
// Follow returns the last state it saw with an error wrapping ctx.Err().
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
	var (
		last       = Run{ID: runID}
		seen       bool
		etag       string
		failures   int
		notFound   int
		lastReport = c.now()
		since      = c.now() // when the run took its current status
		req        = Request{Owner: owner, Repo: repo}
	)
	for {
		run, newETag, changed, err := c.pollRun(ctx, owner, repo, runID, etag)
		wait := jitter(pollInterval)
		switch {
		case err == nil:
			failures, notFound = 0, 0
			now := c.now()
			if changed {
				etag = newETag
				if !seen || run.Status != last.Status {
					since = now
					lastReport = now
					c.logf("workflow run #%d is %s: %s", run.RunNumber, describeStatus(run), run.HTMLURL)
				}
				if !seen || stateChanged(last, run) {
					last, seen = run, true
					if onUpdate != nil {
						onUpdate(run)
					}
				}
			}
			if last.Completed() {
				return last, nil
			}
			if now.Sub(lastReport) >= c.progressEvery {
				lastReport = now
				c.logf("workflow run #%d still %s after %s: %s", last.RunNumber, last.Status, now.Sub(since).Round(time.Second), last.HTMLURL)
			}

		case ctx.Err() != nil:
			return last, c.stopped(ctx, last)

		case hasStatus(err, http.StatusNotFound):
			notFound++
			if notFound >= vanishedAfter {
				return last, fmt.Errorf("%w: %s in %q answered 404 %d times in a row; was the run deleted, or did input \"github-token\" lose access to the repository?",
					ErrRunVanished, last.describe(), req.repository(), notFound)
			}
			c.logf("workflow run %d answered 404; checking again in %s", runID, roundWait(wait))

		default:
			v := c.judge(err)
			if !v.retry {
				return last, explain(err, opRun, req, fmt.Sprintf("follow workflow run %d", runID))
			}
			if v.rateLimited {
				wait = max(v.wait, wait)
				c.logf("following workflow run %d: %s; waiting %s", runID, v.reason, roundWait(wait))
			} else {
				failures++
				wait = max(backoff(failures), wait)
				c.logf("following workflow run %d: %s; still following, next try in %s", runID, v.reason, roundWait(wait))
			}
		}
		if err := c.waitFor(ctx, wait, err); err != nil {
			if ctx.Err() != nil {
				return last, c.stopped(ctx, last)
			}
			return last, fmt.Errorf("following %s: %w", last.describe(), err)
		}
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
		a.DisplayTitle != b.DisplayTitle || !a.RunStartedAt.Equal(b.RunStartedAt)
}

// pollRun fetches the run once, conditionally on etag. go-github treats a
// 304 like any non-2xx answer and returns it as an *ErrorResponse, so that
// is where "not modified" is read from.
func (c *Client) pollRun(ctx context.Context, owner, repo string, runID int64, etag string) (run Run, newETag string, changed bool, err error) {
	r, err := c.gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/actions/runs/%d", url.PathEscape(owner), url.PathEscape(repo), runID), nil)
	if err != nil {
		return Run{}, etag, false, err
	}
	if etag != "" {
		r.Header.Set("If-None-Match", etag)
	}
	var wr github.WorkflowRun
	resp, err := c.gh.Do(ctx, r, &wr)
	if err != nil {
		if etag != "" && hasStatus(err, http.StatusNotModified) {
			return Run{}, etag, false, nil
		}
		return Run{}, etag, false, err
	}
	return runFromAPI(&wr), resp.Header.Get("ETag"), true, nil
}

// Run reads the run once, as it is now.
func (c *Client) Run(ctx context.Context, owner, repo string, runID int64) (Run, error) {
	run, _, _, err := c.pollRun(ctx, owner, repo, runID, "")
	if err != nil {
		return Run{}, explain(err, opRun, Request{Owner: owner, Repo: repo}, fmt.Sprintf("read workflow run %d", runID))
	}
	return run, nil
}
