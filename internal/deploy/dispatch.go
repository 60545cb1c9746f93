package deploy

import (
	"cmp"
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

// ambiguousLookTimeout bounds the search for a run after a dispatch whose
// answer was lost, before dispatching again.
const ambiguousLookTimeout = 30 * time.Second

// dispatch is one dispatch in the making: what is sent, and what tells the
// run it creates apart from others.
type dispatch struct {
	req     Request
	ref     string // as sent, for a workflow_dispatch
	branch  string // the head_branch its runs have
	inputs  map[string]string
	payload json.RawMessage
	// workflowID is the workflow's ID when known: always for a
	// repository_dispatch that names a workflow, whose runs are matched by
	// it.
	workflowID    int64
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

func (d *dispatch) op() operation {
	if d.req.isRepositoryDispatch() {
		return opRepositoryDispatch
	}
	return opWorkflowDispatch
}

// Dispatch starts the deploy workflow and returns the run it created, with
// Run.Identified saying how it was told apart.
//
// A workflow_dispatch asks GitHub for the run's ID (return_run_details);
// servers that predate it (GitHub Enterprise Server 3.20 and older) are
// asked again without it. When no ID comes back, and for every
// repository_dispatch, Dispatch looks for the run among those listed for
// the same workflow, event and branch that did not exist just before the
// dispatch and were not created before it by GitHub's clock (read from the
// Date header), nor by another user when the token's user is known. The
// one whose name carries the correlation ID (Request.CorrelationInput) is
// ours. Without a correlation ID the only such run is taken once it has
// stayed alone for the discovery grace period, which covers the lag of
// GitHub's listings; two or more fail with an *AmbiguousRunError listing
// them, and so does a correlation ID that no run carries. A dispatch whose
// answer was lost (a server error, a dropped connection) may still have
// started a run, so Dispatch looks for it before dispatching again.
func (c *Client) Dispatch(ctx context.Context, req Request) (Run, error) {
	d, err := c.prepare(ctx, req)
	if err != nil {
		return Run{}, err
	}
	// Listing what exists before dispatching is what makes a run found
	// afterwards provably new; it also catches a missing workflow or a bad
	// token before anything is started.
	known, err := c.listRuns(ctx, d)
	if err != nil {
		return Run{}, err
	}
	before := make(map[int64]bool, len(known))
	for _, r := range known {
		before[r.ID] = true
	}

	for attempt := 1; ; attempt++ {
		sentAt, clockKnown := c.serverNow()
		if !clockKnown {
			sentAt = time.Time{}
		}
		id, err := c.send(ctx, d)
		s := &search{d: d, before: before, sentAt: sentAt, answeredAt: c.now()}
		switch {
		case err == nil && id != 0:
			run, err := c.dispatchedRun(ctx, req, id)
			if err == nil {
				run.Identified = ByRunID
				c.logf("dispatched %s: run %s", d.subject(), run.HTMLURL)
			}
			return run, err
		case err == nil:
			c.logf("dispatched %s; GitHub did not say which run it started, so looking for it", d.subject())
			if d.correlationID == "" {
				c.logf("warning: no correlation ID was sent, so the run can only be told apart by elimination: the only new run after a %s grace. A workflow input that carries a correlation ID, repeated in the workflow's run-name, makes it certain", c.discoveryGrace)
			}
			return c.discover(ctx, s, c.discoveryTimeout)
		case ctx.Err() != nil:
			return Run{}, fmt.Errorf("dispatch %s: %w", d.subject(), ctx.Err())
		case !transient(err):
			return Run{}, explain(err, d.op(), req, "dispatch "+d.subject())
		}
		if attempt > c.maxRetries {
			return Run{}, fmt.Errorf("dispatch %s: giving up after %d attempts: %w", d.subject(), attempt, err)
		}
		c.logf("dispatch %s: %s; it may have gone through, so looking for its run before dispatching again", d.subject(), failure(err))
		run, lookErr := c.discover(ctx, s, min(c.discoveryTimeout, ambiguousLookTimeout))
		if !errors.Is(lookErr, ErrNoRun) {
			return run, lookErr
		}
		if err := c.waitFor(ctx, backoff(attempt), "GitHub", err); err != nil {
			return Run{}, fmt.Errorf("dispatch %s: %w", d.subject(), err)
		}
	}
}

// Check asks GitHub what Dispatch will need, without dispatching: that the
// token is valid, the repository exists, the workflow exists and is
// enabled, its runs can be listed and the ref is a branch or tag. Run it
// before any load is sent, so a configuration mistake costs seconds rather
// than a head window.
func (c *Client) Check(ctx context.Context, req Request) error {
	d, err := c.prepare(ctx, req)
	if err != nil {
		return err
	}
	if req.Workflow != "" && !req.isRepositoryDispatch() {
		// A repository_dispatch looked the workflow up in prepare.
		if _, err := c.workflow(ctx, req); err != nil {
			return err
		}
	}
	if _, err := c.listRuns(ctx, d); err != nil {
		return err
	}
	if req.Ref != "" && !req.isRepositoryDispatch() {
		return c.checkRef(ctx, req)
	}
	return nil
}

// workflow reads the workflow Request names and fails unless it is
// enabled: a disabled workflow accepts no dispatch, and starts no run on a
// repository_dispatch.
func (c *Client) workflow(ctx context.Context, req Request) (*github.Workflow, error) {
	var wf *github.Workflow
	what := fmt.Sprintf("read workflow %q", req.Workflow)
	_, err := c.call(ctx, what, idempotent, func(ctx context.Context) (resp *github.Response, err error) {
		if id, parseErr := strconv.ParseInt(req.Workflow, 10, 64); parseErr == nil {
			wf, resp, err = c.gh.Actions.GetWorkflowByID(ctx, req.Owner, req.Repo, id)
		} else {
			wf, resp, err = c.gh.Actions.GetWorkflowByFileName(ctx, req.Owner, req.Repo, url.PathEscape(req.Workflow))
		}
		return resp, err
	})
	if err != nil {
		return nil, explain(err, opWorkflow, req, what)
	}
	switch state := wf.GetState(); state {
	case "active", "":
		return wf, nil
	case "deleted":
		return nil, configError(Workflow, nil, "workflow %q in %q was deleted; name a workflow file that exists on the default branch",
			req.Workflow, req.repository())
	default:
		return nil, configError(Workflow, nil, "workflow %q in %q is disabled (state %q); enable it in the repository's Actions tab or with \"gh workflow enable\", then run the check again",
			req.Workflow, req.repository(), state)
	}
}

// checkRef makes sure the ref names a branch or a tag.
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
	return configError(Ref, nil, "%q is neither a branch nor a tag of %q; name an existing branch or tag, or none for the default branch", req.Ref, req.repository())
}

// prepare resolves the ref, the workflow of a repository_dispatch and the
// correlation ID.
func (c *Client) prepare(ctx context.Context, req Request) (*dispatch, error) {
	if req.Owner == "" || req.Repo == "" {
		return nil, configError(Repository, nil, "%q is not owner/name; name the repository that holds the deploy workflow", req.repository())
	}
	d := &dispatch{req: req}
	if id, err := strconv.ParseInt(req.Workflow, 10, 64); err == nil {
		d.workflowID = id
	}
	if req.CorrelationInput != "" {
		d.correlationID = cmp.Or(req.CorrelationID, c.newCorrelationID())
	}
	if req.isRepositoryDispatch() {
		payload, err := withCorrelation(req.ClientPayload, req.CorrelationInput, d.correlationID)
		if err != nil {
			return nil, err
		}
		d.payload = payload
		if req.Workflow != "" {
			// Runs are matched by the workflow's ID, looked up once.
			wf, err := c.workflow(ctx, req)
			if err != nil {
				return nil, err
			}
			d.workflowID = wf.GetID()
		}
		// A repository_dispatch runs on the default branch.
		branch, err := c.defaultBranch(ctx, req)
		if err != nil {
			return nil, err
		}
		d.branch = branch
		return d, nil
	}

	if req.Workflow == "" {
		return nil, configError(Workflow, nil, `no workflow was named; name the deploy workflow's file ("deploy-staging.yml") or ID, or send a repository_dispatch`)
	}
	d.inputs = maps.Clone(req.Inputs)
	if req.CorrelationInput != "" {
		if _, taken := d.inputs[req.CorrelationInput]; taken {
			return nil, configError(CorrelationInput, nil, "the workflow inputs already set %q, the input the correlation ID is to be sent in; remove it from the workflow inputs or send the ID in another input", req.CorrelationInput)
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
			return nil, configError(EventPayload, nil, "the client payload is not a JSON object (%v); the correlation ID needs an object to add %q to", err, key)
		}
	}
	if _, taken := fields[key]; taken {
		return nil, configError(CorrelationInput, nil, "the client payload already sets %q, the key the correlation ID is to be sent in; remove it from the payload or send the ID under another key", key)
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
		return "", configError(Ref, nil, "repository %q has no default branch; name the branch or tag to run the workflow on", req.repository())
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
// created may not be readable everywhere yet, so a 404 is waited out for as
// long as ctx allows (the discovery timeout when ctx has no deadline):
// GitHub has said the run exists.
func (c *Client) dispatchedRun(ctx context.Context, req Request, id int64) (Run, error) {
	what := fmt.Sprintf("read dispatched workflow run %d", id)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.discoveryTimeout)
		defer cancel()
	}
	for attempt := 1; ; attempt++ {
		run, err := c.getRun(ctx, req.Owner, req.Repo, id, what)
		switch {
		case err == nil:
			return run, nil
		case ctx.Err() != nil && attempt > 1:
			return Run{}, fmt.Errorf("%s: it still answered 404 when the wait ended: %w", what, ctx.Err())
		case !hasStatus(err, http.StatusNotFound):
			return Run{}, explain(err, opRun, req, what)
		case attempt == 1:
			c.logf("workflow run %d, which GitHub named as dispatched, is not readable yet (HTTP 404); waiting for it", id)
		}
		if err := c.sleep(ctx, jitter(c.discoveryInterval)); err != nil {
			return Run{}, fmt.Errorf("%s: it still answered 404 when the wait ended: %w", what, err)
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

// listRuns lists the runs a dispatch like d would create, newest first,
// created at most ClockSkew before now by GitHub's clock as far as it is
// known. Only the workflow, event and branch are asked of the API; the rest
// of telling runs apart is discover's.
func (c *Client) listRuns(ctx context.Context, d *dispatch) ([]Run, error) {
	now, _ := c.serverNow()
	return c.listRunsSince(ctx, d, now.Add(-ClockSkew))
}

// listRunsSince is listRuns for the runs created since since.
func (c *Client) listRunsSince(ctx context.Context, d *dispatch, since time.Time) ([]Run, error) {
	opts := &github.ListWorkflowRunsOptions{
		Event:       d.event(),
		Branch:      d.branch,
		Created:     ">=" + since.UTC().Format(timeLayout),
		ListOptions: github.ListOptions{PerPage: 100},
	}
	what := "list runs of " + d.subject()
	var runs []Run
	for page := 1; page <= maxListPages; page++ {
		opts.Page = page
		var list *github.WorkflowRuns
		resp, err := c.call(ctx, what, idempotent, func(ctx context.Context) (resp *github.Response, err error) {
			switch {
			case d.workflowID != 0:
				list, resp, err = c.gh.Actions.ListWorkflowRunsByID(ctx, d.req.Owner, d.req.Repo, d.workflowID, opts)
			case d.req.isRepositoryDispatch():
				list, resp, err = c.gh.Actions.ListRepositoryWorkflowRuns(ctx, d.req.Owner, d.req.Repo, opts)
			default:
				list, resp, err = c.gh.Actions.ListWorkflowRunsByFileName(ctx, d.req.Owner, d.req.Repo, url.PathEscape(d.req.Workflow), opts)
			}
			return resp, err
		})
		if err != nil {
			return nil, explain(err, opListRuns, d.req, what)
		}
		for _, w := range list.WorkflowRuns {
			runs = append(runs, runFromAPI(w))
		}
		if resp.NextPage == 0 {
			break
		}
	}
	return runs, nil
}
