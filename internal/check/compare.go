package check

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
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
	secrets  []string      // the secret inputs' values, which the masker hides
	versions stats.Options // how a version is read, when the cut-over is compared
	// stagingPrefix is how every replayed URL starts; baselinePrefix
	// replaces it for the baseline ("" without one).
	stagingPrefix, baselinePrefix string

	// names are the load's targets, endpoint patterns; patterns holds
	// the sampling of each, by the same index.
	names    []string
	patterns []patternSample
	lastTag  atomic.Uint64

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

// patternSample is how the requests of one endpoint pattern are sampled.
type patternSample struct {
	offered atomic.Uint64 // requests of the pattern offered for sampling
	// inFlight counts the pattern's requests on their way to the
	// baseline; compared is set once one of its answers was compared
	// with the baseline's, crossed once one was compared across the
	// cut-over.
	inFlight atomic.Int64
	compared atomic.Bool
	crossed  atomic.Bool
}

// sampled is a replayed request whose answer will be compared.
type sampled struct {
	target  int // the load's target: the index of the endpoint pattern
	pattern string
	req     replay.Request // as recorded: method, URL, kept headers, body
	key     string         // the request's identity across versions; "" without the cut-over
}

// job is a sampled request with staging's answer.
type job struct {
	sampled
	answer compare.Answer
	// version is the version of the server that answered: the one the
	// answer carries (carried), or else the latest one staging showed;
	// "" when none was shown yet.
	version string
	carried bool
}

