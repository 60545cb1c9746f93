// Package load holds open-model HTTP load on a set of targets: one vegeta
// attacker for the whole run, paced by a ramp-then-steady schedule, with
// every result handed to the caller as it arrives and the generator's own
// health (did it keep its schedule?) measured on the way.
package load

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Defaults for Options fields left zero.
const (
	// DefaultTimeout bounds one request, from send to the end of its body.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxWorkers caps concurrent requests. At 1,000 requests per
	// second it leaves room for 10 s of latency before the schedule slips.
	DefaultMaxWorkers = 10_000
	// LateAfter is how far behind its due time a request may leave before
	// it counts as late.
	LateAfter = 10 * time.Millisecond
	// MinHeld and MaxLagP99 bound a generator that can vouch for a deploy:
	// it sent at least MinHeld of its schedule, and 99% of its requests
	// left within MaxLagP99 of their due time.
	MinHeld   = 0.99
	MaxLagP99 = 100 * time.Millisecond
)

// Target is one request of the mix, already parsed and validated.
type Target struct {
	Name   string
	Method string
	URL    string // without a fragment: the generator uses it
	Header http.Header
	Body   []byte
	// Weight is the target's share of the mix against the others'; zero
	// counts as one.
	Weight int
	// Timeout, when set, bounds this target's requests below the
	// generator's timeout.
	Timeout time.Duration
	// Render, when set, builds each request in place of the fields above:
	// templates filled, signatures added. It is called from many
	// goroutines at once, right before the request is sent.
	Render func(t *vegeta.Target) error
}

// Options shape the load. Rate is required; zero values elsewhere take the
// package defaults.
type Options struct {
	Rate       vegeta.Rate
	RampUp     time.Duration
	Timeout    time.Duration
	MaxWorkers uint64
	// FreshShare is the fraction of requests sent on a new connection
	// each, without keep-alive, from 0 to 1: of every target's requests,
	// so that each endpoint gets its share.
	FreshShare float64
	// KeepBody is how many bytes of each answer's body to hand over with
	// its result; 0 drains bodies without keeping them.
	KeepBody int64
	// Shard and Shards, when Shards is above 1, make this generator hold
	// the Shard-th (from 1) of Shards equal shares of Rate (see Pacer).
	Shard, Shards int
	// Source, when set, hands out every request in place of the targets'
	// mix; the targets then only name what the requests count under. It
	// fills t and returns the index of the target the request counts
	// under and a tag, 0 for none. A tagged request's answer comes with
	// up to TagBody bytes of its body, and its tag comes back in its Hit.
	// Source is called from many goroutines at once, right before each
	// request is sent; a request it cannot give fails on its own, as a
	// build failure.
	Source func(t *vegeta.Target) (target int, tag uint64, err error)
	// TagBody is how many bytes of the body of an answer to a tagged
	// request come with its result.
	TagBody int64
	// Schedule, when set, paces the load instead of the ramp-then-steady
	// Pacer of Rate and RampUp (which Health still reports as asked).
	Schedule Schedule
}

// Schedule is a pacer that can say when each hit was due and how many
// were due by a moment, so the generator can tell whether it kept up.
type Schedule interface {
	vegeta.Pacer
	// DueAt returns when hit n (from zero) is due; ok is false when that
	// is not known.
	DueAt(n uint64) (due time.Duration, ok bool)
	// Planned returns how many hits are due by elapsed.
	Planned(elapsed time.Duration) uint64
}

var _ Schedule = Pacer{}

// Hit says what the generator knows of a result beyond vegeta's fields.
type Hit struct {
	Target        int  // index into the targets, -1 if unknown
	Fresh         bool // sent on a fresh connection
	SilentRetried bool // net/http retried it on a new connection after a reused one failed
	// Tag is the tag Options.Source gave the request; 0 for none.
	Tag uint64
}

