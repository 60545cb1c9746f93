// Package config turns the action's inputs into a typed, validated Config,
// once, before anything is sent. A bad value gets one error that names the
// input, quotes the value and says what is allowed.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/zerodowntime/deploy-load-check/internal/glob"
	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/targets"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// Config is every input, parsed.
type Config struct {
	// Mix is the requests, headers and auth; OAuth, when set, adds a token
	// fetched at start.
	Mix        targets.Mix
	OAuth      *clientcredentials.Config
	Rate       vegeta.Rate
	MaxRate    vegeta.Rate // the ceiling rate was held to; a recorded pace is held to it too
	RampUp     time.Duration
	Duration   time.Duration // load time when no deploy is dispatched
	Timeout    time.Duration
	Thresholds []verdict.Threshold

	MaxWorkers        uint64
	HealthURL         string        // checked before the load; "" means each target is
	PreflightTimeout  time.Duration // 0 skips the pre-flight
	FreshShare        float64       // of requests on fresh connections
	DegradedErrorRate float64
	VersionHeader     string
	VersionField      string
	FailOnShortfall   bool
	ReportFile        string
	ResultsFile       string

	// Regression, with max-regression set, judges the deploy window and
	// the tail against the head; nil otherwise.
	Regression *verdict.Baseline

	// Shard, when set, makes this job one share of a check split over a
	// job matrix; Merge, when set, is the glob of the shards' reports a
	// merge job reads, sending no load and dispatching nothing.
	Shard *Shard
	Merge string

	// Deploy is nil in PR-check mode (no workflow, no event type).
	Deploy *Deploy

	// Replay, when set, sends recorded traffic instead of Mix's targets;
	// Compare, when set, compares answers to a sample of it.
	Replay  *Replay
	Compare *Compare
	// Secrets are the values of the secret inputs that were set, for
	// masking wherever an answer might echo them.
	Secrets []string
}

// Shard is this job's share of a check split over a job matrix.
type Shard struct {
	Index, Count int    // the Index-th (from 1) of Count shares of the rate
	Key          string // shared by the shards of one check: the correlation ID
}

// MaxShards bounds the shards of one check.
const MaxShards = 1000

// Deploy says which deploy to dispatch and how to follow it.
type Deploy struct {
	Owner, Repo      string
	Workflow         string // file name or numeric id; may narrow a repository_dispatch
	Ref              string // "" means the default branch
	Inputs           map[string]string
	EventType        string // non-empty: repository_dispatch
	ClientPayload    json.RawMessage
	CorrelationInput string
	// Job, when set, is the one job of the run whose end starts the tail;
	// later jobs (smoke tests, notifications) may go on.
	Job                 string
	Token               string
	Head, Tail          time.Duration
	PollInterval        time.Duration
	Timeout             time.Duration
	FailOnDeployFailure bool
	CancelOnAbort       bool
}

// Error is a bad input value.
type Error struct {
	Input string
	Err   error
}

