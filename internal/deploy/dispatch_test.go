package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

func TestDispatchTakesTheRunGitHubReturns(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithToken(testToken))
	c := newTestClient(t, srv)

	run, err := c.Dispatch(testContext(t), deployRequest())
	if err != nil {
		t.Fatalf("Dispatch: %v", err)
	}

	runs := srv.Runs()
	if len(runs) != 1 {
		t.Fatalf("the server has %d runs, want 1", len(runs))
	}
	want := Run{
		ID:           runs[0].ID,
		HTMLURL:      runs[0].HTMLURL,
		Name:         deploytest.DefaultWorkflowName,
		DisplayTitle: "Deploy staging ",
		Status:       "queued",
		Event:        "workflow_dispatch",
		HeadBranch:   deploytest.DefaultBranch,
		WorkflowID:   deploytest.DefaultWorkflowID,
		Path:         deploytest.DefaultWorkflowPath,
		RunNumber:    1,
		Attempt:      1,
		Actor:        deploytest.Actor,
		Identified:   ByRunID,
	}
	if diff := cmp.Diff(want, run, cmpopts.IgnoreFields(Run{}, "CreatedAt", "RunStartedAt", "UpdatedAt")); diff != "" {
		t.Errorf("Dispatch returned the wrong run (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(run.HTMLURL, srv.URL+"/") {
		t.Errorf("HTMLURL %q does not come from the API's html_url", run.HTMLURL)
	}
	wantCalls := []deploytest.Endpoint{
		deploytest.EndpointGetRepository, // the default branch
		deploytest.EndpointListWorkflowRuns,
		deploytest.EndpointWorkflowDispatch,
		deploytest.EndpointGetRun,
	}
	if diff := cmp.Diff(wantCalls, endpoints(srv)); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	var body map[string]any
	if err := json.Unmarshal(callsTo(srv, deploytest.EndpointWorkflowDispatch)[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	wantBody := map[string]any{"ref": "main", "inputs": map[string]any{"version": "1.2.3"}, "return_run_details": true}
	if diff := cmp.Diff(wantBody, body); diff != "" {
		t.Errorf("dispatch body (-want +got):\n%s", diff)
	}
}

func TestDispatchUsesTheRefItIsGiven(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithRefs("release"))
	c := newTestClient(t, srv)
	req := deployRequest()
	req.Ref = "refs/heads/release"

	run, err := c.Dispatch(testContext(t), req)
	if err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	if run.HeadBranch != "release" {
		t.Errorf("HeadBranch = %q, want %q", run.HeadBranch, "release")
	}
	if n := srv.Count(deploytest.EndpointGetRepository); n != 0 {
		t.Errorf("read the repository %d times to learn a default branch it did not need", n)
	}
}

func TestDispatchFindsTheRunWhenGitHubAnswersNoContent(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithDispatchAnswer(deploytest.AnswerNoContent))
	c := newTestClient(t, srv)
	before := time.Now()

	run, err := c.Dispatch(testContext(t), deployRequest())
	if err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	if runs := srv.Runs(); len(runs) != 1 || runs[0].ID != run.ID {
		t.Fatalf("Dispatch returned run %d; the server has %+v", run.ID, runs)
	}
	lists := callsTo(srv, deploytest.EndpointListWorkflowRuns)
	if len(lists) < 2 {
		t.Fatalf("listed runs %d times, want a snapshot and at least one search", len(lists))
	}
	query, err := url.ParseQuery(lists[len(lists)-1].Query)
	if err != nil {
		t.Fatal(err)
	}
	if got := query.Get("event"); got != "workflow_dispatch" {
		t.Errorf("event filter = %q", got)
	}
	if got := query.Get("branch"); got != "main" {
		t.Errorf("branch filter = %q", got)
	}
	created, ok := strings.CutPrefix(query.Get("created"), ">=")
	if !ok {
		t.Fatalf("created filter %q is not of the form >=TIME", query.Get("created"))
	}
	since, err := time.Parse(time.RFC3339, created)
	if err != nil {
		t.Fatalf("created filter: %v", err)
	}
	if lo, hi := before.Add(-ClockSkew-2*time.Second), before.Add(-ClockSkew+5*time.Second); since.Before(lo) || since.After(hi) {
		t.Errorf("created filter starts at %s, want about %s before the dispatch", since, ClockSkew)
	}
}