// Generator sends the load. Run it once: vegeta's attacker cannot be
// restarted, and a new attacker would lose the warm connection pool.
type Generator struct {
	targets []Target
	// urls and fragments are each target's URL with its fragment, and
	// the fragment alone, by target index: [0] on a kept-alive
	// connection, [1] on a fresh one.
	urls      [2][]string
	fragments [2][]string
	mix       []int // target indexes in send order, weights interleaved
	// turn is, for each slot of the mix, how many slots of the same
	// target come before it in the cycle; perCycle is how many slots
	// each target has. Together they number each target's requests
	// without a counter of its own.
	turn, perCycle []uint64
	fresh          freshTurns
	sent           []atomic.Uint64 // requests handed out, by target, for a Source
	source         func(t *vegeta.Target) (int, uint64, error)
	rate           vegeta.Rate
	pacer          Schedule
	attacker       *vegeta.Attacker
	transport      *transport
	workers        uint64
	used           atomic.Bool

	buildErrors atomic.Uint64
	buildError  atomic.Pointer[buildError]
	aborting    atomic.Bool
}

// freshTurns decides which of each target's requests go on a fresh
// connection: the k-th request (from zero) of target i does when
// k·share + phase[i] passes a whole number, so every target gets its share
// of fresh connections, however many targets there are. A choice by the
// run's request number would not: with 10% and two targets, the tenth,
// twentieth, ... request would all go to the same one. The phases stagger
// the targets, so that their fresh requests do not all come together.
type freshTurns struct {
	share float64
	phase []float64 // by target index, in [0, 1)
}

func newFreshTurns(share float64, targets int) freshTurns {
	f := freshTurns{share: share, phase: make([]float64, targets)}
	for i := range f.phase {
		f.phase[i] = float64(i) / float64(targets)
	}
	return f
}

// at reports whether request k of target i goes on a fresh connection.
func (f *freshTurns) at(i int, k uint64) bool {
	switch {
	case f.share <= 0:
		return false
	case f.share >= 1:
		return true
	}
	phase := f.phase[i]
	return math.Floor(float64(k+1)*f.share+phase) > math.Floor(float64(k)*f.share+phase)
}

// connection is the index into Generator.urls and fragments for a request
// on a fresh connection or not.
func connection(fresh bool) int {
	if fresh {
		return 1
	}
	return 0
}

type buildError struct{ message string }

