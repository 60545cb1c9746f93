// Package check runs the action's timeline: pre-flight, load, (dispatch the
// deploy, follow its run), tail, stop, judge. It returns the report; writing
// the summary, the outputs and the report file is the caller's business.
//
// Everything it needs from outside comes in Deps, so the whole timeline runs
// in-process in tests: real targets on loopback, the real load generator, a
// stand-in GitHub, and a clock whose sleeps end when the test says so.
package check

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/deploy"
	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
	"github.com/zerodowntime/deploy-load-check/internal/targets"
)

// Clock is the time the timeline keeps: when the load started, when each
// phase began, and how long to hold the load. Now must read the wall clock
// (the load's results carry wall-clock times); Sleep may end early when a
// test has seen what it waited for.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx is done; it reports whether it was
	// not cut short by ctx.
	Sleep(ctx context.Context, d time.Duration) bool
}

// WallClock is the Clock of a real run.
type WallClock struct{}

var _ Clock = WallClock{}

// Now returns time.Now().
func (WallClock) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (WallClock) Sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Deps are what a run needs from outside. Only GitHub is required, and
// only when a deploy is dispatched.
type Deps struct {
	// GitHub dispatches and follows the deploy.
	GitHub *deploy.Client
	// Clock defaults to WallClock.
	Clock Clock
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Results, when set, receives every result in vegeta's own encoding
	// (response headers and bodies left out), for vegeta report and plot.
	Results io.Writer
}

// run is one check in progress.
type run struct {
	cfg  *config.Config
	deps Deps
	// replay, when set, feeds the load from a recording.
	replay *replayRun
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.deps.Log, format+"\n", args...)
}

// Run performs the check cfg describes. A bad setup found before any load
// (a deploy the token may not dispatch, a target that fails the pre-flight,
// a refused OAuth2 client) returns a *config.Error naming the input and no
// report. Otherwise Run returns the report, cancelled or not; the error is
// then non-nil only when the deploy turned out to be misconfigured once
// dispatched, the results could not be written, or a shard's deploy had a
// problem (a *ShardError).
func Run(ctx context.Context, cfg *config.Config, deps Deps) (*report.Report, error) {
	if deps.Clock == nil {
		deps.Clock = WallClock{}
	}
	if deps.Log == nil {
		deps.Log = io.Discard
	}
	if cfg.Deploy != nil && deps.GitHub == nil {
		return nil, errors.New("check: a deploy is dispatched but no GitHub client was given")
	}
	r := &run{cfg: cfg, deps: deps}
	// The OAuth2 renewal lives as long as the run.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer r.closeReplay()
	generator, err := r.prepare(ctx)
	if err != nil {
		return nil, err
	}
	return r.timeline(ctx, generator)
}

// prepare checks what can be checked before any load and builds the load
// generator: a wrong token, repository or ref, an unreachable target or a
// refused OAuth2 client must cost seconds, not a head window of load.
func (r *run) prepare(ctx context.Context) (*load.Generator, error) {
	cfg := r.cfg
	if cfg.Deploy != nil {
		if err := r.deps.GitHub.Check(ctx, deployRequest(cfg.Deploy)); err != nil {
			return nil, deployInputError(err)
		}
	}
	mix := cfg.Mix
	if cfg.OAuth != nil {
		// The token is fetched now and renewed until the run ends.
		oauth, err := targets.NewOAuth(ctx, *cfg.OAuth, r.logf)
		if err != nil {
			return nil, &config.Error{Input: "oauth-token-url", Err: fmt.Errorf("%q: %w; check oauth-client-id, oauth-client-secret and oauth-scopes", cfg.OAuth.TokenURL, err)}
		}
		mix.Auth = append(mix.Auth[:len(mix.Auth):len(mix.Auth)], oauth)
	}
	if cfg.Replay != nil {
		return r.prepareReplayLoad(ctx, mix)
	}
	list := mix.Targets()
	if cfg.PreflightTimeout > 0 {
		checked := list
		if cfg.HealthURL != "" {
			checked = []load.Target{{Name: cfg.HealthURL, Method: http.MethodGet, URL: cfg.HealthURL}}
		}
		r.logf("pre-flight: one request to %d target(s), trying for up to %s", len(checked), cfg.PreflightTimeout)
		if err := load.Preflight(ctx, checked, cfg.Timeout, cfg.PreflightTimeout); err != nil {
			if ctx.Err() != nil || errors.As(err, new(*load.UnbuiltError)) {
				return nil, preflightError(ctx, "targets", err)
			}
			return nil, &config.Error{Input: "targets", Err: fmt.Errorf("pre-flight failed, so no load was sent and no deploy dispatched: %w; check the URLs and that the API is up (preflight-timeout: 0s skips this)", err)}
		}
	}
	opts := load.Options{
		Rate: cfg.Rate, RampUp: cfg.RampUp, Timeout: cfg.Timeout, FreshShare: cfg.FreshShare,
		MaxWorkers: cfg.MaxWorkers, KeepBody: keepBody(cfg),
	}
	if sh := cfg.Shard; sh != nil {
		opts.Shard, opts.Shards = sh.Index, sh.Count
	}
	return load.New(list, opts)
}