func TestDispatchRetriesWithoutRunDetailsOnOlderServers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		answer deploytest.DispatchAnswer
	}{
		{"when the server answers 422", deploytest.AnswerRejectRunDetails},
		{"when the server answers 400", deploytest.AnswerRejectRunDetailsBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := deploytest.NewServer(t, deploytest.WithDispatchAnswer(tc.answer))
			c := newTestClient(t, srv)

			run, err := c.Dispatch(testContext(t), deployRequest())
			if err != nil {
				t.Fatalf("Dispatch: %v", err)
			}
			if runs := srv.Runs(); len(runs) != 1 || runs[0].ID != run.ID {
				t.Fatalf("Dispatch returned run %d; the server has %+v", run.ID, runs)
			}
			dispatches := callsTo(srv, deploytest.EndpointWorkflowDispatch)
			if len(dispatches) != 2 {
				t.Fatalf("dispatched %d times, want 2", len(dispatches))
			}
			if !strings.Contains(string(dispatches[0].Body), "return_run_details") || strings.Contains(string(dispatches[1].Body), "return_run_details") {
				t.Errorf("want the first dispatch to ask for run details and the second not to:\n%s\n%s", dispatches[0].Body, dispatches[1].Body)
			}

			// The client remembers, so a second deploy does not ask again.
			if _, err := c.Dispatch(testContext(t), deployRequest()); err != nil {
				t.Fatalf("second Dispatch: %v", err)
			}
			if n := srv.Count(deploytest.EndpointWorkflowDispatch); n != 3 {
				t.Errorf("dispatched %d times in all, want 3", n)
			}
		})
	}
}

func TestDispatchWaitsForARunThatIsListedLate(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t,
		deploytest.WithDispatchAnswer(deploytest.AnswerNoContent),
		deploytest.WithListingDelay(150*time.Millisecond))
	c := newTestClient(t, srv)

	run, err := c.Dispatch(testContext(t), deployRequest())
	if err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	if runs := srv.Runs(); len(runs) != 1 || runs[0].ID != run.ID {
		t.Fatalf("Dispatch returned run %d; the server has %+v", run.ID, runs)
	}
	if n := srv.Count(deploytest.EndpointListWorkflowRuns); n < 3 {
		t.Errorf("listed runs %d times; want several while the run was not listed yet", n)
	}
	if !strings.Contains(c.logs.text(), "waiting up to") {
		t.Errorf("the log does not say it is waiting for the run:\n%s", c.logs.text())
	}
}

func TestDispatchGivesUpWhenNoRunShowsUp(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t,
		deploytest.WithDispatchAnswer(deploytest.AnswerNoContent),
		deploytest.WithListingDelay(time.Hour))
	c := newTestClient(t, srv, WithDiscoveryTimeout(50*time.Millisecond))

	_, err := c.Dispatch(testContext(t), deployRequest())
	if !errors.Is(err, ErrNoRun) {
		t.Fatalf("Dispatch error = %v, want ErrNoRun", err)
	}
	if errors.Is(err, ErrConfig) {
		t.Errorf("a run that does not show up is not a configuration error: %v", err)
	}
	if n := srv.Count(deploytest.EndpointWorkflowDispatch); n != 1 {
		t.Errorf("dispatched %d times, want 1", n)
	}
}

func TestDispatchIgnoresRunsThatExistedBefore(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithDispatchAnswer(deploytest.AnswerNoContent))
	earlier := srv.CreateRun(deploytest.RunSpec{Age: 30 * time.Second})
	c := newTestClient(t, srv)

	run, err := c.Dispatch(testContext(t), deployRequest())
	if err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	if run.ID == earlier.ID {
		t.Fatalf("Dispatch took the run someone started 30s earlier")
	}
	if got, _ := srv.Run(run.ID); got.Actor != deploytest.Actor {
		t.Errorf("Dispatch returned a run by %q", got.Actor)
	}
}