func (e *Error) Error() string { return fmt.Sprintf("input %q: %v", e.Input, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// SecretInputs are the inputs whose values are masked the moment they are
// read and never printed.
var SecretInputs = []string{"github-token", "bearer-token", "hmac-secret", "jwt-secret", "jwt-private-key", "oauth-client-secret"}

// Names returns the target names, in order.
func (c *Config) Names() []string {
	names := make([]string, len(c.Mix.Specs))
	for i, s := range c.Mix.Specs {
		names[i] = s.Name
	}
	return names
}

// Group returns the indexes of the targets in the group called name.
func (c *Config) Group(name string) []int {
	var in []int
	for i, s := range c.Mix.Specs {
		if s.Group == name {
			in = append(in, i)
		}
	}
	return in
}

// Phases are the phases of the deploy timeline.
var Phases = []string{"head", "deploy", "tail"}

// thresholdNames are what a threshold may limit itself to: the targets,
// their groups, and the phases when a deploy is dispatched.
func (c *Config) thresholdNames(dispatching bool) verdict.Names {
	names := verdict.Names{Targets: c.Names()}
	for _, s := range c.Mix.Specs {
		if s.Group != "" && !slices.Contains(names.Groups, s.Group) {
			names.Groups = append(names.Groups, s.Group)
		}
	}
	if dispatching {
		names.Phases = Phases
	}
	return names
}

// parser reads inputs and remembers the first error, so Parse reads as the
// list of inputs it is.
type parser struct {
	src *Source
	err error
	// replaying is set when replay-file replaces the targets.
	replaying bool
}

func (p *parser) fail(input string, err error) {
	if p.err == nil {
		p.err = &Error{Input: input, Err: err}
	}
}

// errEmpty says an input that needs a value was set empty; want says what
// it takes.
func errEmpty(want string) error { return errors.New("is empty; want " + want) }

func (p *parser) duration(input string, allowZero bool) time.Duration {
	raw := p.src.Get(input)
	if raw == "" {
		want := "a duration such as 30s or 2m"
		if allowZero {
			want += ", or 0s"
		}
		p.fail(input, errEmpty(want))
		return 0
	}
	d, err := parseDuration(raw, allowZero)
	if err != nil {
		p.fail(input, err)
	}
	return d
}

func (p *parser) optionalLatency(input string) (time.Duration, bool) {
	raw := p.src.Get(input)
	if raw == "" {
		return 0, false
	}
	d, err := verdict.ParseLatency(raw)
	if err != nil {
		p.fail(input, err)
		return 0, false
	}
	return d, true
}

// mix reads the targets, headers and auth inputs.
func (p *parser) mix(merging bool) targets.Mix {
	src := p.src
	var m targets.Mix
	inline, file := src.Get("targets"), src.Get("targets-file")
	switch {
	case merging && inline != "":
		p.fail("targets", errMergeLoad)
	case merging && file != "":
		p.fail("targets-file", errMergeLoad)
	case !merging && !p.replaying:
		specs, err := readTargets(inline, file)
		if err != nil {
			p.fail(err.Input, err.Err)
		}
		m.Specs = specs
	}
	rawHeaders := src.Get("headers")
	headers, err := targets.ParseHeaders(rawHeaders)
	if err == nil {
		err = headerValues(rawHeaders)
	}
	if err != nil {
		p.fail("headers", err)
	}
	m.Headers = headers
	users, uerr := strconv.Atoi(src.Get("users"))
	if src.Get("users") == "" {
		p.fail("users", errEmpty("a whole number of users from 1 to 1000000, such as 100"))
	} else if uerr != nil || users < 1 || users > 1_000_000 {
		p.fail("users", fmt.Errorf("%q is not a number of users; want a whole number from 1 to 1000000", src.Get("users")))
	}
	m.Users = users
	m.Auth = p.auth()
	return m
}

// auth reads the auth inputs. A secret's value never goes into a message.
func (p *parser) auth() []targets.Auth {
	src := p.src
	var auth []targets.Auth
	var authorization []string // inputs that set the Authorization header

	if token := src.Get("bearer-token"); token != "" {
		if err := headerValue(token, "the Authorization header"); err != nil {
			p.fail("bearer-token", err)
		}
		auth = append(auth, targets.Bearer{Token: token})
		authorization = append(authorization, "bearer-token")
	}
	hmacHeader, hmacStamp := p.header("hmac-header"), p.header("hmac-timestamp-header")
	if secret := src.Get("hmac-secret"); secret != "" {
		auth = append(auth, targets.HMAC{Secret: []byte(secret), Header: hmacHeader, TimestampHeader: hmacStamp})
	}
	secret, key := src.Get("jwt-secret"), src.Get("jwt-private-key")
	ttl := p.duration("jwt-ttl", false)
	claims := src.Get("jwt-claims")
	if (secret != "" || key != "") && claims == "" {
		p.fail("jwt-claims", errEmpty(`a JSON object of claims such as {"sub": "{{user}}"}`))
	} else if secret != "" || key != "" {
		minter, err := targets.NewJWT([]byte(secret), []byte(key), claims, ttl, p.srcUsers())
		switch {
		case err != nil && secret != "" && key != "":
			p.fail("jwt-private-key", err)
		case err != nil && key != "":
			p.fail("jwt-private-key", fmt.Errorf("the key cannot sign: %w", err))
		case err != nil:
			p.fail("jwt-claims", err)
		default:
			auth = append(auth, minter)
		}
		authorization = append(authorization, "jwt-secret or jwt-private-key")
	}
	if len(authorization) > 1 {
		p.fail("bearer-token", fmt.Errorf("is set with %s; each sets the Authorization header, so set one", strings.Join(authorization[1:], " and ")))
	}
	return auth
}

// headerValue checks a value sent in a header as net/http checks it before
// sending (see load.InvalidHeaderByte), which would otherwise fail every
// request. The value is not quoted: it may be a secret.
func headerValue(value, header string) error {
	if i := load.InvalidHeaderByte(value); i >= 0 {
		return fmt.Errorf("contains a control character, %#02x, at byte %d, which no request can carry in %s", value[i], i+1, header)
	}
	return nil
}

// headerValues checks the values of the headers input, one "Name: value"
// a line, which may be keys.
func headerValues(text string) error {
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		name = strings.TrimSpace(name)
		if err := headerValue(strings.TrimSpace(value), "a header"); err != nil {
			return fmt.Errorf("line %d: the value of header %q %w", n+1, name, err)
		}
	}
	return nil
}

// header reads an input that names a header.
func (p *parser) header(input string) string {
	name := p.src.Get(input)
	if name == "" {
		if in, ok := p.src.spec.Input(input); ok && in.Default != "" {
			p.fail(input, errEmpty(fmt.Sprintf("a header name such as %s", in.Default)))
		} else {
			p.fail(input, errEmpty("a header name"))
		}
	} else if !targets.ValidHeaderName(name) {
		p.fail(input, fmt.Errorf("%q is not a header name", name))
	}
	return name
}

func (p *parser) srcUsers() int {
	n, err := strconv.Atoi(p.src.Get("users"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// oauth reads the OAuth2 client-credentials inputs; the token is fetched
// at start, where a refusal is a setup error.
func (p *parser) oauth(c *Config) {
	src := p.src
	tokenURL, id, secret := src.Get("oauth-token-url"), src.Get("oauth-client-id"), src.Get("oauth-client-secret")
	scopes := strings.FieldsFunc(src.Get("oauth-scopes"), func(r rune) bool { return r == ' ' || r == ',' || r == '\n' })
	if tokenURL == "" && id == "" && secret == "" && len(scopes) == 0 {
		return
	}
	switch {
	case tokenURL == "":
		p.fail("oauth-token-url", errors.New("is empty but other oauth inputs are set; want the token endpoint's URL"))
		return
	case id == "":
		p.fail("oauth-client-id", errors.New("is empty but oauth-token-url is set"))
		return
	case secret == "":
		p.fail("oauth-client-secret", errors.New("is empty but oauth-token-url is set"))
		return
	}
	u, err := url.Parse(tokenURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.fail("oauth-token-url", fmt.Errorf("%q is not an http or https URL", tokenURL))
		return
	}
	for _, a := range c.Mix.Auth {
		if _, ok := a.(targets.Bearer); ok {
			p.fail("oauth-token-url", errors.New("is set with bearer-token; each sets the Authorization header, so set one"))
		}
		if _, ok := a.(*targets.JWT); ok {
			p.fail("oauth-token-url", errors.New("is set with a JWT input; each sets the Authorization header, so set one"))
		}
	}
	c.OAuth = &clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: tokenURL, Scopes: scopes}
}

// A merge job sends no load and dispatches nothing: what would steer either
// is a mistake there.
var (
	errMergeLoad   = errors.New("is set with merge, which sends no load: the targets are the shards'; leave it empty in the merge job")
	errMergeDeploy = errors.New("is set with merge, which dispatches nothing: the shards followed the deploy; leave it empty in the merge job")
)

// merge reads the glob of shard reports a merge job reads.
func (p *parser) merge() string {
	pattern := p.src.Get("merge")
	if pattern == "" {
		return ""
	}
	files, err := glob.Files(pattern)
	switch {
	case err != nil:
		p.fail("merge", fmt.Errorf("%q is not a glob: %v; want a pattern such as shards/**/*.json", pattern, err))
	case len(files) == 0:
		p.fail("merge", fmt.Errorf("%q matches no file; want the shards' report files, such as shards/*/deploy-load-check-report.json (download-artifact with merge-multiple puts them in one directory)", pattern))
	}
	return pattern
}

// shard reads shard and shard-key: this job's share of a check split
// over a job matrix.
func (p *parser) shard(deploy *Deploy, c *Config) *Shard {
	raw, key := p.src.Get("shard"), p.src.Get("shard-key")
	if raw == "" {
		return nil
	}
	i, n, ok := strings.Cut(raw, "/")
	index, err1 := strconv.Atoi(strings.TrimSpace(i))
	count, err2 := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case !ok || err1 != nil || err2 != nil:
		p.fail("shard", fmt.Errorf("%q is not a share; want I/N such as 1/3, the I-th of N jobs, from a matrix such as shard: ${{ matrix.shard }}/3", raw))
		return nil
	case count < 1 || count > MaxShards:
		p.fail("shard", fmt.Errorf("%q: want from 1 to %d shards", raw, MaxShards))
		return nil
	case index < 1 || index > count:
		p.fail("shard", fmt.Errorf("%q: want I from 1 to N", raw))
		return nil
	case c.Merge != "":
		p.fail("shard", fmt.Errorf("is %q with merge; a merge job merges the shards and is not one", raw))
		return nil
	case key == "":
		p.fail("shard-key", errors.New("is empty; want a value the shards of one check share and no other check does, such as ${{ github.run_id }}-${{ github.run_attempt }}"))
		return nil
	case strings.ContainsAny(key, "\n\r") || len(key) > 100:
		p.fail("shard-key", fmt.Errorf("%q is not a key; want at most 100 characters on one line", key))
		return nil
	case deploy != nil && deploy.CorrelationInput == "":
		p.fail("shard", fmt.Errorf("is %q with a deploy, but correlation-input is empty: shard 1 dispatches with shard-key as the correlation ID, and the other shards find the run by it in the run's name; set correlation-input and repeat that input in the workflow's run-name", raw))
		return nil
	case c.ReportFile == "":
		p.fail("report-file", fmt.Errorf("is empty with shard %q; a shard writes what the merge needs to its report", raw))
		return nil
	}
	return &Shard{Index: index, Count: count, Key: key}
}

// regression reads max-regression and regression-floor: the before/after
// comparison of the deploy with its head, which only a deploy has.
func (p *parser) regression(dispatching bool) *verdict.Baseline {
	raw := p.src.Get("max-regression")
	floor, floorSet := p.optionalLatency("regression-floor")
	if p.src.Get("regression-floor") == "" {
		p.fail("regression-floor", errEmpty("a latency such as 5ms, or 0s for no floor"))
	}
	if raw == "" {
		return nil
	}
	share, err := verdict.ParseFraction(raw)
	if err != nil {
		p.fail("max-regression", err)
		return nil
	}
	if !dispatching {
		p.fail("max-regression", fmt.Errorf("is %q but neither workflow nor event-type is set: it compares the deploy with the head before it", raw))
		return nil
	}
	opts := []verdict.BaselineOption{verdict.WithMaxRegression(share)}
	if floorSet {
		opts = append(opts, verdict.WithRegressionFloor(floor))
	}
	b, err := verdict.NewBaseline(opts...)
	if err != nil {
		p.fail("max-regression", err)
		return nil
	}
	return &b
}

func (p *parser) fraction(input string) float64 {
	raw := p.src.Get(input)
	if raw == "" {
		p.fail(input, errEmpty("a percentage such as 10% or a fraction such as 0.1, or 0%"))
		return 0
	}
	f, err := verdict.ParseFraction(raw)
	if err != nil {
		p.fail(input, err)
	}
	return f
}

// path reads a file path to write. Directories must exist already: the
// check must not scatter files over the workspace.
func (p *parser) path(input string) string {
	raw := p.src.Get(input)
	if raw == "" {
		return ""
	}
	if strings.ContainsAny(raw, "\x00\n") || strings.HasSuffix(raw, "/") {
		p.fail(input, fmt.Errorf("%q is not a file path", raw))
		return ""
	}
	if dir := filepath.Dir(raw); dir != "." {
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			p.fail(input, fmt.Errorf("%q is in %q, which is not a directory", raw, dir))
		}
	}
	return raw
}

func (p *parser) boolean(input string) bool {
	raw := p.src.Get(input)
	if raw == "" {
		p.fail(input, errEmpty("true or false"))
		return false
	}
	switch strings.ToLower(raw) {
	case "true", "yes", "1":
		return true
	case "false", "no", "0":
		return false
	}
	p.fail(input, fmt.Errorf("%q is not a boolean; want true or false", raw))
	return false
}

// Parse reads every input from src.
func Parse(src *Source) (*Config, error) {
	p := &parser{src: src}
	c := &Config{}

	c.Merge = p.merge()
	p.replay(c)
	p.replaying = c.Replay != nil
	c.Mix = p.mix(c.Merge != "")
	p.oauth(c)

	rate, err := ParseRate(src.Get("rate"))
	if err != nil {
		p.fail("rate", err)
	}
	c.Rate = rate
	ceiling, err := ParseRate(src.Get("max-rate"))
	c.MaxRate = ceiling
	if err != nil {
		p.fail("max-rate", err)
	} else if perSecond(rate) > perSecond(ceiling) {
		p.fail("rate", fmt.Errorf("%q is above max-rate %q; raise max-rate if you mean it", src.Get("rate"), src.Get("max-rate")))
	}
	workers, err := strconv.ParseUint(src.Get("max-workers"), 10, 64)
	if src.Get("max-workers") == "" {
		p.fail("max-workers", errEmpty("a whole number of workers from 1 to 1000000, such as 10000"))
	} else if err != nil || workers < 1 || workers > 1_000_000 {
		p.fail("max-workers", fmt.Errorf("%q is not a number of workers; want a whole number from 1 to 1000000", src.Get("max-workers")))
	}
	c.MaxWorkers = workers
	if raw := src.Get("health-url"); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.fail("health-url", fmt.Errorf("%q is not an http or https URL", raw))
		}
		c.HealthURL = raw
	}
	c.PreflightTimeout = p.duration("preflight-timeout", true)
	c.RampUp = p.duration("ramp-up", true)
	c.Duration = p.duration("duration", false)
	c.Timeout = p.duration("timeout", false)

	if d, ok := p.optionalLatency("max-p95"); ok {
		c.Thresholds = append(c.Thresholds, verdict.Threshold{Metric: verdict.Quantile, Percentile: 95, Op: verdict.LessEq, Limit: d.Seconds(), Source: "max-p95"})
	}
	if d, ok := p.optionalLatency("max-p99"); ok {
		c.Thresholds = append(c.Thresholds, verdict.Threshold{Metric: verdict.Quantile, Percentile: 99, Op: verdict.LessEq, Limit: d.Seconds(), Source: "max-p99"})
	}
	if raw := src.Get("max-error-rate"); raw != "" {
		f, err := verdict.ParseFraction(raw)
		if err != nil {
			p.fail("max-error-rate", err)
		}
		c.Thresholds = append(c.Thresholds, verdict.Threshold{Metric: verdict.ErrorRate, Op: verdict.LessEq, Limit: f, Source: "max-error-rate"})
	}
	if d, ok := p.optionalLatency("max-downtime"); ok {
		c.Thresholds = append(c.Thresholds, verdict.Threshold{Metric: verdict.Downtime, Op: verdict.LessEq, Limit: d.Seconds(), Source: "max-downtime"})
	}
	dispatching := src.Get("workflow") != "" || src.Get("event-type") != ""
	names := c.thresholdNames(dispatching)
	if c.Merge != "" {
		// The targets, groups and phases are the shards'; the merge
		// holds the thresholds to them once it has read their reports.
		names = verdict.Names{Any: true, Phases: Phases}
	}
	more, err := ParseThresholds(src.Get("thresholds"), names)
	if err != nil {
		p.fail("thresholds", replayThresholdError(c, err))
	}
	c.Thresholds = append(c.Thresholds, more...)

	c.Regression = p.regression(dispatching)
	c.FreshShare = p.fraction("fresh-connection-rate")
	c.DegradedErrorRate = p.fraction("degraded-error-rate")
	c.VersionField = src.Get("version-field")
	if f := c.VersionField; f != "" && (strings.HasPrefix(f, ".") || strings.HasSuffix(f, ".") || strings.Contains(f, "..") || strings.ContainsAny(f, " \t\n")) {
		p.fail("version-field", fmt.Errorf("%q is not a field path; want names joined by dots, such as build.version", f))
	}
	c.VersionHeader = src.Get("version-header")
	if c.VersionHeader != "" && !targets.ValidHeaderName(c.VersionHeader) {
		p.fail("version-header", fmt.Errorf("%q is not a header name", c.VersionHeader))
	}
	p.compare(c)
	c.FailOnShortfall = p.boolean("fail-on-load-shortfall")
	c.ReportFile = p.path("report-file")
	c.ResultsFile = p.path("results-file")
	if c.ReportFile != "" && c.ReportFile == c.ResultsFile {
		p.fail("results-file", fmt.Errorf("%q is also report-file; give each its own path", c.ResultsFile))
	}

	deploy := p.deploy()
	c.Shard = p.shard(deploy, c)
	switch {
	case c.Merge != "" && deploy != nil && deploy.Workflow != "":
		p.fail("workflow", errMergeDeploy)
	case c.Merge != "" && deploy != nil:
		p.fail("event-type", errMergeDeploy)
	}
	c.Secrets = src.SecretValues()
	if p.err != nil {
		return nil, p.err
	}
	if deploy != nil {
		c.Deploy = deploy
		if c.RampUp > deploy.Head {
			return nil, &Error{Input: "ramp-up", Err: fmt.Errorf("%q is longer than head %q; the deploy must start under the full rate", src.Get("ramp-up"), src.Get("head"))}
		}
	} else if c.RampUp > c.Duration {
		return nil, &Error{Input: "ramp-up", Err: fmt.Errorf("%q is longer than duration %q", src.Get("ramp-up"), src.Get("duration"))}
	}
	if c.Replay != nil && c.Replay.Speed > 0 && c.RampUp > 0 {
		return nil, &Error{Input: "ramp-up", Err: fmt.Errorf("is %q but replay-speed %q paces the load by the recorded times, which have no ramp", src.Get("ramp-up"), src.Get("replay-speed"))}
	}
	return c, nil
}

