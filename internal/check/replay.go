package check

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/compare"
	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/targets"
	"github.com/zerodowntime/deploy-load-check/internal/targets/replay"
)

// replayRun is recorded traffic feeding the load: the file read once for
// its endpoint patterns, then streamed as the load asks for requests, and
// the comparisons of a sample of the answers.
type replayRun struct {
	cfg      *config.Replay
	scan     *replay.Scan
	reader   *replay.Reader
	timing   *replay.Timing // nil when sent at the rate
	closers  []func() error
	names    []string       // the load's targets: endpoint patterns, then "other" when capped
	index    map[string]int // pattern to target index
	other    int            // index of "other"; -1 without it
	decorate func(*vegeta.Target) error
	compare  *comparisons // nil without comparisons
}

// prepareReplay reads the replay file once, before any load: a file that
// cannot be read, holds nothing to send, or whose recorded pace would
// break max-rate stops the run here.
func (r *run) prepareReplay(mix targets.Mix) (*replayRun, error) {
	cfg := r.cfg
	rc := cfg.Replay
	opts := []replay.Option{replay.WithFormat(rc.Format), replay.WithMethods(rc.Methods...), replay.WithHeaders(rc.Headers...)}
	if len(rc.Hosts) > 0 {
		opts = append(opts, replay.WithHosts(rc.Hosts...))
	}
	scan, err := replay.ScanFile(rc.File, rc.BaseURL, replay.ScanOptions{Speed: rc.Speed, Rate: cfg.Rate}, opts...)
	if err != nil {
		return nil, &config.Error{Input: "replay-file", Err: fmt.Errorf("%q: %w", rc.File, unwrapPath(err, rc.File))}
	}
	r.logf("replay: %s: %s", rc.File, scan)
	if len(rc.Headers) > 0 {
		r.logf("replay: recorded %s headers are sent as recorded (replay-headers); their values are not shown", strings.Join(rc.Headers, ", "))
	}
	if ceiling := perSecond(cfg.MaxRate); rc.Speed > 0 && float64(scan.PeakPace) > ceiling {
		return nil, &config.Error{Input: "replay-speed", Err: fmt.Errorf("%q sends up to %d requests in one second of the recording %q, above max-rate %s; raise max-rate if you mean it, or slow the replay",
			speedInput(rc.Speed), scan.PeakPace, rc.File, rateText(cfg.MaxRate))}
	}
	rr := &replayRun{cfg: rc, scan: scan, index: make(map[string]int, len(scan.Patterns)), other: -1, decorate: mix.Decorate()}
	for i, p := range scan.Patterns {
		rr.index[p] = i
	}
	rr.names = append(rr.names, scan.Patterns...)
	if scan.Capped {
		rr.other = len(rr.names)
		rr.names = append(rr.names, replay.Other)
	}
	if rr.reader, err = replay.Open(rc.File, rc.BaseURL, opts...); err != nil {
		return nil, &config.Error{Input: "replay-file", Err: fmt.Errorf("%q: %w", rc.File, err)}
	}
	rr.closers = append(rr.closers, rr.reader.Close)
	if rc.Speed > 0 {
		// The timing reads the file on its own, with the same options,
		// so its n-th due time is the n-th request's.
		paced, err := replay.Open(rc.File, rc.BaseURL, opts...)
		if err != nil {
			rr.close()
			return nil, &config.Error{Input: "replay-file", Err: fmt.Errorf("%q: %w", rc.File, err)}
		}
		rr.closers = append(rr.closers, paced.Close)
		if rr.timing, err = replay.NewTiming(paced, rc.Speed, cfg.Rate); err != nil {
			rr.close()
			return nil, &config.Error{Input: "replay-speed", Err: err}
		}
	}
	if cfg.Compare != nil {
		rr.compare = newComparisons(cfg, rr.names, rr.decorate)
	}
	return rr, nil
}

// unwrapPath drops the path from a file error, which the message quotes
// already.
func unwrapPath(err error, path string) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, path+": "); ok {
		return errors.New(rest)
	}
	if rest, ok := strings.CutPrefix(msg, "open "+path+": "); ok {
		return errors.New(rest)
	}
	return err
}

