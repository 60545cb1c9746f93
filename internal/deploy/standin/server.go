// Package standin is a stand-in for the part of the GitHub REST API that
// the deploy package talks to: workflow and repository dispatch, workflow
// runs, their jobs and cancellation. It answers with the shapes and status
// codes of GitHub's published REST API description; package deploytest
// holds it to that description in tests, and the demo command deploys its
// embedded API through it.
//
// Everything it does is scriptable: how a dispatch is answered, how a run
// moves through requested, queued, pending, waiting and in_progress,
// re-runs, when a new run shows up in listings, rival runs dispatched by
// someone else, disabled workflows, whether the token has a user,
// transient faults and rate limits (with or without Retry-After) on chosen
// endpoints, and a token check. It records every call so tests can assert
// what was (and what was not) sent.
package standin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Defaults of a Server built without options.
const (
	DefaultOwner            = "acme"
	DefaultRepo             = "shop"
	DefaultBranch           = "main"
	DefaultWorkflowID       = 4242
	DefaultWorkflowPath     = ".github/workflows/deploy-staging.yml"
	DefaultWorkflowName     = "Deploy staging"
	DefaultCorrelationInput = "correlation_id"
	// RivalActor is the login of the user who dispatches the rival run
	// (see WithRivalDispatch).
	RivalActor = "someone-else"
	// Actor is the login of the user behind every run dispatched through
	// the Server.
	Actor = "deploy-bot"
)

// DefaultLifecycle is how a dispatched run behaves unless WithLifecycle says
// otherwise: short enough for unit tests, long enough to be seen queued and
// in progress.
var DefaultLifecycle = Lifecycle{
	Queued:     20 * time.Millisecond,
	InProgress: 60 * time.Millisecond,
	Conclusion: "success",
}

// Workflow is a workflow file of the stand-in repository.
type Workflow struct {
	ID   int64
	Path string // ".github/workflows/deploy-staging.yml"; the dispatch endpoint takes its base name or ID
	Name string

	// WorkflowDispatch says whether the workflow has an "on: workflow_dispatch"
	// trigger; without it a dispatch answers 422 like GitHub does.
	WorkflowDispatch bool
	// Inputs are the declared workflow_dispatch inputs. Undeclared inputs are
	// rejected with 422 "Unexpected inputs provided".
	Inputs []Input

	// RepositoryDispatch says whether the workflow has an
	// "on: repository_dispatch" trigger; EventTypes narrows it to those
	// types (empty: any type).
	RepositoryDispatch bool
	EventTypes         []string

	// State is the workflow's state: "" or "active", "disabled_manually",
	// "disabled_inactivity", "disabled_fork" or "deleted". A workflow that
	// is not active refuses a workflow_dispatch with 422, like GitHub, and
	// starts no run on a repository_dispatch.
	State string

	// RunName is the workflow's run-name. It may refer to
	// ${{ inputs.NAME }}, ${{ github.event.inputs.NAME }} and
	// ${{ github.event.client_payload.NAME }}; the expanded text becomes the
	// run's display_title. Empty means the workflow name, as on GitHub.
	RunName string
}

// Input is a declared workflow_dispatch input.
type Input struct {
	Name     string
	Required bool
	Default  string
}

// DeployWorkflow returns the workflow a Server has unless WithWorkflows
// replaces it: dispatchable, with a "version" input and a correlation input
// that its run-name repeats, and triggered by repository_dispatch too.
func DeployWorkflow() Workflow {
	return Workflow{
		ID:                 DefaultWorkflowID,
		Path:               DefaultWorkflowPath,
		Name:               DefaultWorkflowName,
		WorkflowDispatch:   true,
		Inputs:             []Input{{Name: "version"}, {Name: DefaultCorrelationInput}},
		RepositoryDispatch: true,
		RunName:            "Deploy staging ${{ inputs.correlation_id }}${{ github.event.client_payload.correlation_id }}",
	}
}

// Lifecycle says how a run (each attempt of it) moves through its statuses,
// measured from its start: requested for Requested, queued (for a runner)
// for Queued, pending (on its concurrency group) for Pending, waiting (for
// an environment approval) for Waiting, in_progress for InProgress, then
// completed with Conclusion. With Manual set the run stays in_progress
// until Server.Complete.
type Lifecycle struct {
	Requested  time.Duration
	Queued     time.Duration
	Pending    time.Duration
	Waiting    time.Duration
	InProgress time.Duration
	Conclusion string // "success" when empty
	Manual     bool
}

