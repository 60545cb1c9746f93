package check

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/compare"
	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/redact"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
	"github.com/zerodowntime/deploy-load-check/internal/targets/replay"
)

// Bounds of the comparisons, which run beside the load and must neither
// slow it nor grow with the run.
const (
	// compareWorkers ask the baseline and compare, each one request at a
	// time; compareQueue sampled answers may wait for them. An answer
	// that finds the queue full is not compared, and counted.
	compareWorkers = 4
	compareQueue   = 64
	// keptPerPattern old-version answers of at most keptBody bytes are
	// kept per endpoint, to compare the new version's answers to the same
	// requests with.
	keptPerPattern = 4
	keptBody       = 64 << 10
	// drainGrace is how long, beyond two request timeouts, the comparisons
	// left when the load stops may take.
	drainGrace = 5 * time.Second
)

// comparisons compares the answers to a sample of the replayed requests:
// with the baseline's answers to the same requests, sent twice to learn
// the noise (Diffy's primary, secondary and candidate), and, across the
// cut-over, the new version's with the old version's. None of this
// traffic goes through the load generator, so none of it is counted in
// the load's figures or judged as downtime.
type comparisons struct {
	cfg      *config.Compare
	comparer *compare.Comparer
	client   *http.Client
	timeout  time.Duration
	decorate func(*vegeta.Target) error
	masker   *redact.Masker
	versions stats.Options // how a version is read, when the cut-over is compared
	// stagingPrefix is how every replayed URL starts; baselinePrefix
	// replaces it for the baseline ("" without one).
	stagingPrefix, baselinePrefix string

	picked  atomic.Uint64 // requests offered for sampling
	lastTag atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]sampled // by tag, until the load's answer comes

	ctx    context.Context
	cancel context.CancelFunc
	jobs   chan job
	wg     sync.WaitGroup

	baseline       compare.Tally
	baselineFailed atomic.Uint64
	baselineError  atomic.Pointer[string]
	unanswered     atomic.Uint64
	skipped        atomic.Uint64

	cut *cutOver // nil unless versions are told apart
}

// sampled is a replayed request whose answer will be compared.
type sampled struct {
	pattern string
	req     replay.Request // as recorded: method, URL, kept headers, body
	key     string         // the request's identity across versions; "" without the cut-over
}

// job is a sampled request with staging's answer.
type job struct {
	sampled
	answer  compare.Answer
	version string
}

