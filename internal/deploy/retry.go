package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v66/github"
)

// Waits GitHub's documentation prescribes for a rate-limited request
// (docs.github.com, "Rate limits for the REST API", "Exceeding the rate
// limit"): Retry-After when it is sent; else, when X-RateLimit-Remaining is
// 0, until X-RateLimit-Reset; else at least a minute, growing exponentially
// while the limit lasts.
const (
	secondaryLimitWait    = time.Minute
	maxSecondaryLimitWait = 16 * time.Minute
)

// bypassHold is go-github's context key that makes a request skip the
// client-side hold go-github puts on requests after a rate limit: it
// remembers the last primary reset, and a secondary limit's Retry-After (or,
// without one, the primary reset again, often most of an hour away), and
// answers every request before then with a made-up error. This package
// waits as GitHub documents instead, so go-github must not refuse the
// request that follows the wait. go-github v66 keeps the key unexported as
// the first of its requestContext constants, the second being the exported
// SleepUntilPrimaryRateLimitResetWhenRateLimited;
// TestUnheldRequestsReachGitHubDuringGoGitHubsHold pins it.
const bypassHold = github.SleepUntilPrimaryRateLimitResetWhenRateLimited - 1

// unheld marks ctx so that go-github sends the request whatever limits it
// remembers.
func unheld(ctx context.Context) context.Context {
	return context.WithValue(ctx, bypassHold, true)
}

// RateLimitWait is one wait for a GitHub rate limit, for the report.
type RateLimitWait struct {
	// Request names the request that was limited.
	Request string
	// Reason says which limit and what GitHub asked for.
	Reason string
	// Start is when the wait began; Until when it ends, by this machine's
	// clock.
	Start, Until time.Time
}

// limit is how long a rate-limited request must wait, and why.
type limit struct {
	wait   time.Duration
	reason string
}

// rateLimit reads a rate limit out of err as GitHub documents it. streak
// counts the limits the same request met in a row before this one, for the
// growing wait of a secondary limit without Retry-After.
func (c *Client) rateLimit(err error, streak int) (limit, bool) {
	a, ok := apiAnswer(err)
	if !ok || !limited(a) {
		return limit{}, false
	}
	which := "GitHub's secondary rate limit"
	if a.status == http.StatusTooManyRequests {
		which = "GitHub's rate limit (HTTP 429)"
	}
	if after, ok := retryAfter(a.header, c.now()); ok {
		return limit{wait: after, reason: fmt.Sprintf("%s was hit and GitHub asked to retry after %s (Retry-After)", which, roundWait(after))}, true
	}
	if a.header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(a.header.Get("X-RateLimit-Reset"), 10, 64); err == nil && reset > 0 {
			// The reset is on GitHub's clock; so is the Date header, which
			// counts whole seconds: on average half of one has passed.
			now := c.now()
			if date, err := http.ParseTime(a.header.Get("Date")); err == nil {
				now = date.Add(500 * time.Millisecond)
			}
			resource := or(a.header.Get("X-RateLimit-Resource"), "core")
			wait := max(time.Unix(reset, 0).Sub(now), 0) + c.rateLimitMargin
			return limit{wait: wait, reason: fmt.Sprintf("the primary rate limit (%s) is used up until its reset", resource)}, true
		}
	}
	wait := secondaryLimitWait
	for i := 0; i < streak && wait < maxSecondaryLimitWait; i++ {
		wait *= 2
	}
	wait = min(wait, maxSecondaryLimitWait)
	return limit{wait: wait, reason: fmt.Sprintf("%s was hit without Retry-After (GitHub asks for at least a minute, longer while it lasts)", which)}, true
}

// limited reports whether an answer is a rate limit: a 429, or a 403 that
// says so by its headers, its message or its documentation link.
func limited(a answer) bool {
	switch a.status {
	case http.StatusTooManyRequests:
		return true
	case http.StatusForbidden:
		lower := strings.ToLower(a.message)
		return a.header.Get("X-RateLimit-Remaining") == "0" || a.header.Get("Retry-After") != "" || a.secondary ||
			strings.Contains(lower, "rate limit") ||
			strings.HasSuffix(a.docs, "secondary-rate-limits") || strings.HasSuffix(a.docs, "#abuse-rate-limits")
	}
	return false
}

// retryAfter reads Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if seconds, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(seconds, 0)) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		if date, err := http.ParseTime(h.Get("Date")); err == nil {
			now = date
		}
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// transient reports whether a failure may go away by itself: no answer at
// all (a refused or dropped connection, a timeout, a truncated body) or a
// server error.
func transient(err error) bool {
	a, ok := apiAnswer(err)
	return !ok || a.status >= 500
}

// backoff is the wait before retry number n (from 1): exponential, capped,
// jittered.
func backoff(n int) time.Duration {
	d := baseBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return jitter(min(d, maxBackoff))
}