// DispatchAnswer is how the workflow dispatch endpoint answers a dispatch
// that it accepts.
type DispatchAnswer int

const (
	// AnswerRunDetails answers 200 with workflow_run_id, run_url and
	// html_url when the request asks for return_run_details, and 204
	// otherwise, like github.com since February 2026.
	AnswerRunDetails DispatchAnswer = iota
	// AnswerNoContent ignores return_run_details and answers 204.
	AnswerNoContent
	// AnswerRejectRunDetails answers 422 '"return_run_details" is not a
	// permitted key.' like GitHub Enterprise Server 3.20 and older, and 204
	// to a request without the field.
	AnswerRejectRunDetails
	// AnswerRejectRunDetailsBadRequest is AnswerRejectRunDetails with 400.
	AnswerRejectRunDetailsBadRequest
)

// JobSpec describes a job that every run of the Server has. A job is
// queued, waiting and so on with its run; it starts After the run went in
// progress (as a job that needs another starts when that one ends; it is
// not listed before), and lasts Duration, or until the run completes when
// Duration is zero, taking the run's conclusion then. A job that has not
// started when the run completes is listed as skipped, as GitHub lists a
// job whose needs failed.
type JobSpec struct {
	Name     string
	Steps    []StepSpec
	After    time.Duration
	Duration time.Duration
	// Skipped makes the job complete as skipped the moment it starts, as
	// a job whose if: condition is false.
	Skipped bool
}

// StepSpec describes a step of a job. Steps run one after another from the
// moment the job starts; a step with zero Duration lasts until the job
// completes and takes the job's conclusion.
type StepSpec struct {
	Name     string
	Duration time.Duration
}

// DefaultJobs are the jobs of every run unless WithJobs says otherwise.
func DefaultJobs() []JobSpec {
	return []JobSpec{{
		Name: "deploy",
		Steps: []StepSpec{
			{Name: "Set up job", Duration: time.Millisecond},
			{Name: "Deploy"},
		},
	}}
}

// Option configures a Server.
type Option func(*Server)

// WithRepository sets the owner and name of the only repository the Server
// knows; any other repository answers 404.
func WithRepository(owner, repo string) Option {
	return func(s *Server) { s.owner, s.repo = owner, repo }
}

// WithDefaultBranch sets the repository's default branch.
func WithDefaultBranch(branch string) Option {
	return func(s *Server) { s.defaultBranch = branch }
}

// WithRefs adds branches and tags that workflow dispatches may name besides
// the default branch.
func WithRefs(refs ...string) Option {
	return func(s *Server) { s.refs = append(s.refs, refs...) }
}

// WithWorkflows replaces the repository's workflows.
func WithWorkflows(workflows ...Workflow) Option {
	return func(s *Server) { s.workflows = workflows }
}

// WithDispatchAnswer sets how accepted workflow dispatches are answered.
func WithDispatchAnswer(answer DispatchAnswer) Option {
	return func(s *Server) { s.answer = answer }
}

// WithLifecycle sets how dispatched runs move through their statuses.
func WithLifecycle(l Lifecycle) Option {
	return func(s *Server) { s.lifecycle = l }
}

// WithListingDelay makes new runs show up in run listings only after d, as
// GitHub's listings lag behind a dispatch by a few seconds. Fetching a run
// by its ID works at once.
func WithListingDelay(d time.Duration) Option {
	return func(s *Server) { s.listingDelay = d }
}

// WithRivalDispatch makes every dispatch also create a run of the same
// workflow, event and branch by RivalActor, at the same moment and with
// default inputs, created just after ours and listed as late as ours.
func WithRivalDispatch() Option {
	return func(s *Server) { s.rival = &Rival{sameListingDelay: true} }
}

// Rival is a run of the same workflow, event and branch that someone else
// dispatched around the time of ours (see WithRival).
type Rival struct {
	// Earlier is how long before our dispatch the rival run was created;
	// zero means at the same moment, just after ours.
	Earlier time.Duration
	// ListingDelay is how long after its creation the rival run shows in
	// listings; zero means at once.
	ListingDelay time.Duration
	// Actor is who dispatched it; RivalActor when empty.
	Actor string

	sameListingDelay bool
}

// WithRival makes every dispatch also create the rival run r describes. A
// rival created a moment before ours and listed at once is what a run
// search without a correlation ID can take for its own.
func WithRival(r Rival) Option {
	return func(s *Server) { s.rival = &r }
}