// deploy reads the deploy inputs. They are validated whether or not a deploy
// is asked for, so a typo is caught in PR-check mode too.
func (p *parser) deploy() *Deploy {
	src := p.src
	d := &Deploy{
		Workflow:         src.Get("workflow"),
		Ref:              src.Get("workflow-ref"),
		EventType:        src.Get("event-type"),
		CorrelationInput: src.Get("correlation-input"),
		Token:            src.Get("github-token"),
	}
	d.Head = p.duration("head", true)
	d.Tail = p.duration("tail", true)
	d.PollInterval = p.duration("poll-interval", false)
	d.Timeout = p.duration("deploy-timeout", false)
	d.FailOnDeployFailure = p.boolean("fail-on-deploy-failure")
	d.CancelOnAbort = p.boolean("cancel-deploy-on-abort")
	d.Job = src.Get("deploy-job")
	if strings.ContainsAny(d.Job, "\n\r") || len(d.Job) > 255 {
		p.fail("deploy-job", fmt.Errorf("%q is not a job name; want the name of one job of the deploy workflow, as the run shows it, on one line", d.Job))
	}

	if d.Workflow != "" && !validWorkflow(d.Workflow) {
		p.fail("workflow", fmt.Errorf("%q is not a workflow; want a file name such as deploy-staging.yml (.yml or .yaml, no directory) or a numeric id", d.Workflow))
	}
	if d.Ref != "" && !validRef(d.Ref) {
		p.fail("workflow-ref", fmt.Errorf("%q is not a branch or tag name", d.Ref))
	}
	if len(d.EventType) > 100 || strings.ContainsAny(d.EventType, "\n\r\t") {
		p.fail("event-type", fmt.Errorf("%q is not an event type; want at most 100 characters on one line", d.EventType))
	}
	if d.PollInterval > 0 && d.PollInterval < time.Second {
		p.fail("poll-interval", fmt.Errorf("%q is under a second; want 1s or more, the API allows about 1,000 requests an hour per repository", src.Get("poll-interval")))
	}
	if d.PollInterval > 0 && d.Timeout > 0 && d.Timeout < d.PollInterval {
		p.fail("poll-interval", fmt.Errorf("%q is longer than deploy-timeout %q", src.Get("poll-interval"), src.Get("deploy-timeout")))
	}
	inputs, err := ParseWorkflowInputs(src.Get("workflow-inputs"))
	if err != nil {
		p.fail("workflow-inputs", err)
	}
	d.Inputs = inputs
	if raw := src.Get("client-payload"); raw != "" {
		var obj map[string]any
		if err := json.Unmarshal([]byte(raw), &obj); err != nil || obj == nil {
			p.fail("client-payload", fmt.Errorf("%q is not a JSON object", raw))
		}
		d.ClientPayload = json.RawMessage(raw)
	}
	if d.CorrelationInput != "" && !validInputName(d.CorrelationInput) {
		p.fail("correlation-input", fmt.Errorf("%q is not an input name; want a letter or _ first, then letters, digits, - and _", d.CorrelationInput))
	}

	repo := src.Get("repository")
	owner, name, ok := strings.Cut(repo, "/")
	dispatching := d.Workflow != "" || d.EventType != ""
	switch {
	case repo == "" && dispatching:
		p.fail("repository", errors.New("is empty; want owner/name of the repository holding the deploy workflow"))
	case repo != "" && (!ok || !validOwner(owner) || !validRepoName(name)):
		p.fail("repository", fmt.Errorf("%q is not a repository; want owner/name such as acme/api", repo))
	}
	d.Owner, d.Repo = owner, name

	// Values that would be silently ignored are mistakes.
	if !dispatching {
		for input, set := range map[string]bool{
			"workflow-inputs":   len(d.Inputs) > 0,
			"client-payload":    d.ClientPayload != nil,
			"workflow-ref":      d.Ref != "",
			"correlation-input": d.CorrelationInput != "",
			"deploy-job":        d.Job != "",
		} {
			if set {
				p.fail(input, fmt.Errorf("is %q but neither workflow nor event-type is set, so nothing is dispatched", src.Get(input)))
			}
		}
		return nil
	}
	if d.EventType != "" && len(d.Inputs) > 0 {
		p.fail("workflow-inputs", fmt.Errorf("is %q but event-type %q sends a repository_dispatch, which carries client-payload instead", src.Get("workflow-inputs"), d.EventType))
	}
	if d.EventType != "" && d.Ref != "" {
		p.fail("workflow-ref", fmt.Errorf("is %q but event-type %q sends a repository_dispatch, which runs on the default branch", d.Ref, d.EventType))
	}
	if d.EventType == "" && d.ClientPayload != nil {
		p.fail("client-payload", fmt.Errorf("is %q but event-type is not set; a workflow_dispatch carries workflow-inputs instead", src.Get("client-payload")))
	}
	if d.Token == "" {
		p.fail("github-token", errors.New("is empty; a deploy dispatch needs a token with actions: write on the repository"))
	}
	return d
}

