// Package deploy dispatches the deploy workflow, finds the run it created and
// follows it until it completes, through the GitHub REST API.
//
// GitHub's API is shared and rate limited, and a deploy takes minutes, so
// every call here survives what GitHub throws at a long-running client:
// server errors, dropped connections, primary and secondary rate limits.
// What cannot succeed by waiting (a bad token, a missing workflow, an
// undeclared input) comes back at once as a *ConfigError, which names the
// Setting to change and leaves it to the caller to say where that setting
// came from.
//
// Rate limits are waited out as GitHub documents them (Retry-After, else
// the primary reset when X-RateLimit-Remaining is 0, else at least a
// minute), never by go-github's own hold on requests. A run Dispatch cannot
// tell apart from someone else's is never taken as its own.
package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v66/github"
)

// Defaults of a Client built without options.
const (
	// DefaultDiscoveryTimeout is how long Dispatch waits for the run it
	// created to show up in listings when GitHub did not say which it was.
	DefaultDiscoveryTimeout = 2 * time.Minute
	// DefaultDiscoveryInterval is how often Dispatch lists runs meanwhile.
	DefaultDiscoveryInterval = 3 * time.Second
	// DefaultDiscoveryGrace is how long after a dispatch Dispatch waits
	// before it takes the only new run as its own when nothing but
	// elimination tells it apart: long enough for GitHub's run listings,
	// which lag a few seconds behind, to show any other run started at the
	// same moment.
	DefaultDiscoveryGrace = 15 * time.Second
	// DefaultPollInterval is what Follow uses when given zero.
	DefaultPollInterval = 10 * time.Second
	// DefaultMaxRetries is how many times a failed request is retried for
	// server errors and broken connections; waiting out a rate limit does
	// not count.
	DefaultMaxRetries = 5
	// DefaultRequestTimeout bounds a single HTTP request when WithHTTPClient
	// is not used, so a hung connection cannot stall following a run.
	DefaultRequestTimeout = 30 * time.Second
	// ClockSkew is how far GitHub's clock may be from ours when Dispatch
	// asks for runs created after the dispatch.
	ClockSkew = 2 * time.Minute
	// ProgressInterval is how often Follow reports a run that is still
	// waiting or in progress.
	ProgressInterval = 2 * time.Minute
)

// clockLayout is how log lines show a moment.
const clockLayout = "15:04:05 UTC"

const (
	maxBackoff    = 30 * time.Second
	baseBackoff   = time.Second
	maxListPages  = 10
	vanishedAfter = 3 // consecutive 404s while following
	// createdSlack is how long before the dispatch, by GitHub's clock, a
	// run may have been created and still be ours: created_at counts whole
	// seconds, and the Date header tells GitHub's clock to within one.
	createdSlack = 2 * time.Second
	userAgent    = "deploy-load-check"
	timeLayout   = "2006-01-02T15:04:05Z"
)

// Request says what to dispatch. The caller has already parsed and validated
// the values.
type Request struct {
	Owner, Repo string
	// Workflow is the workflow's file name ("deploy-staging.yml") or numeric
	// ID. For a repository_dispatch it is optional and narrows discovery to
	// runs of that workflow.
	Workflow string
	// Ref is the branch or tag to run the workflow on; empty means the
	// repository's default branch.
	Ref    string
	Inputs map[string]string
	// EventType, when set, sends a repository_dispatch with ClientPayload
	// instead of a workflow_dispatch.
	EventType     string
	ClientPayload json.RawMessage
	// CorrelationInput names a workflow input (or client_payload key) that
	// Dispatch fills with a unique ID. A workflow that repeats it in its
	// run-name lets Dispatch tell its run from one dispatched by someone
	// else at the same moment.
	CorrelationInput string
	// CorrelationID, when set, is the ID sent in CorrelationInput instead
	// of a new one: the shards of one check share it, so that the shards
	// that do not dispatch find the run the one that did started
	// (FindRun).
	CorrelationID string
}

func (r Request) repository() string { return r.Owner + "/" + r.Repo }

func (r Request) isRepositoryDispatch() bool { return r.EventType != "" }