// WithUserToken makes the token belong to the user Actor, as a personal
// access token does: GET /user answers with that user. Without it the token
// is an installation token like GITHUB_TOKEN, and GET /user answers 403
// "Resource not accessible by integration".
func WithUserToken() Option {
	return func(s *Server) { s.userToken = true }
}

// WithToken makes the Server answer 401 "Bad credentials" to any request
// whose Authorization header does not carry token.
func WithToken(token string) Option {
	return func(s *Server) { s.token = token }
}

// WithJobs sets the jobs of every run.
func WithJobs(jobs ...JobSpec) Option {
	return func(s *Server) { s.jobs = jobs }
}

// WithFault injects a fault; see Fault.
func WithFault(f Fault) Option {
	return func(s *Server) { s.faults = append(s.faults, &faultState{Fault: f}) }
}

// WithOnDispatch calls hook for every run a dispatch creates (rival runs
// included; see Run.Actor), after the run exists and before the dispatch is
// answered. It runs on the request's goroutine: start long work in a
// goroutine of its own. End-to-end tests use it to start a simulated deploy
// and call srv.Complete when it is over (with Lifecycle.Manual set).
func WithOnDispatch(hook func(srv *Server, run Run)) Option {
	return func(s *Server) { s.onDispatch = append(s.onDispatch, hook) }
}

// WithClock replaces time.Now, for tests that move time themselves.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// Server is the stand-in GitHub API. Its zero value is not usable; start one
// with Start.
type Server struct {
	// URL is the base URL to give the client as GITHUB_API_URL. Requests are
	// served both at the root and under /api/v3, the prefix that go-github's
	// WithEnterpriseURLs adds to a host that does not start with "api.".
	URL string

	httpServer *httptest.Server

	// Configuration, fixed once Start returns.
	owner, repo, defaultBranch string
	refs                       []string
	workflows                  []Workflow
	answer                     DispatchAnswer
	lifecycle                  Lifecycle
	listingDelay               time.Duration
	rival                      *Rival
	token                      string
	userToken                  bool
	jobs                       []JobSpec
	onDispatch                 []func(*Server, Run)
	now                        func() time.Time

	mu         sync.Mutex
	runs       []*runState // in creation order
	nextRunID  int64
	nextNumber int
	faults     []*faultState
	calls      []Call
	quotaUsed  int
	quotaReset time.Time
}

// Start serves a Server on loopback until Close.
func Start(opts ...Option) *Server {
	s := &Server{
		owner:         DefaultOwner,
		repo:          DefaultRepo,
		defaultBranch: DefaultBranch,
		workflows:     []Workflow{DeployWorkflow()},
		lifecycle:     DefaultLifecycle,
		jobs:          DefaultJobs(),
		now:           time.Now,
		nextRunID:     9000000001,
		nextNumber:    1,
	}
	for _, opt := range opts {
		opt(s)
	}
	s.quotaReset = s.now().Add(time.Hour)
	s.httpServer = httptest.NewServer(s.handler())
	s.URL = s.httpServer.URL
	return s
}

// DispatchAnswer is how the Server answers the workflow dispatches it
// accepts (see WithDispatchAnswer).
func (s *Server) DispatchAnswer() DispatchAnswer { return s.answer }

// Close stops the Server, waiting for the requests it is answering.
func (s *Server) Close() { s.httpServer.Close() }

// Client returns an HTTP client that talks to the Server.
func (s *Server) Client() *http.Client { return s.httpServer.Client() }

// FullName is "owner/repo" of the stand-in repository.
func (s *Server) FullName() string { return s.owner + "/" + s.repo }

// Call is one request the Server received, and its answer.
type Call struct {
	Endpoint Endpoint // the matched route; "" when none matched
	Method   string
	Path     string // without the /api/v3 prefix
	Query    string
	Body     []byte
	Status   int    // the status the Server answered; 0 when it dropped the connection
	Answer   []byte // the body of the answer
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Count returns how many requests reached endpoint.
func (s *Server) Count(endpoint Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Endpoint == endpoint {
			n++
		}
	}
	return n
}

// AddFault injects a fault while the Server runs.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f})
}

func (s *Server) workflowByKey(key string) *Workflow {
	for i := range s.workflows {
		w := &s.workflows[i]
		if key == baseName(w.Path) || key == w.Path || key == itoa(w.ID) {
			return w
		}
	}
	return nil
}

func (s *Server) hasRef(ref string) (branch string, ok bool) {
	name := strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/tags/")
	if name == s.defaultBranch {
		return name, true
	}
	for _, r := range s.refs {
		if r == name {
			return name, true
		}
	}
	return "", false
}

func baseName(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}
