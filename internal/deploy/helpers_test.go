package deploy

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

const testToken = "ghs_s3cr3tT0kenValue"

// testGrace is the discovery grace of test clients: longer than the
// stand-in's listing delays that tests expect to be covered.
const testGrace = 500 * time.Millisecond

// actionInputs are the names of the action's inputs, which this package
// must never use: the caller knows where a setting came from.
var actionInputs = []string{"github-token", "workflow-ref", "workflow-inputs", "correlation-input", "client-payload", "event-type", "deploy-timeout", "repository\""}

// checkNamesNoInput fails the test if err's message names an action input.
func checkNamesNoInput(t *testing.T, err error) {
	t.Helper()
	for _, name := range actionInputs {
		if strings.Contains(err.Error(), name) {
			t.Errorf("the error names the action input %q: %v", name, err)
		}
	}
}

// logRecorder collects the client's progress lines.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) log(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, msg)
}

func (l *logRecorder) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// sleeper records every wait the client asks for and sleeps at most maxReal
// of it, so tests see the backoff GitHub would get without taking as long.
type sleeper struct {
	mu      sync.Mutex
	waits   []time.Duration
	maxReal time.Duration
	// skipLong is how many waits longer than 10ms to skip entirely, to run
	// into go-github's own hold on requests after a rate limit.
	skipLong int
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	real := min(d, s.maxReal)
	if s.skipLong > 0 && d > 10*time.Millisecond {
		s.skipLong--
		real = 0
	}
	s.mu.Unlock()
	return sleepContext(ctx, real)
}

func (s *sleeper) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// hasWait reports whether some recorded wait lies within [lo, hi].
func (s *sleeper) hasWait(lo, hi time.Duration) bool {
	for _, w := range s.recorded() {
		if w >= lo && w <= hi {
			return true
		}
	}
	return false
}

type testClient struct {
	*Client
	logs  *logRecorder
	sleep *sleeper
}

// newTestClient returns a Client of srv whose waits are recorded and cut
// short, with discovery and grace periods fit for tests.
func newTestClient(t *testing.T, srv *deploytest.Server, opts ...Option) testClient {
	t.Helper()
	logs := &logRecorder{}
	sl := &sleeper{maxReal: 2 * time.Millisecond}
	base := []Option{
		WithHTTPClient(srv.Client()),
		WithLogger(logs.log),
		WithSleep(sl.sleep),
		WithDiscoveryInterval(5 * time.Millisecond),
		WithDiscoveryTimeout(5 * time.Second),
		WithDiscoveryGrace(testGrace),
	}
	c, err := New(testToken, srv.URL, append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.rateLimitMargin = 20 * time.Millisecond
	t.Cleanup(func() {
		if strings.Contains(logs.text(), testToken) {
			t.Errorf("the token leaked into the log:\n%s", logs.text())
		}
	})
	return testClient{Client: c, logs: logs, sleep: sl}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	// Long enough for the recorded (not slept) waits of a rate limit, up
	// to a primary reset an hour away.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	t.Cleanup(cancel)
	return ctx
}

func deployRequest() Request {
	return Request{
		Owner:    deploytest.DefaultOwner,
		Repo:     deploytest.DefaultRepo,
		Workflow: "deploy-staging.yml",
		Inputs:   map[string]string{"version": "1.2.3"},
	}
}

// endpoints lists the routes srv was called on, in order.
func endpoints(srv *deploytest.Server) []deploytest.Endpoint {
	var list []deploytest.Endpoint
	for _, c := range srv.Calls() {
		list = append(list, c.Endpoint)
	}
	return list
}

// callsTo returns the calls srv received on endpoint.
func callsTo(srv *deploytest.Server, endpoint deploytest.Endpoint) []deploytest.Call {
	var calls []deploytest.Call
	for _, c := range srv.Calls() {
		if c.Endpoint == endpoint {
			calls = append(calls, c)
		}
	}
	return calls
}
