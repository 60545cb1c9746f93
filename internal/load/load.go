// Package load holds open-model HTTP load on a set of targets: one vegeta
// attacker for the whole run, paced by a ramp-then-steady schedule, with
// every result handed to the caller as it arrives and the generator's own
// health (did it keep its schedule?) measured on the way.
package load

import (
	"context"
	"errors"
	"net/http"
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
	URL    string
	Header http.Header
	Body   []byte
}

// Options shape the load. Rate is required; zero values elsewhere take the
// package defaults.
type Options struct {
	Rate       vegeta.Rate
	RampUp     time.Duration
	Timeout    time.Duration
	MaxWorkers uint64
	// FreshShare is the fraction of requests sent on a new connection
	// each, without keep-alive, from 0 to 1.
	FreshShare float64
}

// Hit says what the generator knows of a result beyond vegeta's fields.
type Hit struct {
	Target        int  // index into the targets, -1 if unknown
	Fresh         bool // sent on a fresh connection
	SilentRetried bool // net/http retried it on a new connection after a reused one failed
}

// Generator sends the load. Run it once: vegeta's attacker cannot be
// restarted, and a new attacker would lose the warm connection pool.
type Generator struct {
	targets   []Target
	index     map[string]int
	pacer     Pacer
	attacker  *vegeta.Attacker
	transport *transport
	workers   uint64
	used      atomic.Bool
}

// New returns a generator for targets. Each target must have a distinct
// method and URL: results are attributed to targets by that pair.
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
	index := make(map[string]int, len(targets))
	for i, t := range targets {
		index[targetKey(t.Method, t.URL)] = i
	}
	if opts.FreshShare < 0 || opts.FreshShare > 1 {
		return nil, errors.New("load: fresh connection share must be between 0 and 1")
	}
	tr := newTransport(opts.FreshShare)
	attacker := vegeta.NewAttacker(
		// The client goes first: vegeta's transport options would assume
		// their own *http.Transport.
		vegeta.Client(&http.Client{Timeout: opts.Timeout, Transport: tr}),
		vegeta.MaxWorkers(opts.MaxWorkers),
		// Bodies are drained but not kept: a long run must not hold them.
		vegeta.MaxBody(0),
	)
	return &Generator{
		targets:   targets,
		index:     index,
		pacer:     Pacer{Steady: opts.Rate, RampUp: opts.RampUp},
		attacker:  attacker,
		transport: tr,
		workers:   opts.MaxWorkers,
	}, nil
}

// Health says whether the generator kept its schedule. A generator that
// fell behind under-reports disruption, so the report must show this.
type Health struct {
	Rate     vegeta.Rate   // asked for
	Elapsed  time.Duration // from the first scheduled moment to the stop
	Planned  uint64        // requests the schedule asked for by the stop
	Sent     uint64        // requests actually sent
	Late     uint64        // sent more than LateAfter behind their due time
	LagP50   time.Duration // how far behind schedule requests left
	LagP99   time.Duration
	LagMax   time.Duration
	Workers  uint64 // the worker cap
	Complete bool   // false if Run ended before its context was done
	// SilentRetries counts requests net/http sent again on a new
	// connection because a reused one had been closed by the server.
	SilentRetries uint64
}

// Reliable reports whether the generator kept its schedule well enough to
// vouch for what it measured.
func (h Health) Reliable() bool {
	return h.Held() >= MinHeld && h.LagP99 <= MaxLagP99
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

// Run sends load until ctx is done and hands each result to record, from a
// single goroutine, with what is known of how it was sent.
// Requests in flight when ctx ends are awaited, so Run returns at most one
// request timeout after ctx is done.
func (g *Generator) Run(ctx context.Context, record func(res *vegeta.Result, hit Hit)) Health {
	health := Health{Rate: g.pacer.Steady, Workers: g.workers}
	if g.used.Swap(true) {
		return health
	}
	lag := hdrhistogram.New(1, time.Hour.Microseconds(), 3)

	began := time.Now()
	var stoppedAfter atomic.Int64
	results := g.attacker.Attack(g.targeter(), g.pacer, 0, "")
	// The one place where the attack learns about ctx.
	release := context.AfterFunc(ctx, func() {
		stoppedAfter.Store(int64(time.Since(began)))
		g.attacker.Stop()
	})
	defer release()

	for res := range results {
		health.Sent++
		due, _ := g.pacer.DueAt(res.Seq)
		behind := max(0, res.Timestamp.Sub(began)-due)
		if behind > LateAfter {
			health.Late++
		}
		_ = lag.RecordValue(min(behind.Microseconds(), lag.HighestTrackableValue()))
		record(res, Hit{
			Target:        g.targetOf(res),
			Fresh:         g.transport.isFresh(res.Seq),
			SilentRetried: g.transport.wasRetried(res.Seq),
		})
	}
	g.transport.closeIdle()

	elapsed := time.Duration(stoppedAfter.Load())
	health.Complete = elapsed > 0
	if !health.Complete {
		elapsed = time.Since(began)
	}
	health.Elapsed = elapsed
	health.Planned = g.pacer.Planned(elapsed)
	health.LagP50 = time.Duration(lag.ValueAtQuantile(50)) * time.Microsecond
	health.LagP99 = time.Duration(lag.ValueAtQuantile(99)) * time.Microsecond
	health.LagMax = time.Duration(lag.Max()) * time.Microsecond
	health.SilentRetries = g.transport.retries.Load()
	return health
}

// targeter cycles through the targets in order, so every target gets its
// share of each second.
func (g *Generator) targeter() vegeta.Targeter {
	var next atomic.Uint64
	return func(t *vegeta.Target) error {
		target := &g.targets[(next.Add(1)-1)%uint64(len(g.targets))]
		t.Method, t.URL, t.Header, t.Body = target.Method, target.URL, target.Header, target.Body
		return nil
	}
}

func (g *Generator) targetOf(res *vegeta.Result) int {
	if i, ok := g.index[targetKey(res.Method, res.URL)]; ok {
		return i
	}
	return -1
}

func targetKey(method, url string) string { return method + " " + url }