func TestDispatchWithARivalRunDispatchedAtTheSameMoment(t *testing.T) {
	t.Parallel()
	t.Run("picks ours by the correlation ID", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t,
			deploytest.WithDispatchAnswer(deploytest.AnswerNoContent),
			deploytest.WithRivalDispatch())
		c := newTestClient(t, srv)
		req := deployRequest()
		req.CorrelationInput = deploytest.DefaultCorrelationInput

		run, err := c.Dispatch(testContext(t), req)
		if err != nil {
			t.Fatalf("Dispatch: %v", err)
		}
		got, _ := srv.Run(run.ID)
		if got.Actor != deploytest.Actor {
			t.Fatalf("Dispatch picked the run by %q", got.Actor)
		}
		id := got.Inputs[deploytest.DefaultCorrelationInput]
		if !strings.HasPrefix(id, "dlc-") || !strings.Contains(run.DisplayTitle, id) {
			t.Errorf("correlation ID %q, display title %q", id, run.DisplayTitle)
		}
	})

	t.Run("fails listing both without a correlation ID", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t,
			deploytest.WithDispatchAnswer(deploytest.AnswerNoContent),
			deploytest.WithRivalDispatch())
		c := newTestClient(t, srv)

		_, err := c.Dispatch(testContext(t), deployRequest())
		var ambiguous *AmbiguousRunError
		if !errors.As(err, &ambiguous) {
			t.Fatalf("Dispatch error = %v, want *AmbiguousRunError", err)
		}
		for _, r := range srv.Runs() {
			if !strings.Contains(err.Error(), r.HTMLURL) {
				t.Errorf("the error does not link run %s:\n%v", r.HTMLURL, err)
			}
		}
		if ambiguous.Correlated || !strings.Contains(err.Error(), "correlation ID") {
			t.Errorf("the error does not suggest a correlation ID: %v", err)
		}
		checkNamesNoInput(t, err)
	})

	t.Run("fails when neither run carries the correlation ID", func(t *testing.T) {
		t.Parallel()
		wf := deploytest.DeployWorkflow()
		wf.RunName = "" // the workflow does not repeat the ID
		srv := deploytest.NewServer(t,
			deploytest.WithWorkflows(wf),
			deploytest.WithDispatchAnswer(deploytest.AnswerNoContent),
			deploytest.WithRivalDispatch())
		c := newTestClient(t, srv, WithDiscoveryTimeout(100*time.Millisecond))
		req := deployRequest()
		req.CorrelationInput = deploytest.DefaultCorrelationInput

		_, err := c.Dispatch(testContext(t), req)
		var ambiguous *AmbiguousRunError
		if !errors.As(err, &ambiguous) || !ambiguous.Correlated || len(ambiguous.Candidates) != 2 {
			t.Fatalf("Dispatch error = %v, want *AmbiguousRunError about the correlation ID with 2 runs", err)
		}
	})

	t.Run("needs no search when GitHub names the run", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t, deploytest.WithRivalDispatch())
		c := newTestClient(t, srv)

		run, err := c.Dispatch(testContext(t), deployRequest())
		if err != nil {
			t.Fatalf("Dispatch: %v", err)
		}
		if got, _ := srv.Run(run.ID); got.Actor != deploytest.Actor {
			t.Errorf("Dispatch picked the run by %q", got.Actor)
		}
	})
}

func TestDispatchRefusesALoneRunWithoutTheCorrelationID(t *testing.T) {
	t.Parallel()
	// With a correlation ID sent, a run that does not carry it is either
	// someone else's or from a workflow that does not repeat the ID: in
	// neither case can it be vouched for.
	wf := deploytest.DeployWorkflow()
	wf.RunName = ""
	srv := deploytest.NewServer(t, deploytest.WithWorkflows(wf), deploytest.WithDispatchAnswer(deploytest.AnswerNoContent))
	c := newTestClient(t, srv, WithDiscoveryTimeout(100*time.Millisecond))
	req := deployRequest()
	req.CorrelationInput = deploytest.DefaultCorrelationInput

	_, err := c.Dispatch(testContext(t), req)
	var ambiguous *AmbiguousRunError
	if !errors.As(err, &ambiguous) || !ambiguous.Correlated || len(ambiguous.Candidates) != 1 {
		t.Fatalf("Dispatch error = %v, want *AmbiguousRunError about the correlation ID with the one run", err)
	}
	if !strings.Contains(err.Error(), ambiguous.CorrelationID) || !strings.Contains(err.Error(), "run-name") {
		t.Errorf("the error does not say how to repeat the ID: %v", err)
	}
	checkNamesNoInput(t, err)
}