// timeline holds the load from now to the end of the run, with the deploy
// in it when one is dispatched, then stops and judges.
func (r *run) timeline(ctx context.Context, generator *load.Generator) (*report.Report, error) {
	cfg, clock := r.cfg, r.deps.Clock
	results := newResults(r.deps.Results)
	names := r.names()
	judge := newJudge(cfg, names, groups(cfg))

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	if cfg.Shard != nil {
		// Shards start their load on a whole second, so that their
		// seconds line up in the merge.
		startOnASecond(ctx)
	}
	loadStart := clock.Now()
	recorder := stats.NewRecorder(loadStart, names, stats.Options{
		VersionHeader: cfg.VersionHeader, VersionField: cfg.VersionField, DegradedErrorRate: cfg.DegradedErrorRate, Secrets: cfg.Secrets,
		Selections: judge.selections, ForMerge: cfg.Shard != nil,
	})
	rep := &report.Report{Title: "PR check", FailOnShortfall: cfg.FailOnShortfall}
	if sh := cfg.Shard; sh != nil {
		rep.Shard = &report.Shard{Index: sh.Index, Count: sh.Count, Key: sh.Key, Groups: groups(cfg)}
	}
	if cfg.Deploy == nil {
		r.logf("load: %s on %d target(s) for %s (ramp-up %s, timeout %s)", r.pace(), len(names), cfg.Duration, cfg.RampUp, cfg.Timeout)
	} else {
		rep.Title = deploySubject(cfg.Deploy)
		r.logf("load: %s on %d target(s) (ramp-up %s, timeout %s); %s of head, then the deploy, then %s of tail",
			r.pace(), len(names), cfg.RampUp, cfg.Timeout, cfg.Deploy.Head, cfg.Deploy.Tail)
		recorder.StartPhase("head", loadStart)
	}
	compared := r.startComparisons(ctx)
	healthc := make(chan load.Health, 1)
	// A PR check's load is the hits due in its duration, counted on the
	// recorder's timeline; a deploy's ends when the tail does.
	length := cfg.Duration
	if cfg.Deploy != nil {
		length = 0
	}
	go func() {
		healthc <- generator.RunFrom(loadCtx, loadStart, length, func(res *vegeta.Result, hit load.Hit) {
			recorder.Record(res, statsHit(hit))
			results.add(res)
			if hit.Tag != 0 && compared != nil {
				compared.answered(res, hit.Tag)
			}
		})
	}()

	var deployErr error
	if cfg.Deploy == nil {
		clock.Sleep(ctx, cfg.Duration)
	} else {
		rep.Deploy, deployErr = r.deploy(ctx, recorder, loadStart)
	}
	stoppedAt := clock.Now()
	if end := loadStart.Add(length); length > 0 && stoppedAt.After(end) {
		stoppedAt = end // the load's schedule ended there; the sleep overshot
	}
	rep.Cancelled = ctx.Err() != nil
	if rep.Cancelled {
		// A cancelled job's container is stopped soon after the signal:
		// the report must not wait for requests in flight.
		generator.Abort()
	}
	stopLoad()
	rep.Health = <-healthc
	rep.Summary = recorder.Close(stoppedAt)
	r.reportReplay(rep, compared)
	rep.Checks = judge.checks(rep.Summary)
	rep.Regression = judge.regression(rep.Summary)
	rep.Inconclusive, rep.Unjudged = judge.inconclusive(rep.Summary, rep.Checks, rep.Regression)
	if rep.Cancelled {
		r.settleDeploy(ctx, rep.Deploy)
	}
	if err := results.close(); err != nil {
		return rep, &config.Error{Input: "results-file", Err: fmt.Errorf("%q: %w", cfg.ResultsFile, err)}
	}
	if errors.Is(deployErr, deploy.ErrConfig) {
		return rep, deployInputError(deployErr)
	}
	if sh := cfg.Shard; sh != nil && !rep.Cancelled && rep.Deploy != nil && rep.Deploy.Problem != "" {
		return rep, &ShardError{Index: sh.Index, Count: sh.Count, Key: sh.Key, Problem: rep.Deploy.Problem}
	}
	return rep, nil
}

