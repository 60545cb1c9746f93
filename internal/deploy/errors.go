package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v66/github"
)

// ErrConfig matches every *ConfigError with errors.Is.
var ErrConfig = errors.New("bad deploy configuration")

// ErrRunVanished is wrapped by Follow's error when the run answers 404 for
// several polls in a row: someone deleted it, or the token lost access.
var ErrRunVanished = errors.New("workflow run vanished")

// ErrNoRun is wrapped by Dispatch's error when no new run showed up within
// the discovery timeout.
var ErrNoRun = errors.New("no dispatched run found")

// ErrAlreadyCompleted is wrapped by Cancel's error when GitHub answers 409
// because the run had already completed; callers cancelling on their way out
// can ignore it.
var ErrAlreadyCompleted = errors.New("workflow run already completed")

// ConfigError is a problem of the action's setup that no retry can fix: a
// bad token, a missing workflow, an input the workflow does not declare.
// Its message names the input to change. errors.Is(err, ErrConfig) holds.
type ConfigError struct {
	// Input is the action input to change ("workflow-ref"), or "" when the
	// fix is not a single input.
	Input string
	Msg   string
	// Err is the API error behind it, if any.
	Err error
}

func (e *ConfigError) Error() string { return e.Msg }

func (e *ConfigError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// AmbiguousRunError says that several new runs could be the one Dispatch
// created, and lists them so that the user can look.
type AmbiguousRunError struct {
	Repository string
	Workflow   string // "" for a repository_dispatch without workflow
	Candidates []Run
	// Correlated is true when the runs were checked for the correlation ID
	// and none, or more than one, carried it.
	Correlated bool
}

func (e *AmbiguousRunError) Error() string {
	links := make([]string, len(e.Candidates))
	for i, r := range e.Candidates {
		links[i] = r.HTMLURL
	}
	what := "runs"
	if e.Workflow != "" {
		what = fmt.Sprintf("runs of workflow %q", e.Workflow)
	}
	advice := `set input "correlation-input" to a workflow input that the workflow repeats in its run-name, so that the action can tell its run apart`
	if e.Correlated {
		advice = `none of them carries the correlation ID in its name; make the workflow's run-name include the input named by "correlation-input"`
	}
	return fmt.Sprintf("%d new %s in %q appeared after the dispatch and any of them could be ours: %s; %s",
		len(e.Candidates), what, e.Repository, strings.Join(links, ", "), advice)
}

// apiError digs out what GitHub answered, whichever of go-github's error
// types carries it.
func apiError(err error) (status int, message string, header http.Header, ok bool) {
	var (
		er    *github.ErrorResponse
		rate  *github.RateLimitError
		abuse *github.AbuseRateLimitError
	)
	var resp *http.Response
	switch {
	case errors.As(err, &rate):
		resp, message = rate.Response, rate.Message
	case errors.As(err, &abuse):
		resp, message = abuse.Response, abuse.Message
	case errors.As(err, &er):
		resp, message = er.Response, er.Message
	default:
		return 0, "", nil, false
	}
	if resp == nil {
		return 0, message, nil, false
	}
	return resp.StatusCode, message, resp.Header, true
}

// answered renders an API error for a message: `HTTP 422 "No ref found"`.
func answered(err error) string {
	status, message, _, ok := apiError(err)
	if !ok {
		return err.Error()
	}
	message = strings.Join(strings.Fields(message), " ")
	if message == "" {
		return fmt.Sprintf("HTTP %d", status)
	}
	return fmt.Sprintf("HTTP %d %q", status, message)
}

func hasStatus(err error, status int) bool {
	s, _, _, ok := apiError(err)
	return ok && s == status
}

// operation says what a request was for, to explain its failure.
type operation int

const (
	opRepository operation = iota
	opListRuns
	opWorkflowDispatch
	opRepositoryDispatch
	opRun
)

// explain turns an API error that no retry can fix into a *ConfigError that
// says what to change, and wraps anything else with what failed.
func explain(err error, op operation, req Request, what string) error {
	status, message, _, ok := apiError(err)
	if !ok {
		return fmt.Errorf("%s: %w", what, err)
	}
	repo := req.repository()
	config := func(input, format string, args ...any) error {
		return &ConfigError{Input: input, Msg: fmt.Sprintf(format, args...), Err: err}
	}
	lower := strings.ToLower(message)
	switch {
	case status == http.StatusUnauthorized:
		return config("github-token", `input "github-token" is invalid or expired (%s while trying to %s); pass a current token that may dispatch workflows in %q`,
			answered(err), what, repo)

	case status == http.StatusForbidden && strings.Contains(lower, "resource not accessible"):
		permission := `"actions: write"`
		if op == opRepositoryDispatch {
			permission = `"contents: write"`
		} else if op != opWorkflowDispatch {
			permission = `"actions: read"`
		}
		return config("github-token", `input "github-token" may not %s in %q (%s); grant it %s, and for a repository other than the one running this action use a fine-grained personal access token or a GitHub App token instead of GITHUB_TOKEN`,
			what, repo, answered(err), permission)

	case status == http.StatusForbidden && !isRateLimit(err):
		return config("github-token", `input "github-token" may not %s in %q (%s); check the token's permissions on the repository`,
			what, repo, answered(err))

	case status == http.StatusNotFound:
		switch op {
		case opRepository, opRepositoryDispatch:
			return config("repository", `repository %q was not found, or input "github-token" cannot see it (%s); check input "repository" and that the token has access to it`,
				repo, answered(err))
		case opListRuns, opWorkflowDispatch:
			if req.isRepositoryDispatch() {
				return config("repository", `repository %q was not found, or input "github-token" cannot see it (%s); check input "repository" and that the token has access to it`,
					repo, answered(err))
			}
			return config("workflow", `workflow %q was not found in repository %q, or input "github-token" cannot see it (%s); check inputs "workflow" and "repository", and that the token has access to the repository`,
				req.Workflow, repo, answered(err))
		}

	case op == opWorkflowDispatch && (status == http.StatusUnprocessableEntity || status == http.StatusBadRequest):
		return explainWorkflowDispatch(err, req, message)

	case op == opRepositoryDispatch && (status == http.StatusUnprocessableEntity || status == http.StatusBadRequest):
		return config("client-payload", `the repository_dispatch to %q was rejected (%s); check inputs "event-type" and "client-payload" (a JSON object of at most 10 top-level keys)`,
			repo, answered(err))
	}
	return fmt.Errorf("%s in %q: %w", what, repo, err)
}

// explainWorkflowDispatch reads GitHub's 422 answers to a workflow dispatch.
func explainWorkflowDispatch(err error, req Request, message string) error {
	repo := req.repository()
	config := func(input, format string, args ...any) error {
		return &ConfigError{Input: input, Msg: fmt.Sprintf(format, args...), Err: err}
	}
	switch {
	case strings.HasPrefix(message, "No ref found for:"):
		ref := strings.TrimSpace(strings.TrimPrefix(message, "No ref found for:"))
		return config("workflow-ref", `input "workflow-ref": %q is not a branch or tag of %q (%s); name an existing branch or tag, or leave workflow-ref empty for the default branch`,
			ref, repo, answered(err))

	case strings.HasPrefix(message, "Unexpected inputs provided:"):
		var names []string
		list := strings.TrimSpace(strings.TrimPrefix(message, "Unexpected inputs provided:"))
		if json.Unmarshal([]byte(list), &names) != nil {
			names = []string{list}
		}
		for _, name := range names {
			if name == req.CorrelationInput {
				return config("correlation-input", `input "correlation-input": workflow %q does not declare an input %q (%s); declare it under on.workflow_dispatch.inputs and repeat it in the workflow's run-name, or leave correlation-input empty`,
					req.Workflow, name, answered(err))
			}
		}
		return config("workflow-inputs", `input "workflow-inputs": workflow %q does not declare %s (%s); remove what it does not declare from workflow-inputs, or declare it under on.workflow_dispatch.inputs`,
			req.Workflow, quoteAll(names), answered(err))

	case strings.HasPrefix(message, "Required input"):
		return config("workflow-inputs", `input "workflow-inputs": workflow %q needs an input it was not given (%s); add it to workflow-inputs`,
			req.Workflow, answered(err))

	case strings.Contains(message, "workflow_dispatch"):
		return config("workflow", `workflow %q in %q has no workflow_dispatch trigger (%s); add "on: workflow_dispatch" to it on the dispatched ref, or set input "event-type" to send a repository_dispatch instead`,
			req.Workflow, repo, answered(err))
	}
	return config("", `the dispatch of workflow %q in %q was rejected (%s); check inputs "workflow", "workflow-ref" and "workflow-inputs"`,
		req.Workflow, repo, answered(err))
}

func quoteAll(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	if len(quoted) == 1 {
		return "input " + quoted[0]
	}
	return "inputs " + strings.Join(quoted, ", ")
}

// rejectsRunDetails reports whether a dispatch failed only because the
// server predates return_run_details (GitHub Enterprise Server 3.20 and
// older answer 400 or 422 '"return_run_details" is not a permitted key').
func rejectsRunDetails(err error) bool {
	status, message, _, ok := apiError(err)
	return ok && (status == http.StatusBadRequest || status == http.StatusUnprocessableEntity) &&
		strings.Contains(message, "return_run_details")
}
