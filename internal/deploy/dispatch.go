package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"
)

// correlationGrace is how long a lone new run that does not carry the
// correlation ID must stay alone before Dispatch takes it as its own: the
// workflow may not repeat the ID in its run-name, but ours may also just
// not be listed yet.
const correlationGrace = 10 * time.Second

// ambiguousLookTimeout bounds the search for a run after a dispatch whose
// answer was lost, before dispatching again.
const ambiguousLookTimeout = 30 * time.Second

// dispatch is one dispatch in the making: what is sent, and what tells the
// run it creates apart from others.
type dispatch struct {
	req           Request
	ref           string // as sent, for a workflow_dispatch
	branch        string // the head_branch its runs have
	inputs        map[string]string
	payload       json.RawMessage
	correlationID string
}

func (d *dispatch) event() string {
	if d.req.isRepositoryDispatch() {
		return "repository_dispatch"
	}
	return "workflow_dispatch"
}

// subject names what is dispatched, for messages.
func (d *dispatch) subject() string {
	if d.req.isRepositoryDispatch() {
		if d.req.Workflow != "" {
			return fmt.Sprintf("repository_dispatch %q for workflow %q", d.req.EventType, d.req.Workflow)
		}
		return fmt.Sprintf("repository_dispatch %q", d.req.EventType)
	}
	return fmt.Sprintf("workflow %q on %q", d.req.Workflow, d.ref)
}

// Dispatch starts the deploy workflow and returns the run it created.
//
// A workflow_dispatch asks GitHub for the run's ID (return_run_details);
// servers that predate it are asked again without it. When no ID comes
// back, and for a repository_dispatch, Dispatch looks for the run: runs of
// the same workflow, event and branch created since the dispatch (less
// ClockSkew), that did not exist just before it. One such run is ours.
// Among several, the one whose name carries the correlation ID (see
// Request.CorrelationInput) is ours; otherwise Dispatch fails with an
// *AmbiguousRunError listing them rather than guess. When no run carries the
// ID, a lone new run is taken as ours after it has stayed alone for a few
// seconds. A dispatch whose answer was lost (a server error, a dropped
// connection) may still have started a run, so Dispatch looks for it before
// dispatching again.
func (c *Client) Dispatch(ctx context.Context, req Request) (Run, error) {
	d, err := c.prepare(ctx, req)
	if err != nil {
		return Run{}, err
	}
	// Listing what exists before dispatching is what makes a run found
	// afterwards provably new; it also catches a missing workflow or a bad
	// token before anything is started.
	known, err := c.listRuns(ctx, d, c.now().Add(-ClockSkew))
	if err != nil {
		return Run{}, err
	}
	before := make(map[int64]bool, len(known))
	for _, r := range known {
		before[r.ID] = true
	}

	for attempt := 1; ; attempt++ {
		sentAt := c.now()
		id, err := c.send(ctx, d)
		switch {
		case err == nil && id != 0:
			run, err := c.dispatchedRun(ctx, req, id)
			if err == nil {
				c.logf("dispatched %s: run %s", d.subject(), run.HTMLURL)
			}
			return run, err
		case err == nil:
			c.logf("dispatched %s; looking for the run it started", d.subject())
			return c.discover(ctx, d, before, sentAt, c.discoveryTimeout)
		case ctx.Err() != nil:
			return Run{}, fmt.Errorf("dispatch %s: %w", d.subject(), ctx.Err())
		}
		v := c.judge(err)
		if !v.retry || v.rateLimited {
			return Run{}, explain(err, d.op(), req, "dispatch "+d.subject())
		}
		if attempt > c.maxRetries {
			return Run{}, fmt.Errorf("dispatch %s: giving up after %d attempts: %w", d.subject(), attempt, err)
		}
		c.logf("dispatch %s: %s; it may have gone through, so looking for its run before dispatching again", d.subject(), v.reason)
		run, lookErr := c.discover(ctx, d, before, sentAt, min(c.discoveryTimeout, ambiguousLookTimeout))
		if !errors.Is(lookErr, ErrNoRun) {
			return run, lookErr
		}
		if err := c.waitFor(ctx, backoff(attempt), err); err != nil {
			return Run{}, fmt.Errorf("dispatch %s: %w", d.subject(), err)
		}
	}
}

