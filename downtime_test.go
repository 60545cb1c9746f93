package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
	"github.com/zerodowntime/deploy-load-check/internal/demo"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

// These tests hold the verdict to the product's promise through the built
// action, started as a process as the runner starts it, with a real clock:
// a pass means no endpoint dropped a request, a failure says what broke,
// and a head that was already failing vouches for nothing. (The timeline's
// own tests, in internal/check, run in-process.)

// threeEndpoints are the targets of these tests: three endpoints of api,
// asked in turn.
func threeEndpoints(api *demo.API) string {
	return "GET " + api.URL + "/health\nGET " + api.URL + "/api/items\nGET " + api.URL + "/api/items/42"
}

// slowest is the slowest answer of a run, from its max-ms output.
func slowest(t *testing.T, run actionRun) time.Duration {
	t.Helper()
	ms, err := strconv.ParseFloat(run.outputs["max-ms"], 64)
	if err != nil {
		t.Fatalf("max-ms output %q: %v", run.outputs["max-ms"], err)
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// sendLagMax reads the generator's worst send lag from the JSON report
// (of one check, or of a merge of shards).
func sendLagMax(t *testing.T, run actionRun) time.Duration {
	t.Helper()
	path := run.outputs["report"]
	if !filepath.IsAbs(path) {
		path = filepath.Join(run.dir, path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Generator struct {
			LagMaxMS float64 `json:"send_lag_max_ms"`
		} `json:"generator"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	return time.Duration(rep.Generator.LagMaxMS * float64(time.Millisecond))
}

func TestOneEndpointOfThreeDownFor3sFailsAndIsNamed(t *testing.T) {
	t.Parallel()
	api := startAPI(t)
	var broke, healed time.Time
	github := checktest.GitHub(t, "success", func() {
		checktest.WaitUntil(checktest.HitsAtLeast(api, 30))
		broke = time.Now()
		api.Break("/api/items/42", http.StatusBadGateway)
		time.Sleep(3 * time.Second) // the outage itself
		api.Heal("/api/items/42")
		healed = time.Now()
		checktest.WaitUntil(checktest.HitsAtLeast(api, 30))
	}, deploytest.WithToken(testToken))
	inputs := deployInputs(api, github, map[string]string{"targets": threeEndpoints(api), "rate": "60/1s", "max-downtime": "1s"})
	run := runBinary(t, nil, inputs, map[string]string{"GITHUB_API_URL": github.URL})

	if run.exit != exitBreach || run.outputs["verdict"] != "fail" {
		t.Fatalf("exit %d, verdict %q; want %d, fail\nstdout:\n%s\nstderr:\n%s", run.exit, run.outputs["verdict"], exitBreach, run.stdout, run.stderr)
	}
	// Within one of the endpoint's request intervals (it is asked every
	// 50 ms), give or take how late the generator sent and how long a
	// request took to reach the API, at most the slowest answer.
	downtime, err := strconv.ParseFloat(run.outputs["downtime-s"], 64)
	actual := healed.Sub(broke)
	slack := 50*time.Millisecond + sendLagMax(t, run) + slowest(t, run)
	if got := time.Duration(downtime * float64(time.Second)); err != nil || got < actual-slack || got > actual+slack {
		t.Errorf("downtime-s = %q, the endpoint was down %s; want it within %s", run.outputs["downtime-s"], actual, slack)
	}
	if got := run.outputs["downtime-target"]; got != "GET /api/items/42" {
		t.Errorf("downtime-target = %q, want GET /api/items/42", got)
	}
	if got := run.outputs["outage-s"]; got != "0.000" {
		t.Errorf("outage-s = %q, want 0.000: the other endpoints kept answering", got)
	}
	if run.outputs["recovered"] != "true" {
		t.Errorf("recovered = %q, want true", run.outputs["recovered"])
	}
	sentence := "requests to `GET /api/items/42` answered bad gateway (502) for "
	if !strings.Contains(run.summary, sentence) || !strings.Contains(run.summary, `during step "Deploy task definition"; recovered`) {
		t.Errorf("summary does not tell the outage of GET /api/items/42:\n%s", run.summary)
	}
	if !strings.Contains(run.stdout, "::error title=GET /api/items/42 down for ") {
		t.Errorf("no annotation names the endpoint:\n%s", run.stdout)
	}
}

func TestAFifthOfASecondOfOutageFailsWithTheDefaults(t *testing.T) {
	t.Parallel()
	api := startAPI(t)
	github := checktest.GitHub(t, "success", func() {
		checktest.WaitUntil(checktest.HitsAtLeast(api, 30))
		if err := api.Restart("v2", 200*time.Millisecond); err != nil {
			t.Error(err)
		}
		checktest.WaitUntil(checktest.HitsAtLeast(api, 30))
	}, deploytest.WithToken(testToken))
	// What a new user sets: targets, a workflow, the token (and a rate
	// and windows, which have nothing to do with the limits, to keep the
	// test short).
	inputs := map[string]string{
		"targets":                threeEndpoints(api),
		"rate":                   "60/1s",
		"head":                   "1s",
		"tail":                   "1s",
		"workflow":               "deploy-staging.yml",
		"repository":             deploytest.DefaultOwner + "/" + deploytest.DefaultRepo,
		"poll-interval":          "1s",
		"fail-on-load-shortfall": "false",
	}
	run := runBinary(t, nil, inputs, map[string]string{"GITHUB_API_URL": github.URL})
	if run.exit != exitBreach || run.outputs["verdict"] != "fail" {
		t.Fatalf("exit %d, verdict %q; want %d, fail\nsummary:\n%s", run.exit, run.outputs["verdict"], exitBreach, run.summary)
	}
	if !strings.Contains(run.summary, "were refused") || !strings.Contains(run.summary, "- ✗ `downtime<=0s` (max-downtime)") {
		t.Errorf("summary does not tell the refusals against max-downtime 0s:\n%s", run.summary)
	}
}

// leftBroken is a stand-in GitHub whose deploy leaves every endpoint of
// api answering code, 30 requests into the deploy, until the test ends.
func leftBroken(t *testing.T, api *demo.API, code int) *deploytest.Server {
	t.Helper()
	return checktest.GitHub(t, "success", func() {
		checktest.WaitUntil(checktest.HitsAtLeast(api, 30))
		api.Break("/", code)
		checktest.WaitUntil(checktest.HitsAtLeast(api, 30))
	}, deploytest.WithToken(testToken))
}

func TestAnAPILeftBrokenFailsAndNeverRecovered(t *testing.T) {
	t.Parallel()
	api := startAPI(t)
	// The deploy resets the gateway's throttling to zero: every answer
	// is 429 from then on.
	github := leftBroken(t, api, http.StatusTooManyRequests)
	run := runBinary(t, nil, deployInputs(api, github, map[string]string{"targets": threeEndpoints(api), "rate": "60/1s"}), map[string]string{"GITHUB_API_URL": github.URL})
	if run.exit != exitBreach || run.outputs["recovered"] != "false" {
		t.Fatalf("exit %d, recovered %q; want %d, false\nsummary:\n%s", run.exit, run.outputs["recovered"], exitBreach, run.summary)
	}
	summaryHas(t, run, "to all 3 endpoints answered rate limited (429) for ", "never recovered: still failing when the load stopped, ")
	if !strings.Contains(run.stdout, "::error title=Deploy load check%3A fail::fail: ") || !strings.Contains(run.stdout, "never recovered") {
		t.Errorf("the annotation does not say the API never recovered:\n%s", run.stdout)
	}
}

func TestAHeadThatWasAlreadyFailingIsInconclusive(t *testing.T) {
	t.Parallel()
	api := startAPI(t)
	// One endpoint breaks as the head window begins (the pre-flight has
	// asked each endpoint once, and the load has begun) and is fixed when
	// the deploy starts: whatever the deploy does, it cannot be told.
	broken := make(chan struct{})
	go func() {
		defer close(broken)
		checktest.WaitUntil(checktest.HitsAtLeast(api, 4))
		api.Break("/api/items", http.StatusServiceUnavailable)
	}()
	github := checktest.GitHub(t, "success", func() {
		<-broken
		api.Heal("/api/items")
	}, deploytest.WithToken(testToken))
	run := runBinary(t, nil, deployInputs(api, github, map[string]string{"targets": threeEndpoints(api), "rate": "60/1s", "head": "2s"}), map[string]string{"GITHUB_API_URL": github.URL})
	if run.exit != exitInconclusive || run.outputs["verdict"] != "inconclusive" {
		t.Fatalf("exit %d, verdict %q; want %d, inconclusive\nsummary:\n%s", run.exit, run.outputs["verdict"], exitInconclusive, run.summary)
	}
	summaryHas(t, run, "## ⚠️ Deploy load check — inconclusive", "staging was failing before the deploy", "cannot vouch for the deploy either way")
}