func speedInput(speed float64) string { return fmt.Sprintf("%gx", speed) }

func perSecond(r vegeta.Rate) float64 {
	if r.Per <= 0 {
		return 0
	}
	return float64(r.Freq) / r.Per.Seconds()
}

// targets are the load's targets: only names, the requests come from next.
func (rr *replayRun) targets() []load.Target {
	out := make([]load.Target, len(rr.names))
	for i, name := range rr.names {
		out[i] = load.Target{Name: name}
	}
	return out
}

// options adds the replay to the load's options.
func (rr *replayRun) options(opts load.Options) load.Options {
	opts.Source = rr.next
	if rr.timing != nil {
		opts.Schedule = rr.timing
	}
	if rr.compare != nil {
		// One byte over what is compared tells a longer answer apart.
		opts.TagBody = compare.DefaultMaxBody + 1
	}
	return opts
}

// next hands the load its next request: the recording's next entry, with
// the headers and auth inputs added, counted under its endpoint pattern,
// and tagged when its answer is to be compared.
func (rr *replayRun) next(t *vegeta.Target) (int, uint64, error) {
	var req replay.Request
	if err := rr.reader.Next(&req); err != nil {
		return 0, 0, fmt.Errorf("replay-file %q: %w", rr.cfg.File, err)
	}
	pattern := req.Method + " " + replay.PathPattern(req.URL)
	target, known := rr.index[pattern]
	if !known {
		if rr.other < 0 {
			return 0, 0, fmt.Errorf("replay-file %q: line %d (%s) was not in the file when it was first read; was it changed during the run?", rr.cfg.File, req.Line, pattern)
		}
		pattern, target = replay.Other, rr.other
	}
	t.Method, t.URL, t.Header, t.Body = req.Method, req.URL, req.Header, req.Body
	var tag uint64
	if rr.compare != nil {
		if tag = rr.compare.pick(target, pattern, &req); tag != 0 {
			// The request is kept as recorded for the baseline; the load
			// sends a copy with the auth added.
			t.Header = req.Header.Clone()
		}
	}
	if rr.decorate != nil {
		if err := rr.decorate(t); err != nil {
			return target, 0, err
		}
	}
	return target, tag, nil
}

// preflight tries the recording's first safe request on staging, and on
// the baseline when there is one: any answer but a server error or an
// auth refusal shows each is there (a recorded request may have been a
// 404 when it was recorded).
func (rr *replayRun) preflight(ctx context.Context, cfg *config.Config) error {
	safe := rr.scan.Safe
	if safe == nil {
		return nil
	}
	first := load.Target{Name: safe.Method + " " + replay.PathPattern(safe.URL), Method: safe.Method, URL: safe.URL, Header: safe.Header, Body: safe.Body, Render: rr.render(safe, "")}
	if err := load.Reach(ctx, []load.Target{first}, cfg.Timeout, cfg.PreflightTimeout); err != nil {
		return preflightError(ctx, "replay-base-url", err)
	}
	if c := rr.compare; c != nil && c.baselinePrefix != "" {
		baseline := first
		baseline.URL = c.baselineURL(safe.URL)
		baseline.Render = rr.render(safe, baseline.URL)
		if err := load.Reach(ctx, []load.Target{baseline}, cfg.Timeout, cfg.PreflightTimeout); err != nil {
			return preflightError(ctx, "compare-url", err)
		}
	}
	return nil
}

// render builds a recorded request as the load sends it, at url when set.
func (rr *replayRun) render(req *replay.Request, url string) func(t *vegeta.Target) error {
	return func(t *vegeta.Target) error {
		t.Method, t.URL, t.Header, t.Body = req.Method, req.URL, req.Header.Clone(), req.Body
		if url != "" {
			t.URL = url
		}
		if t.Header == nil {
			t.Header = http.Header{}
		}
		if rr.decorate != nil {
			return rr.decorate(t)
		}
		return nil
	}
}