// Check asks GitHub what Dispatch will need, without dispatching: that the
// token is valid, the repository and ref exist and the workflow's runs can be
// listed. Run it before any load is sent, so a configuration mistake costs
// seconds rather than a head window.
func (c *Client) Check(ctx context.Context, req Request) error {
	d, err := c.prepare(ctx, req)
	if err != nil {
		return err
	}
	// Listing runs first tells a missing repository or workflow apart from
	// a missing ref.
	if _, err := c.listRuns(ctx, d, c.now().Add(-ClockSkew)); err != nil {
		return err
	}
	if req.Ref != "" && !req.isRepositoryDispatch() {
		return c.checkRef(ctx, req)
	}
	return nil
}

// checkRef makes sure workflow-ref names a branch or a tag.
func (c *Client) checkRef(ctx context.Context, req Request) error {
	name := strings.TrimPrefix(strings.TrimPrefix(req.Ref, "refs/heads/"), "refs/tags/")
	what := fmt.Sprintf("look up ref %q in %q", name, req.repository())
	for _, kind := range []string{"heads/", "tags/"} {
		_, err := c.call(ctx, what, idempotent, func(ctx context.Context) (*github.Response, error) {
			_, resp, err := c.gh.Git.GetRef(ctx, req.Owner, req.Repo, kind+name)
			return resp, err
		})
		switch {
		case err == nil:
			return nil
		case !hasStatus(err, http.StatusNotFound):
			return explain(err, opRepository, req, what)
		}
	}
	return &ConfigError{Input: "workflow-ref", Msg: fmt.Sprintf(`input "workflow-ref": %q is neither a branch nor a tag of %q; name an existing branch or tag, or leave workflow-ref empty for the default branch`, req.Ref, req.repository())}
}

func (d *dispatch) op() operation {
	if d.req.isRepositoryDispatch() {
		return opRepositoryDispatch
	}
	return opWorkflowDispatch
}

// prepare resolves the ref and adds the correlation ID.
func (c *Client) prepare(ctx context.Context, req Request) (*dispatch, error) {
	if req.Owner == "" || req.Repo == "" {
		return nil, &ConfigError{Input: "repository", Msg: fmt.Sprintf(`input "repository": %q is not owner/name; name the repository that holds the deploy workflow`, req.repository())}
	}
	d := &dispatch{req: req}
	if req.CorrelationInput != "" {
		d.correlationID = c.newCorrelationID()
	}
	if req.isRepositoryDispatch() {
		payload, err := withCorrelation(req.ClientPayload, req.CorrelationInput, d.correlationID)
		if err != nil {
			return nil, err
		}
		d.payload = payload
		return d, nil
	}

	if req.Workflow == "" {
		return nil, &ConfigError{Input: "workflow", Msg: `input "workflow" is empty; name the deploy workflow's file ("deploy-staging.yml") or ID, or set "event-type" to send a repository_dispatch`}
	}
	d.inputs = maps.Clone(req.Inputs)
	if req.CorrelationInput != "" {
		if _, taken := d.inputs[req.CorrelationInput]; taken {
			return nil, &ConfigError{Input: "correlation-input", Msg: fmt.Sprintf(`input "workflow-inputs" already sets %q, the input that "correlation-input" asks the action to fill; remove it from workflow-inputs or name another input`, req.CorrelationInput)}
		}
		if d.inputs == nil {
			d.inputs = map[string]string{}
		}
		d.inputs[req.CorrelationInput] = d.correlationID
	}
	d.ref = req.Ref
	if d.ref == "" {
		branch, err := c.defaultBranch(ctx, req)
		if err != nil {
			return nil, err
		}
		d.ref = branch
	}
	d.branch = strings.TrimPrefix(strings.TrimPrefix(d.ref, "refs/heads/"), "refs/tags/")
	return d, nil
}