// Run is a workflow run as the API reports it.
type Run struct {
	ID int64
	// HTMLURL is the API's html_url, so links work on GitHub Enterprise too.
	HTMLURL      string
	Name         string
	DisplayTitle string
	// Status is one of queued, requested, waiting, pending, in_progress and
	// completed.
	Status string
	// Conclusion is empty until the run completes; then success, failure,
	// cancelled, timed_out, action_required, neutral, skipped, stale or
	// startup_failure (see DescribeConclusion).
	Conclusion string
	Event      string
	HeadBranch string
	WorkflowID int64
	Path       string
	RunNumber  int
	// Attempt is the run's run_attempt: 1, and one more for each re-run.
	Attempt int
	// Actor is the login of who started the run.
	Actor        string
	CreatedAt    time.Time
	RunStartedAt time.Time
	UpdatedAt    time.Time
	// Identified says how Dispatch told this run from others; zero for a
	// run read any other way.
	Identified Identification
}

// Identification says how Dispatch knew the run it returns is the one it
// started.
type Identification int

const (
	// NotIdentified is a run that Dispatch did not return.
	NotIdentified Identification = iota
	// ByRunID: GitHub named the run in its answer to the dispatch.
	ByRunID
	// ByCorrelation: the run's name carries the correlation ID the
	// dispatch sent.
	ByCorrelation
	// ByElimination: the run was the only new one of the workflow, event,
	// branch (and actor, when known) created since the dispatch, and stayed
	// alone for the discovery grace period. A run dispatched by someone
	// else at the same moment would have made Dispatch fail instead, but
	// only a correlation ID makes the run certain.
	ByElimination
)

func (i Identification) String() string {
	switch i {
	case ByRunID:
		return "by the run ID GitHub returned"
	case ByCorrelation:
		return "by its correlation ID"
	case ByElimination:
		return "by elimination"
	}
	return "not identified"
}

// Completed reports whether the run has finished, whatever its conclusion.
func (r Run) Completed() bool { return r.Status == "completed" }

func (r Run) describe() string {
	if r.HTMLURL == "" {
		return fmt.Sprintf("workflow run %d", r.ID)
	}
	return fmt.Sprintf("workflow run %d (%s)", r.ID, r.HTMLURL)
}

func runFromAPI(w *github.WorkflowRun) Run {
	return Run{
		ID:           w.GetID(),
		HTMLURL:      w.GetHTMLURL(),
		Name:         w.GetName(),
		DisplayTitle: w.GetDisplayTitle(),
		Status:       w.GetStatus(),
		Conclusion:   w.GetConclusion(),
		Event:        w.GetEvent(),
		HeadBranch:   w.GetHeadBranch(),
		WorkflowID:   w.GetWorkflowID(),
		Path:         w.GetPath(),
		RunNumber:    w.GetRunNumber(),
		Attempt:      w.GetRunAttempt(),
		Actor:        w.GetActor().GetLogin(),
		CreatedAt:    w.GetCreatedAt().Time,
		RunStartedAt: w.GetRunStartedAt().Time,
		UpdatedAt:    w.GetUpdatedAt().Time,
	}
}

// Job is a job of a workflow run.
type Job struct {
	ID      int64
	Name    string
	HTMLURL string
	// Status is one of queued, requested, waiting, pending, in_progress and
	// completed.
	Status string
	// Conclusion is empty until the job completes (see DescribeConclusion).
	Conclusion string
	// RunAttempt is the attempt of the run the job belongs to.
	RunAttempt  int
	StartedAt   time.Time
	CompletedAt time.Time
	Steps       []Step
}

// Completed reports whether the job has finished, whatever its conclusion.
func (j Job) Completed() bool { return j.Status == "completed" }

// Step is a step of a job.
type Step struct {
	Name        string
	Number      int64
	Status      string
	Conclusion  string
	StartedAt   time.Time
	CompletedAt time.Time
}

// Client talks to the GitHub API for one action run. Its methods may be
// called from several goroutines (Cancel while Follow runs, say) as long as
// the logger given to WithLogger may be too.
type Client struct {
	gh *github.Client

	httpClient        *http.Client
	log               func(string)
	now               func() time.Time
	sleep             func(context.Context, time.Duration) error
	discoveryTimeout  time.Duration
	discoveryInterval time.Duration
	discoveryGrace    time.Duration
	maxRetries        int
	newCorrelationID  func() string

	// progressEvery is ProgressInterval, shortened by tests.
	progressEvery time.Duration

	// rateLimitMargin is added to a primary rate limit's reset time, which
	// GitHub gives in whole seconds and go-github compares to our clock.
	rateLimitMargin time.Duration

	// noRunDetails remembers that this server rejects return_run_details,
	// so later dispatches do not ask again.
	noRunDetails atomic.Bool

	clock serverClock

	waitsMu sync.Mutex
	waits   []RateLimitWait

	loginMu    sync.Mutex
	login      string // the token's user, "" when it has none
	loginKnown bool
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client requests go through; New adds the
// token on top of its transport.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.httpClient = hc }
}

