package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"
)

// GitHub asks clients that hit a secondary rate limit without a Retry-After
// header to wait at least a minute.
const secondaryLimitWait = time.Minute

// verdict says whether and how long to wait before trying a failed request
// again.
type verdict struct {
	retry bool
	// rateLimited waits are prescribed by GitHub and do not use up the retry
	// budget; wait is how long. Other retries back off exponentially.
	rateLimited bool
	wait        time.Duration
	reason      string
}

// judge decides what to do about err. go-github reports rate limits in
// several shapes: *RateLimitError for a 403 with X-RateLimit-Remaining: 0
// (also made up client-side, without a request, until the reset time it
// remembers), *AbuseRateLimitError for a 403 secondary limit it recognises
// by its documentation URL (also made up client-side until Retry-After has
// passed), and a plain *ErrorResponse for a 429 or an unrecognised 403.
func (c *Client) judge(err error) verdict {
	v := c.classify(err)
	if v.rateLimited {
		// A limit that says "retry now" (Retry-After: 0, a reset already
		// past) must not turn into a loop hammering the API.
		v.wait = max(v.wait, c.rateLimitMargin)
	}
	return v
}

func (c *Client) classify(err error) verdict {
	var (
		rate  *github.RateLimitError
		abuse *github.AbuseRateLimitError
	)
	switch {
	case errors.As(err, &rate):
		return c.untilReset(rate.Rate.Reset.Time, "the GitHub API rate limit is used up")
	case errors.As(err, &abuse):
		wait := secondaryLimitWait
		if abuse.RetryAfter != nil {
			wait = max(*abuse.RetryAfter, 0)
		}
		return verdict{retry: true, rateLimited: true, wait: wait, reason: "GitHub's secondary rate limit was hit"}
	}

	status, message, header, ok := apiError(err)
	if !ok {
		// Not an answer from GitHub: a refused or dropped connection, a
		// timeout, a truncated body. The next attempt may well work.
		return verdict{retry: true, reason: fmt.Sprintf("the request failed (%v)", err)}
	}
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusForbidden:
		if header.Get("X-RateLimit-Remaining") == "0" {
			reset, _ := strconv.ParseInt(header.Get("X-RateLimit-Reset"), 10, 64)
			if reset > 0 {
				return c.untilReset(time.Unix(reset, 0), "the GitHub API rate limit is used up")
			}
		}
		if seconds, err := strconv.Atoi(header.Get("Retry-After")); err == nil {
			return verdict{retry: true, rateLimited: true, wait: time.Duration(max(seconds, 0)) * time.Second,
				reason: fmt.Sprintf("GitHub answered %d and asked to retry after %ds", status, seconds)}
		}
		if strings.Contains(strings.ToLower(message), "secondary rate limit") {
			return verdict{retry: true, rateLimited: true, wait: secondaryLimitWait, reason: "GitHub's secondary rate limit was hit"}
		}
		if status == http.StatusTooManyRequests {
			return verdict{retry: true, reason: "GitHub answered 429 Too Many Requests"}
		}
		return verdict{}
	case status >= 500:
		return verdict{retry: true, reason: fmt.Sprintf("GitHub answered %s", answered(err))}
	}
	return verdict{}
}

func (c *Client) untilReset(reset time.Time, reason string) verdict {
	wait := secondaryLimitWait
	if !reset.IsZero() {
		wait = max(reset.Sub(c.now()), 0) + c.rateLimitMargin
		reason += ", until " + reset.UTC().Format("15:04:05 UTC")
	}
	return verdict{retry: true, rateLimited: true, wait: wait, reason: reason}
}

func isRateLimit(err error) bool {
	return (&Client{now: time.Now}).judge(err).rateLimited
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
// resets after the deploy timeout fails now rather than at the deadline.
func (c *Client) waitFor(ctx context.Context, d time.Duration, cause error) error {
	if deadline, ok := ctx.Deadline(); ok && c.now().Add(d).After(deadline) && d > time.Second {
		return fmt.Errorf("waiting %s for GitHub would outlast the deadline at %s: %w",
			roundWait(d), deadline.UTC().Format("15:04:05 UTC"), cause)
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

// call sends a request through do, retrying server errors and broken
// connections with backoff (only when idempotent) and waiting out rate
// limits. what names the request in log lines. The error it returns still
// wraps GitHub's answer, for the caller to explain.
func (c *Client) call(ctx context.Context, what string, idem idempotency, do func(context.Context) (*github.Response, error)) (*github.Response, error) {
	failures := 0
	for {
		resp, err := do(ctx)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return resp, fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		}
		v := c.judge(err)
		if !v.retry || (!v.rateLimited && idem == once) {
			return resp, err
		}
		wait := v.wait
		if !v.rateLimited {
			failures++
			if failures > c.maxRetries {
				return resp, fmt.Errorf("giving up after %d attempts: %w", failures, err)
			}
			wait = backoff(failures)
			c.logf("%s: %s; retrying in %s (retry %d of %d)", what, v.reason, roundWait(wait), failures, c.maxRetries)
		} else {
			c.logf("%s: %s; waiting %s before retrying", what, v.reason, roundWait(wait))
		}
		if err := c.waitFor(ctx, wait, err); err != nil {
			return resp, err
		}
	}
}

// roundWait shortens a duration for a log line without hiding short waits.
func roundWait(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Second)
}
