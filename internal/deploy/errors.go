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

// ErrRerun is matched by a *RerunError: the run was re-run while it was
// followed.
var ErrRerun = errors.New("workflow run re-run while followed")

// ErrDeadline is wrapped by an error when waiting as GitHub asked (a rate
// limit's wait, a backoff) would outlast the context's deadline: the wait
// is refused at once, and for the caller the deadline has run out.
var ErrDeadline = errors.New("out of time")

// ErrJobNotFound is wrapped by FollowJob's error when the run completed
// without a job of the name it was asked to follow.
var ErrJobNotFound = errors.New("job not found in the workflow run")

// Setting is the part of the deploy setup a *ConfigError asks to change.
// The caller knows where each came from (an action input, a flag) and names
// it; this package only speaks of the thing itself.
type Setting int

// The settings a *ConfigError may name.
const (
	// NoSetting: the fix is not a single setting.
	NoSetting Setting = iota
	// Token is the token the API is called with.
	Token
	// APIURL is the REST API's root URL (GITHUB_API_URL).
	APIURL
	// Repository is the owner/name of the repository holding the workflow.
	Repository
	// Workflow is the deploy workflow's file name or ID.
	Workflow
	// Ref is the branch or tag the workflow is dispatched on.
	Ref
	// WorkflowInputs are the inputs of a workflow_dispatch.
	WorkflowInputs
	// EventType is the event type of a repository_dispatch.
	EventType
	// EventPayload is the client_payload of a repository_dispatch.
	EventPayload
	// CorrelationInput names the workflow input (or client_payload key)
	// the correlation ID is sent in.
	CorrelationInput
)

var settingNames = [...]string{
	NoSetting:        "none",
	Token:            "token",
	APIURL:           "API URL",
	Repository:       "repository",
	Workflow:         "workflow",
	Ref:              "ref",
	WorkflowInputs:   "workflow inputs",
	EventType:        "event type",
	EventPayload:     "event payload",
	CorrelationInput: "correlation input",
}

func (s Setting) String() string {
	if s < 0 || int(s) >= len(settingNames) {
		return fmt.Sprintf("Setting(%d)", int(s))
	}
	return settingNames[s]
}

// ConfigError is a problem of the deploy setup that no retry can fix: a bad
// token, a missing workflow, an input the workflow does not declare. Its
// message speaks of the thing to change ("the token is invalid or
// expired ..."), never of where the value came from: the caller prefixes it
// with that, such as `input "github-token": `. errors.Is(err, ErrConfig)
// holds.
type ConfigError struct {
	// Setting is what to change, NoSetting when the fix is not one setting.
	Setting Setting
	Msg     string
	// Err is the API error behind it, if any.
	Err error
}

func (e *ConfigError) Error() string { return e.Msg }

