// Package deploytest is the stand-in GitHub of package standin as tests use
// it: NewServer starts one for a test, and when the test ends holds every
// request it received and every answer it gave to GitHub's published REST
// API description. A subset of that description (api.github.com, and
// GitHub Enterprise Server for a Server that rejects return_run_details) is
// vendored in testdata/openapi (see Description).
//
// The same Server backs unit tests of package deploy, tests of the
// timeline, and end-to-end tests that run the built binary with
// GITHUB_API_URL set to Server.URL. Its types and options are standin's,
// under the names tests have always used.
package deploytest

import (
	"sync"

	"github.com/zerodowntime/deploy-load-check/internal/deploy/standin"
)

// TB is the part of testing.TB that NewServer uses.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
}

// NewServer starts a Server, closes it when the test ends, then fails t for
// every call that strayed from GitHub's REST API description, unless the
// Server was built WithoutConformance.
func NewServer(t TB, opts ...Option) *Server {
	t.Helper()
	s := standin.Start(opts...)
	_, lax := unchecked.LoadAndDelete(s)
	t.Cleanup(func() {
		s.Close()
		if !lax {
			checkConformance(t, s)
		}
	})
	return s
}

// unchecked holds the Servers that WithoutConformance marked while they
// were being built, until NewServer reads the mark.
var unchecked sync.Map

// WithoutConformance turns off the check, when the test ends, that every
// request and answer matches GitHub's REST API description: for tests that
// send the Server what GitHub would not accept.
func WithoutConformance() Option {
	return func(s *Server) { unchecked.Store(s, true) }
}

// DescriptionOf is the API description s is held to: GitHub Enterprise
// Server's for a Server that rejects return_run_details, like GHES 3.20
// and older, api.github.com's otherwise.
func DescriptionOf(s *Server) *Description {
	switch s.DispatchAnswer() {
	case AnswerRejectRunDetails, AnswerRejectRunDetailsBadRequest:
		return GHES()
	}
	return APIGitHubCom()
}

// checkConformance fails t for every call that strays from the
// description.
func checkConformance(t TB, s *Server) {
	t.Helper()
	desc := DescriptionOf(s)
	for _, call := range s.Calls() {
		for _, err := range desc.Check(call) {
			t.Errorf("deploytest: %s %s (answered %d) strays from %s: %v", call.Method, call.Path, call.Status, desc.Name, err)
		}
	}
}

// The stand-in's types, options and defaults; see package standin.
type (
	Server         = standin.Server
	Option         = standin.Option
	Workflow       = standin.Workflow
	Input          = standin.Input
	Lifecycle      = standin.Lifecycle
	DispatchAnswer = standin.DispatchAnswer
	JobSpec        = standin.JobSpec
	StepSpec       = standin.StepSpec
	Rival          = standin.Rival
	Run            = standin.Run
	RunSpec        = standin.RunSpec
	Call           = standin.Call
	Endpoint       = standin.Endpoint
	Fault          = standin.Fault
	FaultKind      = standin.FaultKind
)

const (
	DefaultOwner            = standin.DefaultOwner
	DefaultRepo             = standin.DefaultRepo
	DefaultBranch           = standin.DefaultBranch
	DefaultWorkflowID       = standin.DefaultWorkflowID
	DefaultWorkflowPath     = standin.DefaultWorkflowPath
	DefaultWorkflowName     = standin.DefaultWorkflowName
	DefaultCorrelationInput = standin.DefaultCorrelationInput
	RivalActor              = standin.RivalActor
	Actor                   = standin.Actor

	AnswerRunDetails                 = standin.AnswerRunDetails
	AnswerNoContent                  = standin.AnswerNoContent
	AnswerRejectRunDetails           = standin.AnswerRejectRunDetails
	AnswerRejectRunDetailsBadRequest = standin.AnswerRejectRunDetailsBadRequest

	EndpointGetRepository      = standin.EndpointGetRepository
	EndpointGetWorkflow        = standin.EndpointGetWorkflow
	EndpointGetRef             = standin.EndpointGetRef
	EndpointWorkflowDispatch   = standin.EndpointWorkflowDispatch
	EndpointRepositoryDispatch = standin.EndpointRepositoryDispatch
	EndpointListRepositoryRuns = standin.EndpointListRepositoryRuns
	EndpointListWorkflowRuns   = standin.EndpointListWorkflowRuns
	EndpointGetRun             = standin.EndpointGetRun
	EndpointGetRunAttempt      = standin.EndpointGetRunAttempt
	EndpointListJobs           = standin.EndpointListJobs
	EndpointListAttemptJobs    = standin.EndpointListAttemptJobs
	EndpointGetUser            = standin.EndpointGetUser
	EndpointCancelRun          = standin.EndpointCancelRun

	ServerError        = standin.ServerError
	TooManyRequests    = standin.TooManyRequests
	SecondaryRateLimit = standin.SecondaryRateLimit
	PrimaryRateLimit   = standin.PrimaryRateLimit
	Disconnect         = standin.Disconnect
	Status             = standin.Status
)

var (
	DefaultLifecycle = standin.DefaultLifecycle

	DeployWorkflow = standin.DeployWorkflow
	DefaultJobs    = standin.DefaultJobs

	WithRepository     = standin.WithRepository
	WithDefaultBranch  = standin.WithDefaultBranch
	WithRefs           = standin.WithRefs
	WithWorkflows      = standin.WithWorkflows
	WithDispatchAnswer = standin.WithDispatchAnswer
	WithLifecycle      = standin.WithLifecycle
	WithListingDelay   = standin.WithListingDelay
	WithRivalDispatch  = standin.WithRivalDispatch
	WithRival          = standin.WithRival
	WithUserToken      = standin.WithUserToken
	WithToken          = standin.WithToken
	WithJobs           = standin.WithJobs
	WithFault          = standin.WithFault
	WithOnDispatch     = standin.WithOnDispatch
	WithClock          = standin.WithClock
)