func newComparisons(cfg *config.Config, decorate func(*vegeta.Target) error) *comparisons {
	cc := cfg.Compare
	masker := redact.NewMasker(cfg.Secrets...)
	opts := []compare.Option{compare.WithIgnore(cc.Ignore), compare.WithMasker(masker)}
	base := cfg.Replay.BaseURL
	c := &comparisons{
		cfg:           cc,
		timeout:       cfg.Timeout,
		decorate:      decorate,
		masker:        masker,
		stagingPrefix: prefix(base.Scheme, base.Host, base.EscapedPath()),
		pending:       make(map[uint64]sampled),
		jobs:          make(chan job, compareQueue),
	}
	if b := cc.BaselineURL; b != nil {
		c.baselinePrefix = prefix(b.Scheme, b.Host, b.EscapedPath())
		opts = append(opts, compare.WithOrigins(b.String(), base.String()))
		dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		c.client = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         dialer.DialContext,
			MaxIdleConnsPerHost: compareWorkers,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	if cc.CutOver {
		c.cut = &cutOver{kept: make(map[string]map[string]compare.Answer)}
		c.versions = stats.Options{VersionHeader: cfg.VersionHeader, VersionField: cfg.VersionField}
	}
	c.comparer = compare.New(opts...)
	return c
}

// prefix is how a URL on a base starts, as package replay builds them.
func prefix(scheme, host, path string) string {
	return scheme + "://" + host + strings.TrimSuffix(path, "/")
}

// start starts the workers; they stop when stop is called, or ctx ends.
func (c *comparisons) start(ctx context.Context) {
	c.ctx, c.cancel = context.WithCancel(ctx)
	for range compareWorkers {
		c.wg.Go(c.work)
	}
}

// pick decides whether the answer to req is compared: a share of the
// requests spread evenly, and, across the cut-over, every request whose
// old answer is kept. It returns the tag of a picked request, 0 otherwise.
// It is called for every request of the load, from many goroutines.
func (c *comparisons) pick(pattern string, req *replay.Request) uint64 {
	n := c.picked.Add(1) - 1
	chosen := spread(n, c.cfg.Sample)
	var key string
	if c.cut != nil {
		key = requestKey(req)
		chosen = chosen || c.cut.wanted(pattern, key)
	}
	if !chosen {
		return 0
	}
	tag := c.lastTag.Add(1)
	c.mu.Lock()
	c.pending[tag] = sampled{pattern: pattern, req: *req, key: key}
	c.mu.Unlock()
	return tag
}

// spread picks share of the numbers 0, 1, 2, ... evenly, half a period
// away from the load's own choice of fresh connections.
func spread(n uint64, share float64) bool {
	return uint64(float64(n+1)*share+0.5) > uint64(float64(n)*share+0.5)
}

// requestKey tells requests apart: method, URL and body.
func requestKey(req *replay.Request) string {
	if len(req.Body) == 0 {
		return req.Method + " " + req.URL
	}
	sum := sha256.Sum256(req.Body)
	return req.Method + " " + req.URL + " " + hex.EncodeToString(sum[:8])
}

// answered takes staging's answer to a picked request, from the load's
// results. It never blocks: an answer the workers have no room for is
// counted, not compared.
func (c *comparisons) answered(res *vegeta.Result, tag uint64) {
	c.mu.Lock()
	s, ok := c.pending[tag]
	delete(c.pending, tag)
	c.mu.Unlock()
	if !ok {
		return
	}
	if res.Code == 0 {
		c.unanswered.Add(1)
		return
	}
	j := job{sampled: s, answer: compare.Answer{Status: int(res.Code), Header: res.Headers, Body: res.Body}}
	if len(j.answer.Body) > compare.DefaultMaxBody {
		j.answer.Body, j.answer.Truncated = j.answer.Body[:compare.DefaultMaxBody], true
	}
	if c.cut != nil {
		j.version = stats.VersionOf(res, c.versions)
	}
	select {
	case c.jobs <- j:
	default:
		c.skipped.Add(1)
	}
}

func (c *comparisons) work() {
	for j := range c.jobs {
		if c.ctx.Err() != nil {
			c.skipped.Add(1)
			continue
		}
		if c.baselinePrefix != "" {
			c.withBaseline(j)
		}
		if c.cut != nil && j.version != "" {
			c.cut.add(c.comparer, j)
		}
	}
}

// withBaseline asks the baseline twice and compares.
func (c *comparisons) withBaseline(j job) {
	first, err := c.ask(j)
	var second compare.Answer
	if err == nil {
		second, err = c.ask(j)
	}
	switch {
	case err != nil && c.ctx.Err() != nil:
		c.skipped.Add(1)
	case err != nil:
		c.baselineFailed.Add(1)
		msg := c.masker.Inline(err.Error())
		c.baselineError.CompareAndSwap(nil, &msg)
	default:
		c.baseline.Add(j.pattern, c.comparer.Check(j.pattern, first, second, j.answer))
	}
}

// ask sends the request to the baseline, as the load sent it to staging.
func (c *comparisons) ask(j job) (compare.Answer, error) {
	t := vegeta.Target{Method: j.req.Method, URL: c.baselineURL(j.req.URL), Header: j.req.Header.Clone(), Body: j.req.Body}
	if t.Header == nil {
		t.Header = http.Header{}
	}
	if c.decorate != nil {
		if err := c.decorate(&t); err != nil {
			return compare.Answer{}, err
		}
	}
	req, err := t.Request()
	if err != nil {
		return compare.Answer{}, err
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	defer cancel()
	resp, err := c.client.Do(req.WithContext(ctx))
	if err != nil {
		return compare.Answer{}, err
	}
	return compare.Read(resp, compare.DefaultMaxBody)
}

func (c *comparisons) baselineURL(stagingURL string) string {
	return c.baselinePrefix + strings.TrimPrefix(stagingURL, c.stagingPrefix)
}

// stop lets the workers finish the answers queued, for at most two
// request timeouts and a grace, or none when the run was cancelled, and
// returns what they found.
func (c *comparisons) stop(cancelled bool) *report.Compare {
	close(c.jobs)
	done := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(done)
	}()
	if cancelled {
		c.cancel()
	}
	timer := time.NewTimer(2*c.timeout + drainGrace)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		c.cancel()
		<-done
	}
	c.cancel()
	if c.client != nil {
		c.client.CloseIdleConnections()
	}
	out := &report.Compare{Sample: c.cfg.Sample, Judged: c.cfg.Judged, MaxMismatchRate: c.cfg.MaxMismatchRate,
		BaselineFailed: c.baselineFailed.Load(), Unanswered: c.unanswered.Load(), Skipped: c.skipped.Load()}
	if b := c.cfg.BaselineURL; b != nil {
		out.BaselineURL = b.Redacted()
		s := c.baseline.Summary()
		out.Baseline = &s
		if e := c.baselineError.Load(); e != nil {
			out.BaselineError = *e
		}
	}
	if c.cut != nil {
		out.CutOver = c.cut.report()
	}
	return out
}

// cutOver keeps a few answers of the old version, the first that answered,
// and compares the new version's answers to the same requests with them.
// Two answers of the old version to the same request teach the noise.
type cutOver struct {
	mu     sync.Mutex
	old    string
	newer  string
	kept   map[string]map[string]compare.Answer // pattern, then request key
	nkept  int
	answer compare.Tally
}

// wanted reports whether an old answer to the request is kept.
func (k *cutOver) wanted(pattern, key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.kept[pattern][key]
	return ok
}

func (k *cutOver) add(c *compare.Comparer, j job) {
	k.mu.Lock()
	if k.old == "" {
		k.old = j.version
	}
	prev, ok := k.kept[j.pattern][j.key]
	if j.version != k.old {
		if k.newer == "" {
			k.newer = j.version
		}
		k.mu.Unlock()
		if ok {
			k.answer.Add(j.pattern, c.Compare(j.pattern, prev, j.answer))
		}
		return
	}
	switch {
	case ok:
		k.kept[j.pattern][j.key] = j.answer
	case len(j.answer.Body) <= keptBody && !j.answer.Truncated && len(k.kept[j.pattern]) < keptPerPattern:
		if k.kept[j.pattern] == nil {
			k.kept[j.pattern] = make(map[string]compare.Answer, keptPerPattern)
		}
		k.kept[j.pattern][j.key] = j.answer
		k.nkept++
	}
	k.mu.Unlock()
	if ok {
		c.Learn(j.pattern, prev, j.answer)
	}
}

func (k *cutOver) report() *report.CutOver {
	k.mu.Lock()
	defer k.mu.Unlock()
	return &report.CutOver{Old: k.old, New: k.newer, Kept: k.nkept, KeptPerEndpoint: keptPerPattern, Summary: k.answer.Summary()}
}