func (e *ConfigError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

func configError(setting Setting, err error, format string, args ...any) *ConfigError {
	return &ConfigError{Setting: setting, Msg: fmt.Sprintf(format, args...), Err: err}
}

// AmbiguousRunError says that Dispatch could not tell which of several new
// runs it created, and lists them so that the user can look. It never
// guesses: following someone else's deploy would vouch for the wrong one.
type AmbiguousRunError struct {
	Repository string
	Workflow   string // "" for a repository_dispatch without workflow
	Candidates []Run
	// Correlated is true when a correlation ID was sent and no run, or more
	// than one, carried it in its name. When false, setting up a
	// correlation ID is the fix.
	Correlated bool
	// CorrelationID is the ID that was sent, if any.
	CorrelationID string
}

func (e *AmbiguousRunError) Error() string {
	links := make([]string, len(e.Candidates))
	for i, r := range e.Candidates {
		links[i] = r.HTMLURL
	}
	what := "runs"
	if len(e.Candidates) == 1 {
		what = "run"
	}
	if e.Workflow != "" {
		what = fmt.Sprintf("%s of workflow %q", what, e.Workflow)
	}
	if e.Correlated {
		return fmt.Sprintf("%d new %s in %q appeared after the dispatch, and none carries its correlation ID %q in its name: %s; make the workflow's run-name repeat the input the ID is sent in, such as run-name: \"Deploy ${{ inputs.NAME }}\"",
			len(e.Candidates), what, e.Repository, e.CorrelationID, strings.Join(links, ", "))
	}
	return fmt.Sprintf("%d new %s in %q appeared after the dispatch and any of them could be the one it started: %s; send a correlation ID in a workflow input that the workflow repeats in its run-name, so that its run can be told apart",
		len(e.Candidates), what, e.Repository, strings.Join(links, ", "))
}

// RerunError says that the run followed was re-run before Follow saw it
// complete, so a later attempt now runs under the same run ID. Run is the
// attempt that was followed, as it ended; the later attempt is not mixed
// in. errors.Is(err, ErrRerun) holds.
type RerunError struct {
	Run Run
	// Attempt is the attempt that runs now.
	Attempt int
}

func (e *RerunError) Error() string {
	return fmt.Sprintf("%s was re-run while it was followed: attempt %d ended %s, and attempt %d started; the check covers attempt %d only",
		e.Run.describe(), e.Run.Attempt, or(e.Run.Conclusion, e.Run.Status), e.Attempt, e.Run.Attempt)
}

// Is makes errors.Is(err, ErrRerun) true.
func (e *RerunError) Is(target error) bool { return target == ErrRerun }

// answer is what GitHub said in an error response, whichever of
// go-github's error types carries it.
type answer struct {
	status  int
	message string
	docs    string
	header  http.Header
	// secondary: go-github recognised a secondary rate limit by its
	// documentation URL.
	secondary bool
}

func apiAnswer(err error) (answer, bool) {
	var (
		er    *github.ErrorResponse
		rate  *github.RateLimitError
		abuse *github.AbuseRateLimitError
		a     answer
	)
	var resp *http.Response
	switch {
	case errors.As(err, &rate):
		resp, a.message = rate.Response, rate.Message
	case errors.As(err, &abuse):
		resp, a.message, a.secondary = abuse.Response, abuse.Message, true
	case errors.As(err, &er):
		resp, a.message, a.docs = er.Response, er.Message, er.DocumentationURL
	default:
		return answer{}, false
	}
	if resp == nil {
		return answer{}, false
	}
	a.status, a.header = resp.StatusCode, resp.Header
	if a.header == nil {
		a.header = http.Header{}
	}
	return a, true
}

// answered renders an API error for a message: `HTTP 422 "No ref found"`.
func answered(err error) string {
	a, ok := apiAnswer(err)
	if !ok {
		return err.Error()
	}
	message := strings.Join(strings.Fields(a.message), " ")
	if message == "" {
		return fmt.Sprintf("HTTP %d", a.status)
	}
	return fmt.Sprintf("HTTP %d %q", a.status, message)
}

func hasStatus(err error, status int) bool {
	a, ok := apiAnswer(err)
	return ok && a.status == status
}

// operation says what a request was for, to explain its failure.
type operation int

const (
	opRepository operation = iota
	opWorkflow
	opListRuns
	opWorkflowDispatch
	opRepositoryDispatch
	opRun
)

// explain turns an API error that no retry can fix into a *ConfigError that
// says what to change, and wraps anything else with what failed.
func explain(err error, op operation, req Request, what string) error {
	a, ok := apiAnswer(err)
	if !ok {
		return fmt.Errorf("%s: %w", what, err)
	}
	repo := req.repository()
	lower := strings.ToLower(a.message)
	switch {
	case a.status == http.StatusUnauthorized:
		return configError(Token, err, "the token is invalid or expired (%s while trying to %s); pass a current token that may dispatch workflows in %q",
			answered(err), what, repo)

	case a.status == http.StatusForbidden && strings.Contains(lower, "resource not accessible"):
		permission := `"actions: write"`
		if op == opRepositoryDispatch {
			permission = `"contents: write"`
		} else if op != opWorkflowDispatch {
			permission = `"actions: read"`
		}
		return configError(Token, err, "the token may not %s in %q (%s); grant it %s, and for a repository other than the one running this action use a fine-grained personal access token or a GitHub App token instead of GITHUB_TOKEN",
			what, repo, answered(err), permission)

	case a.status == http.StatusForbidden && !limited(a):
		return configError(Token, err, "the token may not %s in %q (%s); check the token's permissions on the repository",
			what, repo, answered(err))

	case a.status == http.StatusNotFound:
		switch {
		case op == opRepository || op == opRepositoryDispatch ||
			(req.isRepositoryDispatch() && req.Workflow == "" && (op == opListRuns || op == opWorkflowDispatch)):
			return configError(Repository, err, "repository %q was not found, or the token cannot see it (%s); check the repository's owner/name and that the token has access to it",
				repo, answered(err))
		case op == opWorkflow || op == opListRuns || op == opWorkflowDispatch:
			return configError(Workflow, err, "workflow %q was not found in repository %q, or the token cannot see it (%s); check the workflow's file name or ID, the repository, and that the token has access to the repository",
				req.Workflow, repo, answered(err))
		}

	case op == opWorkflowDispatch && (a.status == http.StatusUnprocessableEntity || a.status == http.StatusBadRequest):
		return explainWorkflowDispatch(err, req, a.message)

	case op == opRepositoryDispatch && (a.status == http.StatusUnprocessableEntity || a.status == http.StatusBadRequest):
		return configError(EventPayload, err, "the repository_dispatch to %q was rejected (%s); check the event type and the client payload, a JSON object of at most 10 top-level keys",
			repo, answered(err))
	}
	return fmt.Errorf("%s in %q: %w", what, repo, err)
}

// explainWorkflowDispatch reads GitHub's 422 answers to a workflow dispatch.
func explainWorkflowDispatch(err error, req Request, message string) error {
	repo := req.repository()
	switch {
	case strings.HasPrefix(message, "No ref found for:"):
		ref := strings.TrimSpace(strings.TrimPrefix(message, "No ref found for:"))
		return configError(Ref, err, "%q is not a branch or tag of %q (%s); name an existing branch or tag, or none for the default branch",
			ref, repo, answered(err))

	case strings.HasPrefix(message, "Unexpected inputs provided:"):
		var names []string
		list := strings.TrimSpace(strings.TrimPrefix(message, "Unexpected inputs provided:"))
		if json.Unmarshal([]byte(list), &names) != nil {
			names = []string{list}
		}
		for _, name := range names {
			if name == req.CorrelationInput {
				return configError(CorrelationInput, err, "workflow %q does not declare an input %q for the correlation ID (%s); declare it under on.workflow_dispatch.inputs and repeat it in the workflow's run-name, or send no correlation ID",
					req.Workflow, name, answered(err))
			}
		}
		return configError(WorkflowInputs, err, "workflow %q does not declare %s (%s); remove what it does not declare from the workflow inputs, or declare it under on.workflow_dispatch.inputs",
			req.Workflow, quoteAll(names), answered(err))

	case strings.HasPrefix(message, "Required input"):
		return configError(WorkflowInputs, err, "workflow %q needs an input it was not given (%s); add it to the workflow inputs",
			req.Workflow, answered(err))

	case strings.Contains(strings.ToLower(message), "disabled workflow"):
		return configError(Workflow, err, "workflow %q in %q is disabled (%s); enable it in the repository's Actions tab or with \"gh workflow enable\", then run the check again",
			req.Workflow, repo, answered(err))

	case strings.Contains(message, "workflow_dispatch"):
		return configError(Workflow, err, "workflow %q in %q has no workflow_dispatch trigger (%s); add \"on: workflow_dispatch\" to it on the dispatched ref, or send a repository_dispatch instead",
			req.Workflow, repo, answered(err))
	}
	return configError(NoSetting, err, "the dispatch of workflow %q in %q was rejected (%s); check the workflow, the ref it runs on and its inputs",
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
	a, ok := apiAnswer(err)
	return ok && (a.status == http.StatusBadRequest || a.status == http.StatusUnprocessableEntity) &&
		strings.Contains(a.message, "return_run_details")
}