// withCorrelation adds the correlation ID to a client_payload object.
func withCorrelation(payload json.RawMessage, key, id string) (json.RawMessage, error) {
	if key == "" {
		return payload, nil
	}
	fields := map[string]json.RawMessage{}
	if len(payload) > 0 && string(payload) != "null" {
		if err := json.Unmarshal(payload, &fields); err != nil {
			return nil, &ConfigError{Input: "client-payload", Msg: fmt.Sprintf(`input "client-payload" is not a JSON object (%v); "correlation-input" needs an object to add %q to`, err, key)}
		}
	}
	if _, taken := fields[key]; taken {
		return nil, &ConfigError{Input: "correlation-input", Msg: fmt.Sprintf(`input "client-payload" already sets %q, the key that "correlation-input" asks the action to fill; remove it or name another key`, key)}
	}
	fields[key], _ = json.Marshal(id)
	return json.Marshal(fields)
}

func (c *Client) defaultBranch(ctx context.Context, req Request) (string, error) {
	var repo *github.Repository
	what := fmt.Sprintf("read repository %q for its default branch", req.repository())
	_, err := c.call(ctx, what, idempotent, func(ctx context.Context) (resp *github.Response, err error) {
		repo, resp, err = c.gh.Repositories.Get(ctx, req.Owner, req.Repo)
		return resp, err
	})
	if err != nil {
		return "", explain(err, opRepository, req, what)
	}
	if repo.GetDefaultBranch() == "" {
		return "", fmt.Errorf("repository %q has no default branch; set input \"workflow-ref\"", req.repository())
	}
	return repo.GetDefaultBranch(), nil
}

// workflowDispatchBody is the dispatch request as of the 2026-02-19 API
// change, which go-github v66 predates.
type workflowDispatchBody struct {
	Ref              string            `json:"ref"`
	Inputs           map[string]string `json:"inputs,omitempty"`
	ReturnRunDetails bool              `json:"return_run_details,omitempty"`
}

// runDetails is the 200 answer to a dispatch with return_run_details.
type runDetails struct {
	WorkflowRunID int64  `json:"workflow_run_id"`
	RunURL        string `json:"run_url"`
	HTMLURL       string `json:"html_url"`
}

type repositoryDispatchBody struct {
	EventType     string          `json:"event_type"`
	ClientPayload json.RawMessage `json:"client_payload,omitempty"`
}

// send dispatches once (waiting out rate limits, which reject a request
// before acting on it) and returns the run's ID when GitHub tells it.
func (c *Client) send(ctx context.Context, d *dispatch) (int64, error) {
	owner, repo := url.PathEscape(d.req.Owner), url.PathEscape(d.req.Repo)
	what := "dispatch " + d.subject()
	if d.req.isRepositoryDispatch() {
		body := repositoryDispatchBody{EventType: d.req.EventType, ClientPayload: d.payload}
		_, err := c.call(ctx, what, once, func(ctx context.Context) (*github.Response, error) {
			r, err := c.gh.NewRequest(http.MethodPost, fmt.Sprintf("repos/%s/%s/dispatches", owner, repo), body)
			if err != nil {
				return nil, err
			}
			return c.gh.Do(ctx, r, nil)
		})
		return 0, err
	}

	path := fmt.Sprintf("repos/%s/%s/actions/workflows/%s/dispatches", owner, repo, url.PathEscape(d.req.Workflow))
	body := workflowDispatchBody{Ref: d.ref, Inputs: d.inputs, ReturnRunDetails: !c.noRunDetails.Load()}
	for {
		var details runDetails
		_, err := c.call(ctx, what, once, func(ctx context.Context) (*github.Response, error) {
			r, err := c.gh.NewRequest(http.MethodPost, path, body)
			if err != nil {
				return nil, err
			}
			// A 204 has no body, which Do takes as nothing to decode.
			return c.gh.Do(ctx, r, &details)
		})
		if err != nil && body.ReturnRunDetails && rejectsRunDetails(err) {
			// The rejection happened before any run was started.
			c.noRunDetails.Store(true)
			body.ReturnRunDetails = false
			c.logf("this GitHub does not return the dispatched run (%s); dispatching without asking and looking for the run instead", answered(err))
			continue
		}
		return details.WorkflowRunID, err
	}
}