// validInputName follows GitHub's rule for workflow_dispatch input names.
func validInputName(s string) bool {
	for i, r := range s {
		letter := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r == '-' || r >= '0' && r <= '9')) {
			return false
		}
	}
	return s != ""
}

// validOwner follows GitHub's rule for user and organisation names.
func validOwner(s string) bool {
	if s == "" || len(s) > 39 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// validRepoName follows GitHub's rule for repository names.
func validRepoName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// validWorkflow accepts a workflow's numeric id or its file name.
func validWorkflow(s string) bool {
	if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		return true
	}
	base, ok := strings.CutSuffix(s, ".yml")
	if !ok {
		base, ok = strings.CutSuffix(s, ".yaml")
	}
	return ok && base != "" && !strings.ContainsAny(s, "/\\?#% \t\n") && !strings.HasPrefix(s, ".")
}

// validRef rejects what git forbids in ref names that a typo produces.
func validRef(s string) bool {
	return !strings.ContainsAny(s, " \t\n~^:?*[\\") && !strings.Contains(s, "..") && !strings.HasSuffix(s, "/") && !strings.HasPrefix(s, "-")
}

// parseDuration reads a Go duration with a unit.
func parseDuration(raw string, allowZero bool) (time.Duration, error) {
	d, err := time.ParseDuration(raw)
	if err != nil {
		if f, numErr := strconv.ParseFloat(raw, 64); numErr == nil && raw != "0" && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return 0, fmt.Errorf("%q has no unit; want a duration such as 30s or 2m", raw)
		}
		if raw == "0" && allowZero {
			return 0, nil
		}
		return 0, fmt.Errorf("%q is not a duration; want a duration such as 30s or 2m", raw)
	}
	switch {
	case d < 0:
		return 0, fmt.Errorf("%q is negative; want a duration such as 30s or 2m", raw)
	case d == 0 && !allowZero:
		return 0, fmt.Errorf("%q is zero; want a positive duration such as 30s or 2m", raw)
	}
	return d, nil
}