// WithLogger receives progress lines meant for the user: waits, status
// changes, retries. They never contain the token.
func WithLogger(log func(msg string)) Option {
	return func(c *Client) { c.log = log }
}

// WithClock replaces time.Now for discovery windows and progress reports.
func WithClock(now func() time.Time) Option {
	return func(c *Client) { c.now = now }
}

// WithSleep replaces the wait between polls and retries. sleep must return
// ctx.Err() when ctx ends first.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = sleep }
}

// WithDiscoveryTimeout sets how long Dispatch waits for a dispatched run to
// appear; DefaultDiscoveryTimeout otherwise.
func WithDiscoveryTimeout(d time.Duration) Option {
	return func(c *Client) { c.discoveryTimeout = d }
}

// WithDiscoveryInterval sets how often Dispatch lists runs while it waits
// for its run to appear; DefaultDiscoveryInterval otherwise.
func WithDiscoveryInterval(d time.Duration) Option {
	return func(c *Client) { c.discoveryInterval = d }
}

// WithDiscoveryGrace sets how long after a dispatch a lone new run must
// stay alone before Dispatch takes it as its own by elimination;
// DefaultDiscoveryGrace otherwise. It must cover the lag of GitHub's run
// listings.
func WithDiscoveryGrace(d time.Duration) Option {
	return func(c *Client) { c.discoveryGrace = d }
}

// WithMaxRetries sets how often a request is retried after a server error
// or a broken connection; DefaultMaxRetries otherwise.
func WithMaxRetries(n int) Option {
	return func(c *Client) { c.maxRetries = n }
}

// New returns a Client that authenticates with token against apiURL, the
// GITHUB_API_URL of the runner: "" means https://api.github.com/. Any other
// URL goes through go-github's WithEnterpriseURLs, which serves GitHub
// Enterprise Server (https://HOST/api/v3), GHE.com (https://api.SUB.ghe.com)
// and a local stand-in alike.
func New(token, apiURL string, opts ...Option) (*Client, error) {
	if token == "" {
		return nil, configError(Token, nil, "the token is empty; pass a token that may dispatch the deploy workflow")
	}
	c := &Client{
		log:               func(string) {},
		now:               time.Now,
		sleep:             sleepContext,
		discoveryTimeout:  DefaultDiscoveryTimeout,
		discoveryInterval: DefaultDiscoveryInterval,
		discoveryGrace:    DefaultDiscoveryGrace,
		maxRetries:        DefaultMaxRetries,
		newCorrelationID:  newCorrelationID,
		rateLimitMargin:   time.Second,
		progressEvery:     ProgressInterval,
	}
	for _, opt := range opts {
		opt(c)
	}
	hc := c.httpClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultRequestTimeout}
	}
	gh := github.NewClient(hc).WithAuthToken(token)
	if apiURL != "" {
		u, err := url.Parse(apiURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, configError(APIURL, nil, "GITHUB_API_URL %q is not an http(s) URL; set it to the REST API of the GitHub host, such as \"https://api.github.com\" or \"https://github.example.com/api/v3\"", apiURL)
		}
		if gh, err = gh.WithEnterpriseURLs(apiURL, apiURL); err != nil {
			return nil, configError(APIURL, err, "GITHUB_API_URL %q: %v", apiURL, err)
		}
	}
	gh.UserAgent = userAgent
	c.gh = gh
	return c, nil
}

// BaseURL is the API root requests go to, with its trailing slash.
func (c *Client) BaseURL() string { return c.gh.BaseURL.String() }

func (c *Client) logf(format string, args ...any) { c.log(fmt.Sprintf(format, args...)) }

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// jitter spreads d by ±10% so that many actions polling the same API do not
// move in lockstep.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	spread := int64(d) / 10
	if spread == 0 {
		return d
	}
	return d + time.Duration(rand.Int64N(2*spread+1)-spread)
}

func newCorrelationID() string {
	return fmt.Sprintf("dlc-%016x", rand.Uint64())
}