// dispatchedRun fetches the run a dispatch named. A run that was just
// created may not be readable everywhere yet, so a 404 is retried briefly.
func (c *Client) dispatchedRun(ctx context.Context, req Request, id int64) (Run, error) {
	what := fmt.Sprintf("read dispatched workflow run %d", id)
	for attempt := 1; ; attempt++ {
		run, err := c.getRun(ctx, req.Owner, req.Repo, id, what)
		if err == nil || !hasStatus(err, http.StatusNotFound) || attempt >= vanishedAfter {
			if err != nil {
				return Run{}, explain(err, opRun, req, what)
			}
			return run, nil
		}
		if err := c.waitFor(ctx, backoff(attempt), err); err != nil {
			return Run{}, fmt.Errorf("%s: %w", what, err)
		}
	}
}

func (c *Client) getRun(ctx context.Context, owner, repo string, id int64, what string) (Run, error) {
	var run *github.WorkflowRun
	_, err := c.call(ctx, what, idempotent, func(ctx context.Context) (resp *github.Response, err error) {
		run, resp, err = c.gh.Actions.GetWorkflowRunByID(ctx, owner, repo, id)
		return resp, err
	})
	if err != nil {
		return Run{}, err
	}
	return runFromAPI(run), nil
}

// listRuns lists the runs a dispatch like d would create, created since
// since, newest first.
func (c *Client) listRuns(ctx context.Context, d *dispatch, since time.Time) ([]Run, error) {
	opts := &github.ListWorkflowRunsOptions{
		Event:       d.event(),
		Branch:      d.branch,
		Created:     ">=" + since.UTC().Format(timeLayout),
		ListOptions: github.ListOptions{PerPage: 100},
	}
	workflowID, byID := int64(0), false
	if id, err := strconv.ParseInt(d.req.Workflow, 10, 64); err == nil {
		workflowID, byID = id, true
	}
	what := "list runs of " + d.subject()
	var runs []Run
	for page := 1; page <= maxListPages; page++ {
		opts.Page = page
		var list *github.WorkflowRuns
		resp, err := c.call(ctx, what, idempotent, func(ctx context.Context) (resp *github.Response, err error) {
			switch {
			case d.req.isRepositoryDispatch():
				list, resp, err = c.gh.Actions.ListRepositoryWorkflowRuns(ctx, d.req.Owner, d.req.Repo, opts)
			case byID:
				list, resp, err = c.gh.Actions.ListWorkflowRunsByID(ctx, d.req.Owner, d.req.Repo, workflowID, opts)
			default:
				list, resp, err = c.gh.Actions.ListWorkflowRunsByFileName(ctx, d.req.Owner, d.req.Repo, url.PathEscape(d.req.Workflow), opts)
			}
			return resp, err
		})
		if err != nil {
			return nil, explain(err, opListRuns, d.req, what)
		}
		for _, w := range list.WorkflowRuns {
			if d.ofWorkflow(w) {
				runs = append(runs, runFromAPI(w))
			}
		}
		if resp.NextPage == 0 {
			break
		}
	}
	return runs, nil
}