func perSecond(r vegeta.Rate) float64 {
	if r.Per <= 0 {
		return 0
	}
	return float64(r.Freq) / r.Per.Seconds()
}

// ParseRate reads a rate as vegeta's -rate does: N/duration, such as
// 50/1s, 50/s or 3000/1m, or N alone for N a second. N must be a positive
// whole number: vegeta's 0 and infinity (as fast as possible) are not a
// constant rate.
func ParseRate(raw string) (vegeta.Rate, error) {
	if strings.TrimSpace(raw) == "" {
		return vegeta.Rate{}, errEmpty(`N or N/duration such as "50/1s"`)
	}
	freq, per, ok := strings.Cut(raw, "/")
	if !ok {
		per = "1s"
	}
	n, err := strconv.Atoi(strings.TrimSpace(freq))
	switch {
	case strings.TrimSpace(raw) == "infinity" || err == nil && n == 0:
		return vegeta.Rate{}, fmt.Errorf("%q is not a constant rate (to vegeta it means as fast as possible); want N or N/duration such as \"50/1s\"", raw)
	case err != nil || n < 0:
		return vegeta.Rate{}, fmt.Errorf("%q is not a rate; want a positive whole number of requests a second, or per duration, such as \"50\" or \"50/1s\"", raw)
	}
	per = strings.TrimSpace(per)
	if per != "" && (per[0] < '0' || per[0] > '9') && per[0] != '.' {
		per = "1" + per
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return vegeta.Rate{}, fmt.Errorf("%q is not a rate; want N/duration with a unit such as \"50/1s\" or \"3000/1m\"", raw)
	}
	if float64(n)/d.Seconds() > 1e6 {
		return vegeta.Rate{}, fmt.Errorf("%q is more than a million requests per second", raw)
	}
	return vegeta.Rate{Freq: n, Per: d}, nil
}