// New returns a generator for targets.
func New(targets []Target, opts Options) (*Generator, error) {
	if len(targets) == 0 {
		return nil, errors.New("load: no targets")
	}
	if opts.Rate.Freq <= 0 || opts.Rate.Per <= 0 {
		return nil, errors.New("load: rate must be positive")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxWorkers == 0 {
		opts.MaxWorkers = DefaultMaxWorkers
	}
	// The index of its target rides in each request's URL fragment,
	// which a client never sends: vegeta hands the URL back with the
	// result, so every result names its target, templated URLs included.
	var urls, fragments [2][]string
	for c := range urls {
		urls[c], fragments[c] = make([]string, len(targets)), make([]string, len(targets))
	}
	timeouts := make([]time.Duration, len(targets))
	for i, t := range targets {
		fragments[0][i] = "#" + strconv.Itoa(i)
		fragments[1][i] = "#" + freshMark + strconv.Itoa(i)
		urls[0][i], urls[1][i] = t.URL+fragments[0][i], t.URL+fragments[1][i]
		// Every request's timeout is enforced by the transport (see
		// transport.RoundTrip), never by http.Client.Timeout.
		timeouts[i] = cmp.Or(t.Timeout, opts.Timeout)
	}
	if opts.FreshShare < 0 || opts.FreshShare > 1 {
		return nil, errors.New("load: fresh connection share must be between 0 and 1")
	}
	if opts.KeepBody < 0 || opts.TagBody < 0 {
		return nil, errors.New("load: body sizes to keep must not be negative")
	}
	tr := newTransport(timeouts)
	maxBody := opts.KeepBody
	if opts.Source != nil && opts.TagBody > opts.KeepBody {
		// Answers to tagged requests keep more; the transport cuts the
		// others' bodies to KeepBody.
		maxBody, tr.untaggedBody = opts.TagBody, opts.KeepBody
	}
	steady := Pacer{Steady: opts.Rate, RampUp: opts.RampUp, Shard: opts.Shard, Shards: opts.Shards}
	var pacer Schedule = steady
	if opts.Schedule != nil {
		pacer = opts.Schedule
	}
	attacker := vegeta.NewAttacker(
		// The client goes first: vegeta's transport options would assume
		// their own *http.Transport.
		// No Client.Timeout: in front of a RoundTripper that is not
		// net/http's own, it costs a goroutine, a timer and two channels
		// per request (net/http's setRequestCancel).
		vegeta.Client(&http.Client{Transport: tr}),
		vegeta.MaxWorkers(opts.MaxWorkers),
		// Bodies are drained and, beyond KeepBody, not kept: a result
		// lives only until it is counted.
		vegeta.MaxBody(maxBody),
	)
	mix := interleave(targets)
	turn, perCycle := make([]uint64, len(mix)), make([]uint64, len(targets))
	for slot, i := range mix {
		turn[slot] = perCycle[i]
		perCycle[i]++
	}
	return &Generator{
		targets:   targets,
		urls:      urls,
		fragments: fragments,
		mix:       mix,
		turn:      turn,
		perCycle:  perCycle,
		fresh:     newFreshTurns(opts.FreshShare, len(targets)),
		sent:      make([]atomic.Uint64, len(targets)),
		source:    opts.Source,
		rate:      steady.ShareRate(),
		pacer:     pacer,
		attacker:  attacker,
		transport: tr,
		workers:   opts.MaxWorkers,
	}, nil
}

// Health says whether the generator kept its schedule. A generator that
// fell behind under-reports disruption, so the report must show this.
type Health struct {
	Rate    vegeta.Rate   // asked for
	Elapsed time.Duration // from the start of the schedule to the stop
	Planned uint64        // requests the schedule asked for before the stop
	Sent    uint64        // requests actually sent
	Late    uint64        // sent more than LateAfter behind their due time
	LagP50  time.Duration // how far behind schedule requests left
	LagP99  time.Duration
	LagMax  time.Duration
	Workers uint64 // the worker cap
	// Complete is false if Run ended before its context was done or its
	// schedule's length was over: the schedule ran out.
	Complete bool
	// SilentRetries counts requests net/http sent again on a new
	// connection because a reused one had been closed by the server.
	SilentRetries uint64
	// BuildErrors counts requests that could not be built (a template or
	// a signature failed); BuildError is the first one's message.
	BuildErrors uint64
	BuildError  string
}

// Reliable reports whether the generator can vouch for what it measured:
// every request could be built, and it kept its schedule.
func (h Health) Reliable() bool {
	return h.BuildErrors == 0 && !h.FellBehind()
}

// FellBehind reports whether the generator did not keep its schedule: it
// sent under MinHeld of it, or 1% of its requests left more than MaxLagP99
// late. Such a run sends fewer requests into an outage than real clients
// would, and under-reports it.
func (h Health) FellBehind() bool {
	return h.Held() < MinHeld || h.LagP99 > MaxLagP99
}

// Problem says why the generator cannot vouch for what it measured, in
// words; "" when it can.
func (h Health) Problem() string {
	var problems []string
	if h.BuildErrors > 0 {
		problems = append(problems, fmt.Sprintf("%d requests could not be built and were counted as failures (the first: %s)", h.BuildErrors, h.BuildError))
	}
	if h.Held() < MinHeld {
		problems = append(problems, fmt.Sprintf("it sent %d of the %d requests its schedule asked for", h.Sent, h.Planned))
	}
	if h.LagP99 > MaxLagP99 {
		problems = append(problems, fmt.Sprintf("1%% of its requests left more than %s late (the limit is %s)", lagText(h.LagP99), lagText(MaxLagP99)))
	}
	return strings.Join(problems, "; ")
}

// lagText writes a lag as the job summary writes a latency: 0.40 ms,
// 100.0 ms, 2.00 s.
func lagText(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
	case ms < 1:
		return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
}

// Unsent is how many scheduled requests were never sent.
func (h Health) Unsent() uint64 {
	if h.Sent >= h.Planned {
		return 0
	}
	return h.Planned - h.Sent
}

// AchievedRate is the mean rate actually sent, per second.
func (h Health) AchievedRate() float64 {
	if h.Elapsed <= 0 {
		return 0
	}
	return float64(h.Sent) / h.Elapsed.Seconds()
}

// Held is the fraction of the scheduled requests that were sent.
func (h Health) Held() float64 {
	if h.Planned == 0 {
		return 1
	}
	return min(1, float64(h.Sent)/float64(h.Planned))
}

// Abort ends the requests in flight now rather than waiting for them, for a
// run that was cancelled: Run then returns at once, without the results of
// the aborted requests. Call it before or while Run's context ends.
func (g *Generator) Abort() {
	g.aborting.Store(true)
	g.attacker.Stop()
	g.transport.abort()
}

// Run sends load until ctx is done, on a schedule that counts from the
// call (see RunFrom).
func (g *Generator) Run(ctx context.Context, record func(res *vegeta.Result, hit Hit)) Health {
	return g.RunFrom(ctx, time.Now(), 0, record)
}

// RunFrom sends load until ctx is done and hands each result to record,
// from a single goroutine, with what is known of how it was sent.
//
// The schedule counts from start, the moment the caller's timeline begins
// (at or just before the call): hit 0 is due at start. When length is
// above zero, the load is the hits due in [start, start+length) and
// nothing after, as vegeta's attack of that -duration: 2 s at 50/s is 100
// requests, not 101 with one at the very end. In any case no hit due at or
// after the moment ctx ends is sent.
//
// Requests in flight when the load ends are awaited, so RunFrom returns at
// most one request timeout after ctx is done or the schedule's length is
// over, whichever comes first.
func (g *Generator) RunFrom(ctx context.Context, start time.Time, length time.Duration, record func(res *vegeta.Result, hit Hit)) Health {
	health := Health{Rate: g.rate, Workers: g.workers}
	if g.used.Swap(true) {
		return health
	}
	lag := hdrhistogram.New(1, time.Hour.Microseconds(), 3)

	pacer := &runPacer{
		schedule: g.pacer, length: length, done: ctx.Done(), aborted: g.transport.aborted.Done(),
		timer: time.NewTimer(time.Hour),
	}
	pacer.timer.Stop()
	var stoppedAfter atomic.Int64
	// The one place where the attack learns about ctx.
	release := context.AfterFunc(ctx, func() {
		stoppedAfter.Store(int64(max(1, time.Since(start))))
		g.attacker.Stop()
	})
	defer release()
	// vegeta counts its elapsed time from the moment it begins, a moment
	// after this one: the pacer adds the time since start to it.
	pacer.offset = time.Since(start)
	results := g.attacker.Attack(g.targeter(pacer.done, pacer.aborted), pacer, 0, "")

	for res := range results {
		if g.aborting.Load() && res.Code == 0 && strings.Contains(res.Error, "context canceled") {
			continue // cut short by Abort: no answer was due yet
		}
		if res.Error == errStopped.Error() {
			continue // a tick after the stop: never sent
		}
		health.Sent++
		target, tag, fresh := detach(res)
		if g.unbuilt(res) {
			// It never left this process: no answer of staging's to
			// record. Health tells that requests could not be built.
			continue
		}
		due, _ := g.pacer.DueAt(res.Seq)
		behind := max(0, res.Timestamp.Sub(start)-due)
		if behind > LateAfter {
			health.Late++
		}
		_ = lag.RecordValue(min(behind.Microseconds(), lag.HighestTrackableValue()))
		record(res, Hit{
			Target:        target,
			Fresh:         fresh,
			SilentRetried: g.transport.wasRetried(res.Seq),
			Tag:           tag,
		})
	}
	g.transport.closeIdle()

	elapsed := time.Duration(stoppedAfter.Load())
	ended := pacer.ended.Load()
	switch {
	case ended && (elapsed == 0 || elapsed > length):
		elapsed = length
	case elapsed == 0:
		elapsed = time.Since(start)
	}
	health.Complete = stoppedAfter.Load() > 0 || ended || g.aborting.Load()
	health.Elapsed = elapsed
	health.Planned = planned(g.pacer, elapsed)
	health.LagP50 = time.Duration(lag.ValueAtQuantile(50)) * time.Microsecond
	health.LagP99 = time.Duration(lag.ValueAtQuantile(99)) * time.Microsecond
	health.LagMax = time.Duration(lag.Max()) * time.Microsecond
	health.SilentRetries = g.transport.retries.Load()
	health.BuildErrors = g.buildErrors.Load()
	if e := g.buildError.Load(); e != nil {
		health.BuildError = e.message
	}
	return health
}

// planned is how many hits of s are due before elapsed: those a run
// stopped then sends. A Schedule may count a hit due at elapsed itself;
// that one was not sent.
func planned(s Schedule, elapsed time.Duration) uint64 {
	n := s.Planned(elapsed)
	for n > 0 {
		if due, ok := s.DueAt(n - 1); ok && due < elapsed {
			break
		}
		n--
	}
	return n
}

// runPacer paces one run. It waits for each hit's due time itself, rather
// than have vegeta sleep, so that a stop ends the wait at once, and it hands
// out no hit due at or after the end of the schedule, or due after the
// stop: the hit due at the very moment a run of 2 s ends is not sent.
type runPacer struct {
	schedule Schedule
	offset   time.Duration // from the run's start to vegeta's
	length   time.Duration // of the schedule; 0 for no end
	done     <-chan struct{}
	aborted  <-chan struct{}
	timer    *time.Timer // vegeta calls Pace from one goroutine
	ended    atomic.Bool // the schedule reached its length
}

var _ vegeta.Pacer = (*runPacer)(nil)

func (p *runPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	due, ok := p.schedule.DueAt(hits)
	if !ok {
		return 0, true
	}
	if p.length > 0 && due >= p.length {
		p.ended.Store(true)
		return 0, true
	}
	if wait := due - (elapsed + p.offset); wait > 0 {
		p.timer.Reset(wait)
		select {
		case <-p.timer.C:
		case <-p.done:
			p.timer.Stop()
			return 0, true
		case <-p.aborted:
			p.timer.Stop()
			return 0, true
		}
	}
	select {
	case <-p.done:
		return 0, true
	case <-p.aborted:
		return 0, true
	default:
		return 0, false
	}
}

func (p *runPacer) Rate(elapsed time.Duration) float64 {
	return p.schedule.Rate(elapsed + p.offset)
}

// errStopped is what the targeter answers a tick that vegeta hands out
// after the stop: vegeta then sends nothing for it.
var errStopped = errors.New("load: stopped")

// targeter hands out the requests; once done or aborted is closed, it
// hands out none: a tick vegeta was about to send when the run stopped is
// never sent.
func (g *Generator) targeter(done, aborted <-chan struct{}) vegeta.Targeter {
	next := g.requests()
	return func(t *vegeta.Target) error {
		select {
		case <-done:
			return errStopped
		case <-aborted:
			return errStopped
		default:
		}
		return next(t)
	}
}

// requests builds each request of the mix, or takes it from the source.
func (g *Generator) requests() vegeta.Targeter {
	if g.source != nil {
		return g.sourceTargeter()
	}
	var next atomic.Uint64
	cycle := uint64(len(g.mix))
	return func(t *vegeta.Target) error {
		n := next.Add(1) - 1
		slot := n % cycle
		i := g.mix[slot]
		c := connection(g.fresh.at(i, n/cycle*g.perCycle[i]+g.turn[slot]))
		target := &g.targets[i]
		if target.Render == nil {
			t.Method, t.URL, t.Header, t.Body = target.Method, g.urls[c][i], target.Header, target.Body
			return nil
		}
		if err := target.Render(t); err != nil {
			// An error here would stop vegeta's whole attack. The request
			// fails on its own instead, counted as a build failure.
			g.buildErrors.Add(1)
			g.buildError.CompareAndSwap(nil, &buildError{fmt.Sprintf("target %q: %v", target.Name, err)})
			t.Method, t.URL, t.Header, t.Body = buildFailed, g.urls[0][i], nil, nil
			return nil
		}
		t.URL += g.fragments[c][i]
		return nil
	}
}

// sourceTargeter sends the requests Options.Source hands out. A tag rides
// in the URL fragment after the target index: #3.17, or #f3.17 on a fresh
// connection.
func (g *Generator) sourceTargeter() vegeta.Targeter {
	return func(t *vegeta.Target) error {
		i, tag, err := g.source(t)
		if err == nil && (i < 0 || i >= len(g.targets)) {
			err = fmt.Errorf("the request counts under target %d of %d", i, len(g.targets))
		}
		if err != nil {
			g.buildErrors.Add(1)
			g.buildError.CompareAndSwap(nil, &buildError{err.Error()})
			t.Method, t.URL, t.Header, t.Body = buildFailed, g.urls[0][0], nil, nil
			return nil
		}
		t.URL += g.fragments[connection(g.fresh.at(i, g.sent[i].Add(1)-1))][i]
		if tag != 0 {
			t.URL += "." + strconv.FormatUint(tag, 10)
		}
		return nil
	}
}

// buildFailed is the method of a request the targeter could not build.
const buildFailed = "BUILD FAILED"

// unbuilt reports whether res is of a request that never left this
// process: one the targeter could not build, or one net/http refused to
// send (a header value a template filled with a control character).
// Those refused by net/http are counted with the build errors here.
func (g *Generator) unbuilt(res *vegeta.Result) bool {
	if res.Method == buildFailed {
		return true
	}
	if res.Code != 0 || !strings.Contains(res.Error, "net/http: invalid header field") {
		return false
	}
	g.buildErrors.Add(1)
	g.buildError.CompareAndSwap(nil, &buildError{res.Error})
	return true
}

// freshMark starts the fragment of a request sent on a fresh connection:
// #f3 rather than #3.
const freshMark = "f"

// detach takes the target index, the tag and the connection out of a
// result's URL and error text, returning them; the index is -1 when it is
// not there.
func detach(res *vegeta.Result) (target int, tag uint64, fresh bool) {
	hash := strings.LastIndexByte(res.URL, '#')
	if hash < 0 {
		return -1, 0, false
	}
	i, tag, fresh, ok := parseFragment(res.URL[hash+1:])
	if !ok {
		return -1, 0, false
	}
	fragment := res.URL[hash:]
	res.URL = res.URL[:hash]
	if res.Error != "" {
		res.Error = strings.Replace(res.Error, fragment+`"`, `"`, 1)
	}
	return i, tag, fresh
}

// parseFragment reads the fragment the generator puts on its URLs: the
// fresh mark when the request goes on a fresh connection, the target
// index, then a tag after a dot when there is one: 3, f3, 3.17, f3.17.
func parseFragment(fragment string) (target int, tag uint64, fresh, ok bool) {
	fragment, fresh = strings.CutPrefix(fragment, freshMark)
	index, tagText, tagged := strings.Cut(fragment, ".")
	i, err := strconv.Atoi(index)
	if err != nil {
		return -1, 0, false, false
	}
	if tagged {
		if tag, err = strconv.ParseUint(tagText, 10, 64); err != nil {
			return -1, 0, false, false
		}
	}
	return i, tag, fresh, true
}

// interleave spreads the targets over a cycle in proportion to their
// weights, each as evenly as it can (smooth weighted round robin), so a
// 60/30/10 mix holds in every second, not only over the run.
func interleave(targets []Target) []int {
	weights := make([]int, len(targets))
	total := 0
	for i, t := range targets {
		weights[i] = max(1, t.Weight)
		total += weights[i]
	}
	// A cycle of at most maxCycle requests keeps the table small; weights
	// are scaled down to fit, each keeping at least one slot.
	const maxCycle = 10_000
	if total > maxCycle {
		scaled := 0
		for i := range weights {
			weights[i] = max(1, weights[i]*maxCycle/total)
			scaled += weights[i]
		}
		total = scaled
	}
	current := make([]int, len(weights))
	mix := make([]int, 0, total)
	for range total {
		best := 0
		for i, w := range weights {
			current[i] += w
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		mix = append(mix, best)
	}
	return mix
}
