package demo

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/deploy/standin"
)

// The demo's deploy workflow, as its runs show it on the stand-in GitHub.
// A run waits Queued for a runner, then its one job, DeployJob, runs four
// steps: "Set up job", "Build and push image", DeployStep and
// "Wait for health checks". RestartAfter into DeployStep the API restarts
// as the new version, with nothing listening for Blip; the run concludes
// success RunTime after it went in progress.
const (
	Token        = "ghs_demoTokenOfTheStandInGitHub"
	Workflow     = "deploy-staging.yml"
	DeployJob    = "deploy"
	DeployStep   = "Deploy to staging"
	Queued       = time.Second
	RestartAfter = time.Second
	Blip         = 300 * time.Millisecond
	RunTime      = 6500 * time.Millisecond
)

// deploySteps are the steps of DeployJob. GitHub's clock counts whole
// seconds, so a step shows as starting and ending up to a second before it
// did, and the summary counts failures by the second: the blip lies a
// second past DeployStep's start and more than two before its end, so
// that it and its seconds fall within that step alone.
var deploySteps = []standin.StepSpec{
	{Name: "Set up job", Duration: 500 * time.Millisecond},
	{Name: "Build and push image", Duration: time.Second},
	{Name: DeployStep, Duration: RestartAfter + Blip + 2700*time.Millisecond},
	{Name: "Wait for health checks"},
}

// restartAt is when, after the run went in progress, the API restarts.
var restartAt = deploySteps[0].Duration + deploySteps[1].Duration + RestartAfter

// Staging is a staging environment on loopback: the API, and a stand-in
// GitHub holding the repository standin.DefaultOwner/DefaultRepo, whose
// workflow Workflow, once dispatched, deploys the version its "version"
// input names (v2 when empty) by restarting the API, as a careless
// deploy does.
type Staging struct {
	API    *API
	GitHub *standin.Server

	log       io.Writer
	stop      context.CancelFunc
	stopped   context.Context
	deploying sync.WaitGroup
}

// StartStaging starts the API and the stand-in GitHub. log, when not nil,
// receives a line as the deploy stops the API and as the new version
// answers, from the deploy's own goroutine: it must be safe for
// concurrent use.
func StartStaging(log io.Writer) (*Staging, error) {
	api, err := Start()
	if err != nil {
		return nil, err
	}
	s := &Staging{API: api, log: log}
	s.stopped, s.stop = context.WithCancel(context.Background())
	s.GitHub = standin.Start(
		standin.WithToken(Token),
		standin.WithLifecycle(standin.Lifecycle{Queued: Queued, Manual: true}),
		standin.WithJobs(standin.JobSpec{Name: DeployJob, Steps: deploySteps}),
		standin.WithOnDispatch(s.deploy),
	)
	return s, nil
}

// deploy plays the run's deploy on the API, in a goroutine of its own, and
// completes the run when it is over.
func (s *Staging) deploy(github *standin.Server, run standin.Run) {
	version := run.Inputs["version"]
	if version == "" {
		version = "v2"
	}
	inProgress := run.CreatedAt.Add(Queued)
	s.deploying.Add(1)
	go func() {
		defer s.deploying.Done()
		if !s.sleepUntil(inProgress.Add(restartAt)) {
			return
		}
		s.logf("staging: %s stops for the deploy; nothing listens for %d ms", s.API.Version(), Blip.Milliseconds())
		conclusion := "success"
		if err := s.API.Restart(version, Blip); err != nil {
			s.logf("staging: %v", err)
			conclusion = "failure"
		} else {
			s.logf("staging: %s answers", version)
		}
		if !s.sleepUntil(inProgress.Add(RunTime)) {
			return
		}
		if err := github.Complete(run.ID, conclusion); err != nil {
			s.logf("staging: %v", err)
		}
	}()
}

// sleepUntil waits until t, and reports whether Close has not been called
// meanwhile.
func (s *Staging) sleepUntil(t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-s.stopped.Done():
		return false
	}
}

func (s *Staging) logf(format string, args ...any) {
	if s.log == nil {
		return
	}
	fmt.Fprintf(s.log, format+"\n", args...)
}

// Close ends a deploy still going, then stops the stand-in GitHub and the
// API.
func (s *Staging) Close() error {
	s.stop()
	s.deploying.Wait()
	s.GitHub.Close()
	return s.API.Close()
}