func TestDispatchTakesALoneRunByEliminationAfterTheGrace(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithDispatchAnswer(deploytest.AnswerNoContent))
	c := newTestClient(t, srv)

	start := time.Now()
	run, err := c.Dispatch(testContext(t), deployRequest())
	if err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	if runs := srv.Runs(); len(runs) != 1 || runs[0].ID != run.ID {
		t.Fatalf("Dispatch returned run %d; the server has %+v", run.ID, runs)
	}
	if run.Identified != ByElimination {
		t.Errorf("Identified = %v, want %v", run.Identified, ByElimination)
	}
	if elapsed := time.Since(start); elapsed < testGrace {
		t.Errorf("took the run after %s, before the %s grace was over", elapsed, testGrace)
	}
	for _, want := range []string{"warning: no correlation ID was sent", "by elimination"} {
		if !strings.Contains(c.logs.text(), want) {
			t.Errorf("the log lacks %q:\n%s", want, c.logs.text())
		}
	}
}

func TestDispatchNarrowsTheCandidates(t *testing.T) {
	t.Parallel()
	t.Run("leaves out a rival created well before the dispatch", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t,
			deploytest.WithDispatchAnswer(deploytest.AnswerNoContent),
			deploytest.WithListingDelay(300*time.Millisecond),
			deploytest.WithRival(deploytest.Rival{Earlier: 5 * time.Second}))
		c := newTestClient(t, srv)

		run, err := c.Dispatch(testContext(t), deployRequest())
		if err != nil {
			t.Fatalf("Dispatch: %v", err)
		}
		if got, _ := srv.Run(run.ID); got.Actor != deploytest.Actor || run.Identified != ByElimination {
			t.Errorf("Dispatch took the run by %q, identified %v", got.Actor, run.Identified)
		}
	})

	t.Run("leaves out a rival by another user when the token has one", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t,
			deploytest.WithUserToken(),
			deploytest.WithDispatchAnswer(deploytest.AnswerNoContent),
			deploytest.WithRivalDispatch())
		c := newTestClient(t, srv)

		run, err := c.Dispatch(testContext(t), deployRequest())
		if err != nil {
			t.Fatalf("Dispatch: %v", err)
		}
		if run.Actor != deploytest.Actor {
			t.Errorf("Dispatch took the run by %q", run.Actor)
		}
		if n := srv.Count(deploytest.EndpointGetUser); n != 1 {
			t.Errorf("asked for the token's user %d times, want once", n)
		}
	})
}

func TestDispatchRefusesACorrelationInputThatIsAlreadySet(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t)
	c := newTestClient(t, srv)
	req := deployRequest()
	req.CorrelationInput = "version"

	_, err := c.Dispatch(testContext(t), req)
	var config *ConfigError
	if !errors.As(err, &config) || config.Setting != CorrelationInput {
		t.Fatalf("Dispatch error = %v, want a ConfigError about the correlation input", err)
	}
	checkNamesNoInput(t, err)
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("made %d API calls, want none", n)
	}
}