// ParseTargets reads a targets text and a headers text as the targets and
// headers inputs are read (see readTargets) and returns the load's
// targets.
func ParseTargets(raw, headers string) ([]load.Target, error) {
	specs, err := readTargets(raw, "")
	if err != nil {
		return nil, err
	}
	global, herr := targets.ParseHeaders(headers)
	if herr != nil {
		return nil, &Error{Input: "headers", Err: herr}
	}
	mix := targets.Mix{Specs: specs, Headers: global}
	return mix.Targets(), nil
}

// readTargets reads the targets input and the targets-file input: the one
// path every target takes, fuzzed as it runs. Each is read in vegeta's HTTP
// or JSON format (targets.ParseText); then repeated targets are merged and
// every target named (targets.Merge), over both inputs at once.
func readTargets(inline, path string) ([]targets.Spec, *Error) {
	var specs []targets.Spec
	if inline != "" {
		s, err := targets.ParseText(inline, "")
		if err != nil {
			return nil, &Error{Input: "targets", Err: err}
		}
		specs = s
	}
	if path != "" {
		s, err := targets.ParseFile(path)
		if err != nil {
			return nil, &Error{Input: "targets-file", Err: fmt.Errorf("%q: %w", path, err)}
		}
		specs = append(specs, s...)
	}
	switch {
	case len(specs) == 0 && inline == "" && path == "":
		return nil, &Error{Input: "targets", Err: errors.New("is empty, and so is targets-file; want one request per line, such as \"GET https://staging.example.com/health\", or a targets-file")}
	case len(specs) == 0:
		return nil, &Error{Input: "targets", Err: errors.New("no targets; want one request per line, such as \"GET https://staging.example.com/health\", or a targets-file")}
	}
	specs, err := targets.Merge(specs)
	if err != nil {
		return nil, &Error{Input: "targets", Err: err}
	}
	return specs, nil
}