func preflightError(ctx context.Context, input string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("cancelled before any load: %w", ctx.Err())
	}
	if errors.As(err, new(*load.UnbuiltError)) {
		// Every request would fail the same way, and count against the
		// API though it was never sent: skipping the pre-flight would
		// not help.
		return &config.Error{Input: input, Err: fmt.Errorf("pre-flight failed, so no load was sent and no deploy dispatched: %w; every request of the load would fail the same way", err)}
	}
	return &config.Error{Input: input, Err: fmt.Errorf("pre-flight failed, so no load was sent and no deploy dispatched: %w; check the URL and that it is up (preflight-timeout: 0s skips this)", err)}
}

// report says what the replay sent and skipped.
func (rr *replayRun) report() *report.Replay {
	s := rr.reader.Stats()
	return &report.Replay{
		File: rr.cfg.File, Format: string(s.Format), Speed: rr.cfg.Speed, Headers: rr.cfg.Headers, Patterns: len(rr.scan.Patterns), Capped: rr.scan.Capped,
		Requests: s.Requests, Cycles: s.Cycles, Skipped: s.Skipped, OtherHost: s.OtherHost, Bad: s.Bad, BadSamples: s.BadSamples,
	}
}

func (rr *replayRun) close() {
	for _, c := range rr.closers {
		_ = c()
	}
	rr.closers = nil
}

// prepareReplayLoad reads the recording, tries staging and the baseline
// with its first safe request, and builds the generator it feeds.
func (r *run) prepareReplayLoad(ctx context.Context, mix targets.Mix) (*load.Generator, error) {
	cfg := r.cfg
	rr, err := r.prepareReplay(mix)
	if err != nil {
		return nil, err
	}
	r.replay = rr
	if cfg.PreflightTimeout > 0 {
		if cfg.HealthURL != "" {
			r.logf("pre-flight: one request to %s, trying for up to %s", cfg.HealthURL, cfg.PreflightTimeout)
			if err := load.Preflight(ctx, []load.Target{{Name: cfg.HealthURL, Method: http.MethodGet, URL: cfg.HealthURL}}, cfg.Timeout, cfg.PreflightTimeout); err != nil {
				return nil, preflightError(ctx, "health-url", err)
			}
		}
		if rr.scan.Safe == nil {
			r.logf("pre-flight: the recording holds no GET, HEAD or OPTIONS request to try")
		} else {
			r.logf("pre-flight: the recording's first %s request, trying for up to %s", rr.scan.Safe.Method, cfg.PreflightTimeout)
			if err := rr.preflight(ctx, cfg); err != nil {
				return nil, err
			}
		}
	}
	return load.New(rr.targets(), rr.options(load.Options{
		Rate: cfg.Rate, RampUp: cfg.RampUp, Timeout: cfg.Timeout, FreshShare: cfg.FreshShare,
		MaxWorkers: cfg.MaxWorkers, KeepBody: keepBody(cfg),
	}))
}

// pace says how the load is paced, for the log: at the rate, or by the
// recorded timing, scaled.
func (r *run) pace() string {
	if rc := r.cfg.Replay; rc != nil && rc.Speed > 0 {
		return fmt.Sprintf("the recorded timing at %s (entries without a time at %s)", speedInput(rc.Speed), rateText(r.cfg.Rate))
	}
	return rateText(r.cfg.Rate)
}

// names are the load's target names: the endpoint patterns of a
// recording, or the targets'.
func (r *run) names() []string {
	if r.replay != nil {
		return r.replay.names
	}
	return r.cfg.Names()
}

// startComparisons starts comparing answers, when asked to.
func (r *run) startComparisons(ctx context.Context) *comparisons {
	if r.replay == nil || r.replay.compare == nil {
		return nil
	}
	r.replay.compare.start(ctx)
	return r.replay.compare
}

// reportReplay adds to the report what the replay sent and skipped, and,
// once the comparisons left have ended, what they found.
func (r *run) reportReplay(rep *report.Report, compared *comparisons) {
	if r.replay == nil {
		return
	}
	rep.Replay = r.replay.report()
	if compared != nil {
		rep.Compare = compared.stop(rep.Cancelled)
		if b := rep.Compare.Baseline; b != nil {
			r.logf("compare: %d of %d answers differed from the baseline's", b.Mismatched, b.Compared)
		}
	}
}

func (r *run) closeReplay() {
	if r.replay != nil {
		r.replay.close()
	}
}