func TestDispatchConfigurationErrors(t *testing.T) {
	t.Parallel()
	notAccessible := deploytest.Fault{Endpoint: deploytest.EndpointWorkflowDispatch, Kind: deploytest.Status,
		Status: 403, Message: "Resource not accessible by integration"}
	noDispatchTrigger := deploytest.DeployWorkflow()
	noDispatchTrigger.WorkflowDispatch = false
	disabled := deploytest.DeployWorkflow()
	disabled.State = "disabled_manually"
	requiredVersion := deploytest.DeployWorkflow()
	requiredVersion.Inputs = []deploytest.Input{{Name: "version", Required: true}, {Name: deploytest.DefaultCorrelationInput}}

	for _, tc := range []struct {
		name        string
		options     []deploytest.Option
		token       string
		change      func(*Request)
		wantSetting Setting
		wantText    []string
	}{
		{
			name:        "a wrong token is reported as invalid or expired",
			options:     []deploytest.Option{deploytest.WithToken("another-token")},
			wantSetting: Token,
			wantText:    []string{`the token is invalid or expired`, `HTTP 401 "Bad credentials"`, `"acme/shop"`},
		},
		{
			name:        "an unknown workflow is reported as not found",
			change:      func(r *Request) { r.Workflow = "deploy-prod.yml" },
			wantSetting: Workflow,
			wantText:    []string{`workflow "deploy-prod.yml" was not found in repository "acme/shop"`, "check the workflow's file name or ID"},
		},
		{
			name:        "an unknown repository is reported as not found",
			change:      func(r *Request) { r.Repo = "shoe" },
			wantSetting: Repository,
			wantText:    []string{`repository "acme/shoe" was not found`, "check the repository's owner/name"},
		},
		{
			name:        "a token without actions write is told what to grant",
			options:     []deploytest.Option{deploytest.WithFault(notAccessible)},
			wantSetting: Token,
			wantText:    []string{`"actions: write"`, "fine-grained personal access token or a GitHub App token", `"Resource not accessible by integration"`},
		},
		{
			name:        "a ref that does not exist names workflow-ref",
			change:      func(r *Request) { r.Ref = "relaese" },
			wantSetting: Ref,
			wantText:    []string{`"relaese" is not a branch or tag of "acme/shop"`, `"No ref found for: relaese"`},
		},
		{
			name:        "undeclared inputs name workflow-inputs",
			change:      func(r *Request) { r.Inputs = map[string]string{"colour": "blue", "size": "xl"} },
			wantSetting: WorkflowInputs,
			wantText:    []string{`workflow "deploy-staging.yml" does not declare inputs "colour", "size"`},
		},
		{
			name:        "an undeclared correlation input names correlation-input",
			change:      func(r *Request) { r.CorrelationInput = "run_id" },
			wantSetting: CorrelationInput,
			wantText:    []string{`workflow "deploy-staging.yml" does not declare an input "run_id" for the correlation ID`},
		},
		{
			name:        "a missing required input names workflow-inputs",
			options:     []deploytest.Option{deploytest.WithWorkflows(requiredVersion)},
			change:      func(r *Request) { r.Inputs = nil },
			wantSetting: WorkflowInputs,
			wantText:    []string{`"Required input 'version' not provided"`, "add it to the workflow inputs"},
		},
		{
			name:        "a disabled workflow is reported as disabled",
			options:     []deploytest.Option{deploytest.WithWorkflows(disabled)},
			wantSetting: Workflow,
			wantText:    []string{`workflow "deploy-staging.yml" in "acme/shop" is disabled`, `"Cannot trigger a 'workflow_dispatch' on a disabled workflow"`, "enable it"},
		},
		{
			name:        "a workflow without workflow_dispatch suggests event-type",
			options:     []deploytest.Option{deploytest.WithWorkflows(noDispatchTrigger)},
			wantSetting: Workflow,
			wantText:    []string{"has no workflow_dispatch trigger", "send a repository_dispatch instead"},
		},
		{
			name: "a token without contents write cannot send a repository_dispatch",
			options: []deploytest.Option{deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointRepositoryDispatch,
				Kind: deploytest.Status, Status: 403, Message: "Resource not accessible by integration"})},
			change:      func(r *Request) { r.EventType = "deploy-staging" },
			wantSetting: Token,
			wantText:    []string{`"contents: write"`},
		},
		{
			name: "a client payload with too many keys names client-payload",
			change: func(r *Request) {
				r.EventType = "deploy"
				r.ClientPayload = json.RawMessage(`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11}`)
			},
			wantSetting: EventPayload,
			wantText:    []string{"check the event type and the client payload", "No more than 10 properties"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := deploytest.NewServer(t, tc.options...)
			c := newTestClient(t, srv)
			req := deployRequest()
			if tc.change != nil {
				tc.change(&req)
			}

			_, err := c.Dispatch(testContext(t), req)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Dispatch error = %v, want a configuration error", err)
			}
			var config *ConfigError
			if !errors.As(err, &config) || config.Setting != tc.wantSetting {
				t.Errorf("ConfigError.Setting = %v, want %v", config.Setting, tc.wantSetting)
			}
			checkNamesNoInput(t, err)
			for _, want := range tc.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("the error shows the token: %v", err)
			}
			// Nothing is retried: every endpoint was called at most once.
			seen := map[deploytest.Endpoint]bool{}
			for _, e := range endpoints(srv) {
				if seen[e] {
					t.Errorf("called %s more than once: %v", e, endpoints(srv))
				}
				seen[e] = true
			}
			if len(srv.Runs()) != 0 {
				t.Errorf("a run was started: %+v", srv.Runs())
			}
			if waits := c.sleep.recorded(); len(waits) != 0 {
				t.Errorf("waited %v before giving up on a configuration error", waits)
			}
		})
	}
}

func TestDispatchSurvivesTransientFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		fault          deploytest.Fault
		wantDispatches int
		wantWait       [2]time.Duration // some wait within this range
	}{
		{
			name:           "server errors while listing are retried with backoff",
			fault:          deploytest.Fault{Endpoint: deploytest.EndpointListWorkflowRuns, Kind: deploytest.ServerError, Times: 2},
			wantDispatches: 1,
			wantWait:       [2]time.Duration{1800 * time.Millisecond, 2200 * time.Millisecond},
		},
		{
			name:           "a 429 on the dispatch is sent again after Retry-After",
			fault:          deploytest.Fault{Endpoint: deploytest.EndpointWorkflowDispatch, Kind: deploytest.TooManyRequests, Times: 1, RetryAfter: 7 * time.Second},
			wantDispatches: 2,
			wantWait:       [2]time.Duration{7 * time.Second, 7 * time.Second},
		},
		{
			name:           "a lost dispatch that started nothing is sent again after looking",
			fault:          deploytest.Fault{Endpoint: deploytest.EndpointWorkflowDispatch, Kind: deploytest.ServerError, Status: 502, Times: 1},
			wantDispatches: 2,
			wantWait:       [2]time.Duration{900 * time.Millisecond, 1100 * time.Millisecond},
		},
		{
			name:           "a lost dispatch that started a run is not sent again",
			fault:          deploytest.Fault{Endpoint: deploytest.EndpointWorkflowDispatch, Kind: deploytest.ServerError, Status: 504, Times: 1, AfterHandling: true},
			wantDispatches: 1,
		},
		{
			name:           "a dropped connection on the dispatch is looked into",
			fault:          deploytest.Fault{Endpoint: deploytest.EndpointWorkflowDispatch, Kind: deploytest.Disconnect, Times: 1, AfterHandling: true},
			wantDispatches: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := deploytest.NewServer(t, deploytest.WithFault(tc.fault))
			c := newTestClient(t, srv, WithDiscoveryTimeout(100*time.Millisecond))

			run, err := c.Dispatch(testContext(t), deployRequest())
			if err != nil {
				t.Fatalf("Dispatch: %v", err)
			}
			runs := srv.Runs()
			if len(runs) != 1 || runs[0].ID != run.ID {
				t.Fatalf("Dispatch returned run %d; the server has %+v", run.ID, runs)
			}
			if n := srv.Count(deploytest.EndpointWorkflowDispatch); n != tc.wantDispatches {
				t.Errorf("dispatched %d times, want %d", n, tc.wantDispatches)
			}
			if tc.wantWait != [2]time.Duration{} && !c.sleep.hasWait(tc.wantWait[0], tc.wantWait[1]) {
				t.Errorf("waits %v, want one in %v", c.sleep.recorded(), tc.wantWait)
			}
		})
	}
}

func TestDispatchGivesUpAfterPersistentServerErrors(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointListWorkflowRuns, Kind: deploytest.ServerError}))
	c := newTestClient(t, srv, WithMaxRetries(2))

	_, err := c.Dispatch(testContext(t), deployRequest())
	if err == nil || errors.Is(err, ErrConfig) {
		t.Fatalf("Dispatch error = %v, want an operational error", err)
	}
	if !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Errorf("error %q does not say it gave up", err)
	}
	if n := srv.Count(deploytest.EndpointListWorkflowRuns); n != 3 {
		t.Errorf("listed %d times, want 3", n)
	}
	if n := srv.Count(deploytest.EndpointWorkflowDispatch); n != 0 {
		t.Errorf("dispatched %d times, want none", n)
	}
}