// ShardError is what went wrong with the deploy of a shard: no run carrying
// its shard key showed up within deploy-timeout, or it lost track of the
// run. The shard's report is complete, and the merge fails the check for
// it; the error is there so that the shard's own job fails too, and says
// why, rather than pass as a share that judges nothing.
type ShardError struct {
	Index, Count int
	Key          string
	// Problem is the report's Deploy.Problem.
	Problem string
}

func (e *ShardError) Error() string {
	return fmt.Sprintf("shard %d of %d (shard-key %q): %s", e.Index, e.Count, e.Key, e.Problem)
}

// statsHit is what the recorder needs of how a request was sent.
func statsHit(h load.Hit) stats.Hit {
	return stats.Hit{Target: h.Target, Fresh: h.Fresh, SilentRetried: h.SilentRetried}
}

// keepBody is how much of each answer the recorder needs: enough to read a
// version field, or nothing.
func keepBody(cfg *config.Config) int64 {
	if cfg.VersionField != "" {
		return 64 << 10
	}
	return 0
}

// rateText writes a rate for the log: 50/s, 3000/1m0s.
func rateText(r vegeta.Rate) string {
	if r.Per == time.Second {
		return fmt.Sprintf("%d/s", r.Freq)
	}
	return fmt.Sprintf("%d/%s", r.Freq, r.Per)
}

// results keeps every result in vegeta's own encoding. A nil *results
// keeps nothing.
type results struct {
	buf *bufio.Writer
	enc vegeta.Encoder
	err error
}

func newResults(w io.Writer) *results {
	if w == nil {
		return nil
	}
	buf := bufio.NewWriter(w)
	return &results{buf: buf, enc: vegeta.NewEncoder(buf)}
}

func (r *results) add(res *vegeta.Result) {
	if r == nil || r.err != nil {
		return
	}
	// Response headers may carry cookies or tokens, and bodies may be
	// large; vegeta's reports need neither.
	kept := *res
	kept.Headers, kept.Body = nil, nil
	r.err = r.enc.Encode(&kept)
}

// close flushes what is buffered and returns the first error.
func (r *results) close() error {
	if r == nil {
		return nil
	}
	if err := r.buf.Flush(); r.err == nil {
		r.err = err
	}
	return r.err
}

// startOnASecond waits for the next whole second of the wall clock.
func startOnASecond(ctx context.Context) {
	now := time.Now()
	WallClock{}.Sleep(ctx, now.Truncate(time.Second).Add(time.Second).Sub(now))
}

// groups are cfg's target groups, by the targets' indexes.
func groups(cfg *config.Config) map[string][]int {
	out := map[string][]int{}
	for _, s := range cfg.Mix.Specs {
		if s.Group != "" && out[s.Group] == nil {
			out[s.Group] = cfg.Group(s.Group)
		}
	}
	return out
}