// waitFor sleeps d unless that would outlast ctx, so that a rate limit that
// resets after the deploy timeout fails now rather than at the deadline;
// the error then wraps ErrDeadline as well as cause.
func (c *Client) waitFor(ctx context.Context, d time.Duration, what string, cause error) error {
	if deadline, ok := ctx.Deadline(); ok && c.now().Add(d).After(deadline) && d > time.Second {
		return fmt.Errorf("%w: waiting %s for %s would outlast the deadline at %s: %w",
			ErrDeadline, roundWait(d), what, deadline.UTC().Format(clockLayout), cause)
	}
	return c.sleep(ctx, d)
}

// idempotency says whether a request may simply be sent again after a
// failure that leaves open whether GitHub acted on it.
type idempotency bool

const (
	idempotent idempotency = true
	// once: a server error or dropped connection after a dispatch may
	// still have started a run; sending it again could deploy twice.
	once idempotency = false
)

// retryState is what one request remembers across its attempts.
type retryState struct {
	failures int // server errors and broken connections
	limits   int // rate limits in a row
}

// retryPolicy says how a request is retried.
type retryPolicy struct {
	idem idempotency
	// endless: server errors and broken connections are retried for as
	// long as ctx allows, not maxRetries times.
	endless bool
	// floor is the least wait between attempts.
	floor time.Duration
}

// retry waits before a failed request is sent again, as err asks: a rate
// limit as long as GitHub says (not counted against the retries), a server
// error or broken connection with exponential backoff. It returns nil when
// the request should be sent again, or the error to give up with. what
// names the request in the log.
func (c *Client) retry(ctx context.Context, what string, err error, st *retryState, p retryPolicy) error {
	if l, ok := c.rateLimit(err, st.limits); ok {
		st.limits++
		l.wait = max(l.wait, c.rateLimitMargin, p.floor)
		start := c.now()
		until := start.Add(l.wait)
		c.logf("%s: %s; waiting %s, until %s", what, l.reason, roundWait(l.wait), until.UTC().Format(clockLayout))
		c.noteWait(RateLimitWait{Request: what, Reason: l.reason, Start: start, Until: until})
		return c.waitFor(ctx, l.wait, "GitHub's rate limit", err)
	}
	st.limits = 0
	if p.idem == once || !transient(err) {
		return err
	}
	st.failures++
	if !p.endless && st.failures > c.maxRetries {
		return fmt.Errorf("giving up after %d attempts: %w", st.failures, err)
	}
	wait := max(backoff(st.failures), p.floor)
	if p.endless {
		c.logf("%s: %s; trying again in %s", what, failure(err), roundWait(wait))
	} else {
		c.logf("%s: %s; retrying in %s (retry %d of %d)", what, failure(err), roundWait(wait), st.failures, c.maxRetries)
	}
	return c.waitFor(ctx, wait, "GitHub", err)
}

// failure describes a transient failure for the log.
func failure(err error) string {
	if _, ok := apiAnswer(err); ok {
		return "GitHub answered " + answered(err)
	}
	return fmt.Sprintf("the request failed (%v)", err)
}

// call sends a request through do, retrying server errors and broken
// connections with backoff (only when idempotent) and waiting out rate
// limits. what names the request in log lines. The error it returns still
// wraps GitHub's answer, for the caller to explain.
func (c *Client) call(ctx context.Context, what string, idem idempotency, do func(context.Context) (*github.Response, error)) (*github.Response, error) {
	var st retryState
	for {
		resp, err := do(unheld(ctx))
		c.observe(resp)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return resp, fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		}
		if err := c.retry(ctx, what, err, &st, retryPolicy{idem: idem}); err != nil {
			return resp, err
		}
	}
}

// serverClock estimates GitHub's clock from the Date headers of its
// answers, so that a run's created_at can be compared with the moment of a
// dispatch whatever this machine's clock says.
type serverClock struct {
	mu     sync.Mutex
	offset time.Duration // GitHub's clock minus ours
	known  bool
}

// observe notes the server clock a response shows.
func (c *Client) observe(resp *github.Response) {
	if resp == nil || resp.Response == nil {
		return
	}
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return
	}
	// Date counts whole seconds: the server's time lay somewhere in the
	// second it names, on average half-way through.
	offset := date.Add(500 * time.Millisecond).Sub(c.now())
	c.clock.mu.Lock()
	c.clock.offset, c.clock.known = offset, true
	c.clock.mu.Unlock()
}

// serverNow is GitHub's time now, as far as its answers tell, and whether
// any answer told.
func (c *Client) serverNow() (time.Time, bool) {
	c.clock.mu.Lock()
	offset, known := c.clock.offset, c.clock.known
	c.clock.mu.Unlock()
	return c.now().Add(offset), known
}

// noteWait records a rate limit wait for RateLimitWaits.
func (c *Client) noteWait(w RateLimitWait) {
	c.waitsMu.Lock()
	defer c.waitsMu.Unlock()
	c.waits = append(c.waits, w)
}

// RateLimitWaits returns every wait for a GitHub rate limit so far, oldest
// first, for the report to show where the time went.
func (c *Client) RateLimitWaits() []RateLimitWait {
	c.waitsMu.Lock()
	defer c.waitsMu.Unlock()
	return append([]RateLimitWait(nil), c.waits...)
}

// roundWait shortens a duration for a log line without hiding short waits.
func roundWait(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// isContextErr reports whether err is ctx ending.
func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