func TestRepositoryDispatch(t *testing.T) {
	t.Parallel()
	other := deploytest.Workflow{ID: 77, Path: ".github/workflows/notify.yml", Name: "Notify", RepositoryDispatch: true}

	t.Run("finds the run and passes the correlation ID in the payload", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t, deploytest.WithRivalDispatch())
		c := newTestClient(t, srv)
		req := Request{
			Owner: deploytest.DefaultOwner, Repo: deploytest.DefaultRepo,
			EventType:        "deploy-staging",
			ClientPayload:    json.RawMessage(`{"version":"1.2.3"}`),
			CorrelationInput: deploytest.DefaultCorrelationInput,
		}

		run, err := c.Dispatch(testContext(t), req)
		if err != nil {
			t.Fatalf("Dispatch: %v", err)
		}
		got, _ := srv.Run(run.ID)
		if got.Actor != deploytest.Actor || run.Event != "repository_dispatch" {
			t.Fatalf("Dispatch found a %s run by %q", run.Event, got.Actor)
		}
		if got.ClientPayload["version"] != "1.2.3" || !strings.HasPrefix(got.ClientPayload[deploytest.DefaultCorrelationInput].(string), "dlc-") {
			t.Errorf("client_payload = %v", got.ClientPayload)
		}
		var body map[string]any
		_ = json.Unmarshal(callsTo(srv, deploytest.EndpointRepositoryDispatch)[0].Body, &body)
		if body["event_type"] != "deploy-staging" {
			t.Errorf("event_type = %v", body["event_type"])
		}
		query, _ := url.ParseQuery(callsTo(srv, deploytest.EndpointListRepositoryRuns)[0].Query)
		if query.Get("event") != "repository_dispatch" || !strings.HasPrefix(query.Get("created"), ">=") {
			t.Errorf("listing query = %v", query)
		}
	})

	t.Run("narrows the runs to the named workflow", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t, deploytest.WithWorkflows(deploytest.DeployWorkflow(), other))
		c := newTestClient(t, srv)
		req := Request{Owner: deploytest.DefaultOwner, Repo: deploytest.DefaultRepo, EventType: "deploy", Workflow: "deploy-staging.yml"}

		run, err := c.Dispatch(testContext(t), req)
		if err != nil {
			t.Fatalf("Dispatch: %v", err)
		}
		if run.WorkflowID != deploytest.DefaultWorkflowID {
			t.Errorf("Dispatch found a run of workflow %d (%s)", run.WorkflowID, run.Path)
		}
		// The workflow is looked up once, and its runs listed by its ID.
		if n := srv.Count(deploytest.EndpointGetWorkflow); n != 1 {
			t.Errorf("read the workflow %d times, want once", n)
		}
		for _, call := range callsTo(srv, deploytest.EndpointListWorkflowRuns) {
			if want := "/actions/workflows/4242/runs"; !strings.HasSuffix(call.Path, want) {
				t.Errorf("listed runs at %s, want the workflow's ID: %s", call.Path, want)
			}
		}
		if n := srv.Count(deploytest.EndpointListRepositoryRuns); n != 0 {
			t.Errorf("listed every run of the repository %d times", n)
		}
	})

	t.Run("refuses a disabled workflow before dispatching", func(t *testing.T) {
		t.Parallel()
		wf := deploytest.DeployWorkflow()
		wf.State = "disabled_inactivity"
		srv := deploytest.NewServer(t, deploytest.WithWorkflows(wf))
		c := newTestClient(t, srv)
		req := Request{Owner: deploytest.DefaultOwner, Repo: deploytest.DefaultRepo, EventType: "deploy", Workflow: "deploy-staging.yml"}

		_, err := c.Dispatch(testContext(t), req)
		var config *ConfigError
		if !errors.As(err, &config) || config.Setting != Workflow || !strings.Contains(err.Error(), `is disabled (state "disabled_inactivity")`) {
			t.Fatalf("Dispatch error = %v, want a ConfigError about the disabled workflow", err)
		}
		if n := srv.Count(deploytest.EndpointRepositoryDispatch); n != 0 {
			t.Errorf("dispatched %d times", n)
		}
	})

	t.Run("fails when two workflows answer and none is named", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t, deploytest.WithWorkflows(deploytest.DeployWorkflow(), other))
		c := newTestClient(t, srv)
		req := Request{Owner: deploytest.DefaultOwner, Repo: deploytest.DefaultRepo, EventType: "deploy"}

		_, err := c.Dispatch(testContext(t), req)
		var ambiguous *AmbiguousRunError
		if !errors.As(err, &ambiguous) || len(ambiguous.Candidates) != 2 {
			t.Fatalf("Dispatch error = %v, want *AmbiguousRunError with 2 runs", err)
		}
	})

	t.Run("reports an event type that starts nothing", func(t *testing.T) {
		t.Parallel()
		wf := deploytest.DeployWorkflow()
		wf.EventTypes = []string{"deploy-staging"}
		srv := deploytest.NewServer(t, deploytest.WithWorkflows(wf))
		c := newTestClient(t, srv, WithDiscoveryTimeout(50*time.Millisecond))
		req := Request{Owner: deploytest.DefaultOwner, Repo: deploytest.DefaultRepo, EventType: "deploy-prod"}

		_, err := c.Dispatch(testContext(t), req)
		if !errors.Is(err, ErrNoRun) || !strings.Contains(err.Error(), `repository_dispatch "deploy-prod"`) {
			t.Fatalf("Dispatch error = %v, want ErrNoRun naming the event type", err)
		}
	})
}