func newComparisons(cfg *config.Config, names []string, decorate func(*vegeta.Target) error) *comparisons {
	cc := cfg.Compare
	masker := redact.NewMasker(cfg.Secrets...)
	opts := []compare.Option{compare.WithHeaders(cc.Headers...), compare.WithIgnore(cc.Ignore), compare.WithMasker(masker)}
	// The version differs by design between the baseline and staging,
	// and across the cut-over: it is what tells them apart.
	if cfg.VersionHeader != "" {
		opts = append(opts, compare.WithIgnore(compare.IgnoreHeader(cfg.VersionHeader).From("version-header")))
	}
	if cfg.VersionField != "" {
		opts = append(opts, compare.WithIgnore(compare.IgnoreField(cfg.VersionField).From("version-field")))
	}
	base := cfg.Replay.BaseURL
	c := &comparisons{
		cfg:           cc,
		timeout:       cfg.Timeout,
		decorate:      decorate,
		masker:        masker,
		secrets:       cfg.Secrets,
		stagingPrefix: prefix(base.Scheme, base.Host, base.EscapedPath()),
		names:         names,
		patterns:      make([]patternSample, len(names)),
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
		c.cut = &cutOver{kept: make(map[string]map[string]kept)}
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

// pick decides whether the answer to req, a request of the endpoint
// pattern at target, is compared, and returns its tag, or 0. Each pattern
// is sampled on its own, so each gets its share however the recording
// mixes them: its first request, a share of the rest drawn at random
// (see inShare), and, with a baseline, every request while none of the
// pattern's answers was compared and none is on its way. Across the
// cut-over, every request whose old answer is kept is picked too. It is
// called for every request of the load, from many goroutines.
func (c *comparisons) pick(target int, pattern string, req *replay.Request) uint64 {
	p := &c.patterns[target]
	n := p.offered.Add(1) - 1
	chosen := n == 0 || inShare(target, n, c.cfg.Sample)
	if c.baselinePrefix != "" && !p.compared.Load() && p.inFlight.Load() == 0 {
		chosen = true
	}
	var key string
	if c.cut != nil {
		key = requestKey(req)
		chosen = chosen || c.cut.wanted(pattern, key)
	}
	if !chosen {
		return 0
	}
	if c.baselinePrefix != "" {
		p.inFlight.Add(1)
	}
	tag := c.lastTag.Add(1)
	c.mu.Lock()
	c.pending[tag] = sampled{target: target, pattern: pattern, req: *req, key: key}
	c.mu.Unlock()
	return tag
}

// inShare draws whether the n-th request (from 0) of the pattern at
// target is in the sample: true for a share of them, at random, with the
// same draw for the same n on every run. A draw rather than every k-th
// request: a recording that repeats with a period sharing a factor with k
// would have the same requests compared on every pass, and the others
// never.
func inShare(target int, n uint64, share float64) bool {
	if share >= 1 {
		return true
	}
	draw := rand.NewPCG(uint64(target), n).Uint64()
	return float64(draw>>11)*0x1p-53 < share
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
		c.landed(s)
		return
	}
	j := job{sampled: s, answer: compare.Answer{Status: int(res.Code), Header: res.Headers, Body: res.Body}}
	if len(j.answer.Body) > compare.DefaultMaxBody {
		j.answer.Body, j.answer.Truncated = j.answer.Body[:compare.DefaultMaxBody], true
	}
	if c.cut != nil {
		// Read here, in the order the answers come, so that an answer
		// without a version takes the latest one staging showed.
		j.version, j.carried = c.cut.versionOf(res, c.versions)
	}
	select {
	case c.jobs <- j:
	default:
		c.skipped.Add(1)
		c.landed(s)
	}
}

// landed marks a sampled request as no longer on its way to the baseline,
// compared or not.
func (c *comparisons) landed(s sampled) {
	if c.baselinePrefix != "" {
		c.patterns[s.target].inFlight.Add(-1)
	}
}

func (c *comparisons) work() {
	for j := range c.jobs {
		if c.ctx.Err() != nil {
			c.skipped.Add(1)
			c.landed(j.sampled)
			continue
		}
		if c.baselinePrefix != "" {
			c.withBaseline(j)
			c.landed(j.sampled)
		}
		if c.cut != nil && c.cut.add(c.comparer, j, c.maskerFor) {
			c.patterns[j.target].crossed.Store(true)
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
		result := c.comparer.Check(j.pattern, first, second, j.answer)
		if m := c.maskerFor(requestSecrets(j.req.Header)); m != nil {
			result = result.Masked(m)
		}
		c.baseline.Add(j.pattern, result)
		c.patterns[j.target].compared.Store(true)
	}
}

// maskerFor is a masker that hides, beside the secret inputs, the
// credentials of the requests answered (recorded ones, kept with
// replay-headers), which an answer may echo; nil when there are none.
func (c *comparisons) maskerFor(secrets []string) *redact.Masker {
	if len(secrets) == 0 {
		return nil
	}
	return redact.NewMasker(append(slices.Clip(c.secrets), secrets...)...)
}

// requestSecrets are the values of a request's credential headers, whole
// and in pieces: each cookie's value, a bearer token without its scheme.
func requestSecrets(h http.Header) []string {
	var out []string
	for name, values := range h {
		if !redact.Secret(name) {
			continue
		}
		for _, v := range values {
			out = append(out, v)
			for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
				if _, value, ok := strings.Cut(part, "="); ok {
					part = value
				}
				if !strings.EqualFold(part, "Bearer") && !strings.EqualFold(part, "Basic") {
					out = append(out, part)
				}
			}
		}
	}
	return out
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
	out := &report.Compare{Sample: c.cfg.Sample, Headers: c.cfg.Headers, Judged: c.cfg.Judged, MaxMismatchRate: c.cfg.MaxMismatchRate,
		BaselineFailed: c.baselineFailed.Load(), Unanswered: c.unanswered.Load(), Skipped: c.skipped.Load()}
	if b := c.cfg.BaselineURL; b != nil {
		out.BaselineURL = b.Redacted()
		s := c.baseline.Summary()
		out.Baseline = &s
		if e := c.baselineError.Load(); e != nil {
			out.BaselineError = *e
		}
		out.NotCompared = c.replayedBut(func(p *patternSample) bool { return p.compared.Load() })
	}
	if c.cut != nil {
		out.CutOver = c.cut.report()
		if out.CutOver.New != "" {
			out.CutOver.NotCompared = c.replayedBut(func(p *patternSample) bool { return p.crossed.Load() })
		}
	}
	return out
}

// replayedBut lists the endpoint patterns replayed whose answers were
// never compared, in the load's order.
func (c *comparisons) replayedBut(compared func(*patternSample) bool) []string {
	var out []string
	for i := range c.patterns {
		if p := &c.patterns[i]; p.offered.Load() > 0 && !compared(p) {
			out = append(out, c.names[i])
		}
	}
	return out
}

// cutOver keeps a few answers of the old version, the first that answered,
// and compares the new version's answers to the same requests with them.
// Two answers of the old version to the same request teach the noise.
//
// The version is the server's, not the endpoint's: an answer that does
// not carry it (only /status names build.version) takes the latest one
// staging showed. Such an answer is compared, and kept while nothing is,
// but teaches no noise: its version is a guess, wrong for a while after a
// switch, and a field the new version changed, learnt as noise, would be
// hidden from then on.
type cutOver struct {
	latest atomic.Pointer[string] // the latest version an answer carried

	mu          sync.Mutex
	old         string
	newer       string
	kept        map[string]map[string]kept // pattern, then request key
	nkept       int
	inferred    uint64 // answers compared with the version guessed
	unversioned uint64 // answers without a version before any was shown
	answer      compare.Tally
}

// kept is an old answer kept, with what is needed to compare with it.
type kept struct {
	answer  compare.Answer
	carried bool     // it carried its version
	secrets []string // its request's credentials, masked in samples
}

// versionOf reads the version of the server that answered res: the one
// res carries, or else the latest one shown.
func (k *cutOver) versionOf(res *vegeta.Result, opts stats.Options) (version string, carried bool) {
	if v := stats.VersionOf(res, opts); v != "" {
		k.latest.Store(&v)
		return v, true
	}
	if latest := k.latest.Load(); latest != nil {
		return *latest, false
	}
	return "", false
}

// wanted reports whether an old answer to the request is kept.
func (k *cutOver) wanted(pattern, key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.kept[pattern][key]
	return ok
}

// add keeps an answer of the old version or compares one of another with
// the old one kept; it reports whether it compared.
func (k *cutOver) add(c *compare.Comparer, j job, maskerFor func([]string) *redact.Masker) bool {
	k.mu.Lock()
	if j.version == "" {
		k.unversioned++
		k.mu.Unlock()
		return false
	}
	if k.old == "" {
		k.old = j.version
	}
	prev, ok := k.kept[j.pattern][j.key]
	secrets := requestSecrets(j.req.Header)
	if j.version != k.old {
		if k.newer == "" {
			k.newer = j.version
		}
		if ok && !j.carried {
			k.inferred++
		}
		k.mu.Unlock()
		if !ok {
			return false
		}
		result := c.Compare(j.pattern, prev.answer, j.answer)
		if m := maskerFor(append(slices.Clip(prev.secrets), secrets...)); m != nil {
			result = result.Masked(m)
		}
		k.answer.Add(j.pattern, result)
		return true
	}
	learn := ok && j.carried && prev.carried
	switch {
	case ok && j.carried:
		k.kept[j.pattern][j.key] = kept{answer: j.answer, carried: true, secrets: secrets}
	case !ok && len(j.answer.Body) <= keptBody && !j.answer.Truncated && len(k.kept[j.pattern]) < keptPerPattern:
		if k.kept[j.pattern] == nil {
			k.kept[j.pattern] = make(map[string]kept, keptPerPattern)
		}
		k.kept[j.pattern][j.key] = kept{answer: j.answer, carried: j.carried, secrets: secrets}
		k.nkept++
	}
	k.mu.Unlock()
	if learn {
		c.Learn(j.pattern, prev.answer, j.answer)
	}
	return false
}

func (k *cutOver) report() *report.CutOver {
	k.mu.Lock()
	defer k.mu.Unlock()
	return &report.CutOver{Old: k.old, New: k.newer, Kept: k.nkept, KeptPerEndpoint: keptPerPattern,
		Inferred: k.inferred, Unversioned: k.unversioned, Summary: k.answer.Summary()}
}