// ofWorkflow narrows a repository's runs to the workflow a
// repository_dispatch names; a workflow_dispatch listing is narrowed by the
// API already.
func (d *dispatch) ofWorkflow(w *github.WorkflowRun) bool {
	wf := d.req.Workflow
	if !d.req.isRepositoryDispatch() || wf == "" {
		return true
	}
	if id, err := strconv.ParseInt(wf, 10, 64); err == nil {
		return w.GetWorkflowID() == id
	}
	path := w.GetPath()
	return path == wf || strings.HasSuffix(path, "/"+wf) || w.GetName() == wf
}

// carriesCorrelation reports whether the run's name shows our ID, which the
// workflow puts there through its run-name.
func (d *dispatch) carriesCorrelation(r Run) bool {
	return d.correlationID != "" &&
		(strings.Contains(r.DisplayTitle, d.correlationID) || strings.Contains(r.Name, d.correlationID))
}

// discover waits up to timeout for the run d started to be listed.
func (c *Client) discover(ctx context.Context, d *dispatch, before map[int64]bool, sentAt time.Time, timeout time.Duration) (Run, error) {
	deadline := c.now().Add(timeout)
	since := sentAt.Add(-ClockSkew)
	var (
		lone      int64 // the lone new run that does not carry our ID
		loneSince time.Time
		waiting   bool
	)
	for {
		listed, err := c.listRuns(ctx, d, since)
		if err != nil {
			return Run{}, err
		}
		var fresh []Run
		for _, r := range listed {
			if !before[r.ID] {
				fresh = append(fresh, r)
			}
		}
		now := c.now()
		final := !now.Before(deadline)

		switch {
		case len(fresh) == 1 && (d.correlationID == "" || d.carriesCorrelation(fresh[0])):
			return c.found(d, fresh[0])
		case len(fresh) > 1 && d.correlationID == "":
			return Run{}, c.ambiguous(d, fresh)
		case d.correlationID != "":
			var ours []Run
			for _, r := range fresh {
				if d.carriesCorrelation(r) {
					ours = append(ours, r)
				}
			}
			if len(ours) == 1 {
				return c.found(d, ours[0])
			}
			if len(ours) > 1 {
				return Run{}, c.ambiguous(d, ours)
			}
			if len(fresh) == 1 {
				if fresh[0].ID != lone {
					lone, loneSince = fresh[0].ID, now
				}
				if final || now.Sub(loneSince) >= c.correlationWait {
					c.logf("warning: run %s does not carry the correlation ID %q in its name; taking it as ours because no other run started; make the workflow's run-name include input %q to be sure",
						fresh[0].HTMLURL, d.correlationID, d.req.CorrelationInput)
					return c.found(d, fresh[0])
				}
			} else {
				lone = 0
			}
			if final && len(fresh) > 1 {
				return Run{}, &AmbiguousRunError{Repository: d.req.repository(), Workflow: d.req.Workflow, Candidates: fresh, Correlated: true}
			}
		}
		if final {
			return Run{}, fmt.Errorf("no new run of %s in %q showed up within %s of the dispatch; check that the workflow is triggered by %s on that ref and that the Actions tab shows it: %w",
				d.subject(), d.req.repository(), timeout, d.event(), ErrNoRun)
		}
		if !waiting {
			waiting = true
			c.logf("waiting up to %s for the run of %s to show up", timeout, d.subject())
		}
		wait := min(jitter(c.discoveryInterval), max(deadline.Sub(now), 0))
		if err := c.sleep(ctx, wait); err != nil {
			return Run{}, fmt.Errorf("looking for the run of %s: %w", d.subject(), err)
		}
	}
}

func (c *Client) found(d *dispatch, r Run) (Run, error) {
	c.logf("found run #%d %q of %s: %s", r.RunNumber, r.DisplayTitle, d.subject(), r.HTMLURL)
	return r, nil
}

func (c *Client) ambiguous(d *dispatch, runs []Run) error {
	return &AmbiguousRunError{Repository: d.req.repository(), Workflow: d.req.Workflow, Candidates: runs}
}