func TestDispatchNeverTakesARivalRunListedBeforeOurs(t *testing.T) {
	t.Parallel()
	// Someone dispatched the same workflow a moment before us; their run
	// shows in listings at once, ours only after GitHub's listing delay.
	srv := deploytest.NewServer(t,
		deploytest.WithDispatchAnswer(deploytest.AnswerNoContent),
		deploytest.WithListingDelay(300*time.Millisecond),
		deploytest.WithRival(deploytest.Rival{Earlier: time.Second}))
	c := newTestClient(t, srv)

	run, err := c.Dispatch(testContext(t), deployRequest())
	if err == nil {
		if got, _ := srv.Run(run.ID); got.Actor != deploytest.Actor {
			t.Fatalf("Dispatch took the run %q dispatched before ours", got.Actor)
		}
	}
	var ambiguous *AmbiguousRunError
	if !errors.As(err, &ambiguous) {
		t.Fatalf("Dispatch error = %v, want *AmbiguousRunError: the runs cannot be told apart", err)
	}
	for _, r := range srv.Runs() {
		if !strings.Contains(err.Error(), r.HTMLURL) {
			t.Errorf("the error does not link run %s:\n%v", r.HTMLURL, err)
		}
	}
}

func TestDispatchWaitsOutRepeated429sWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	// A 429 without Retry-After is a rate limit all the same: GitHub asks
	// for a wait of at least a minute, growing while the limit lasts, and
	// such waits do not use up the retries meant for server errors.
	srv := deploytest.NewServer(t, deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointListWorkflowRuns, Kind: deploytest.TooManyRequests, Times: 7}))
	c := newTestClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 24*time.Hour) // the waits are recorded, not slept
	defer cancel()

	run, err := c.Dispatch(ctx, deployRequest())
	if err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	if runs := srv.Runs(); len(runs) != 1 || runs[0].ID != run.ID {
		t.Fatalf("Dispatch returned run %d; the server has %+v", run.ID, runs)
	}
	waits := c.sleep.recorded()
	if len(waits) < 7 || waits[0] < time.Minute {
		t.Fatalf("waits %v, want 7 of at least a minute", waits)
	}
	for i := 1; i < 4; i++ {
		if waits[i] <= waits[i-1] {
			t.Errorf("waits %v do not grow while the limit lasts", waits)
		}
	}
}

func TestDispatchWaitsForARunThatAnswers404RightAfterTheDispatch(t *testing.T) {
	t.Parallel()
	notYet := deploytest.Fault{Endpoint: deploytest.EndpointGetRun, Kind: deploytest.Status, Status: 404, Message: "Not Found"}

	t.Run("for as long as it takes", func(t *testing.T) {
		t.Parallel()
		notYet := notYet
		notYet.Times = 8 // far more than three tries
		srv := deploytest.NewServer(t, deploytest.WithFault(notYet))
		c := newTestClient(t, srv)

		run, err := c.Dispatch(testContext(t), deployRequest())
		if err != nil {
			t.Fatalf("Dispatch: %v", err)
		}
		if runs := srv.Runs(); len(runs) != 1 || runs[0].ID != run.ID || run.Identified != ByRunID {
			t.Fatalf("Dispatch returned run %d (%v); the server has %+v", run.ID, run.Identified, runs)
		}
		if n := srv.Count(deploytest.EndpointGetRun); n != 9 {
			t.Errorf("read the run %d times, want 9", n)
		}
	})

	t.Run("until the deadline", func(t *testing.T) {
		t.Parallel()
		srv := deploytest.NewServer(t, deploytest.WithFault(notYet))
		c := newTestClient(t, srv)
		ctx, cancel := context.WithTimeout(testContext(t), 200*time.Millisecond)
		defer cancel()

		_, err := c.Dispatch(ctx, deployRequest())
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "404") {
			t.Fatalf("Dispatch error = %v, want the deadline, and the 404 it waited out", err)
		}
		if n := srv.Count(deploytest.EndpointGetRun); n < 5 {
			t.Errorf("read the run %d times before the deadline, want many", n)
		}
	})
}