// ParseThresholds reads the thresholds input, one line at a time (see
// verdict.ParseLine); blank lines and # comments are ignored. names are the
// targets, groups and phases a line may limit itself to.
func ParseThresholds(raw string, names verdict.Names) ([]verdict.Threshold, error) {
	var out []verdict.Threshold
	for n, line := range strings.Split(raw, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		thresholds, err := verdict.ParseLine(line, names)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q: %w", n+1, line, err)
		}
		for _, t := range thresholds {
			t.Source = "thresholds"
			out = append(out, t)
		}
	}
	return out, nil
}

// readJSONObject reads one JSON object member by member, so that a key
// given twice is seen rather than silently overwritten.
func readJSONObject(dec *json.Decoder, member func(key string, value any) error) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("want an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var value any
		if err := dec.Decode(&value); err != nil {
			return err
		}
		if err := member(key, value); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("text after the object")
	}
	return nil
}

// ParseWorkflowInputs reads a JSON object or key=value lines. Values are
// sent as strings, as workflow_dispatch wants.
func ParseWorkflowInputs(raw string) (map[string]string, error) {
	if raw == "" {
		return nil, nil
	}
	inputs := make(map[string]string)
	if strings.HasPrefix(raw, "{") {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber() // 1234567 is sent as written, not as 1.234567e+06
		if err := readJSONObject(dec, func(k string, v any) error {
			if !validInputName(k) {
				return fmt.Errorf("%q is not an input name; want a letter or _ first, then letters, digits, - and _", k)
			}
			if _, dup := inputs[k]; dup {
				return fmt.Errorf("sets %q twice", k)
			}
			switch v := v.(type) {
			case string:
				inputs[k] = v
			case json.Number:
				inputs[k] = v.String()
			case bool:
				inputs[k] = strconv.FormatBool(v)
			case nil:
				inputs[k] = ""
			default:
				return fmt.Errorf("input %q has a nested value; workflow inputs are strings, numbers or booleans", k)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("%q is not a JSON object of inputs: %v", raw, err)
		}
		return inputs, nil
	}
	for n, line := range strings.Split(raw, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("line %d: %q: want key=value or a JSON object", n+1, line)
		}
		if !validInputName(k) {
			return nil, fmt.Errorf("line %d: %q: %q is not an input name; want a letter or _ first, then letters, digits, - and _", n+1, line, k)
		}
		if _, dup := inputs[k]; dup {
			return nil, fmt.Errorf("line %d: %q sets %q twice", n+1, line, k)
		}
		inputs[k] = strings.TrimSpace(v)
	}
	return inputs, nil
}
