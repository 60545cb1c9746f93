package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
)

// These tests replay a recorded access log through the whole action, and
// compare staging's answers with a baseline's, with real servers on
// loopback.

// recordedLog is an nginx access log: reads of images and searches, a
// health probe, and a POST that must not be replayed by default.
const recordedLog = `203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /v1/images/1842 HTTP/1.1" 200 5120 "https://app.example.com/gallery" "Mozilla/5.0"
198.51.100.23 - alice [23/Nov/2026:12:00:02 +0000] "POST /v1/images HTTP/1.1" 201 412 "https://app.example.com/upload" "Mozilla/5.0"
192.0.2.44 - - [23/Nov/2026:12:00:02 +0000] "HEAD /health HTTP/1.1" 200 0 "-" "kube-probe/1.30"
203.0.113.7 - - [23/Nov/2026:12:00:03 +0000] "GET /v1/search?q=red+bicycle&page=2 HTTP/1.1" 200 2311 "-" "okhttp/4.12.0"
203.0.113.7 - - [23/Nov/2026:12:00:03 +0000] "GET /v1/images/1843?size=thumb HTTP/1.1" 200 980 "-" "okhttp/4.12.0"
`

// imageAPI is a small API on loopback that answers the recorded requests
// and remembers what it was asked.
type imageAPI struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	seen map[string]int // "METHOD /path?query"
}

// apiVariant says how an imageAPI answers.
type apiVariant struct {
	searchTotal int    // the total the search answers
	stamped     bool   // answers carry the time they were served
	title       string // the images' title; "Harbour at dusk" when empty
}

func startImageAPI(t *testing.T, v apiVariant) *imageAPI {
	t.Helper()
	api := &imageAPI{seen: map[string]int{}}
	mux := http.NewServeMux()
	stamp := func(m map[string]any) map[string]any {
		if v.stamped {
			m["served_at"] = time.Now().Format(time.RFC3339Nano)
		}
		return m
	}
	mux.HandleFunc("GET /v1/images/{id}", func(w http.ResponseWriter, r *http.Request) {
		title := v.title
		if title == "" {
			title = "Harbour at dusk"
		}
		writeJSON(w, stamp(map[string]any{"id": r.PathValue("id"), "title": title, "size": r.URL.Query().Get("size")}))
	})
	mux.HandleFunc("GET /v1/search", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, stamp(map[string]any{"q": r.URL.Query().Get("q"), "total": v.searchTotal, "results": []int{1842, 1843}}))
	})
	mux.HandleFunc("HEAD /health", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /v1/images", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.hits.Add(1)
		api.mu.Lock()
		api.seen[r.Method+" "+r.URL.RequestURI()]++
		api.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	return api
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// asked returns what the API was asked, by request line.
func (a *imageAPI) asked() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]int, len(a.seen))
	for k, v := range a.seen {
		out[k] = v
	}
	return out
}

// atLeast is a condition that holds once the API has answered n requests.
func (a *imageAPI) atLeast(n int64) func() bool {
	return func() bool { return a.hits.Load() >= n }
}

// replayInputs are the inputs of a replay of recordedLog on staging.
func replayInputs(t *testing.T, staging *imageAPI, more map[string]string) map[string]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte(recordedLog), 0o644); err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{
		"replay-file":     path,
		"replay-base-url": staging.URL,
		"rate":            "50/1s",
		// These tests are about what is sent and compared, not about the
		// generator, and share the machine under the race detector.
		"fail-on-load-shortfall": "false",
	}
	for k, v := range more {
		inputs[k] = v
	}
	return inputs
}

// jsonReport reads the run's JSON report into v.
func jsonReport(t *testing.T, run actionRun, v any) {
	t.Helper()
	raw, err := os.ReadFile(run.outputs["report"])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

func TestAReplayedAccessLogSendsItsPathsAndSkipsItsPOSTs(t *testing.T) {
	t.Parallel()
	staging := startImageAPI(t, apiVariant{searchTotal: 48})
	run := runCommand(t, checktest.Gates(staging.atLeast(60)), replayInputs(t, staging, nil), map[string]string{"GITHUB_API_URL": githubNeverCalled(t)})
	if run.exit != exitPass {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", run.exit, exitPass, run.stdout, run.stderr)
	}
	asked := staging.asked()
	for _, want := range []string{"GET /v1/images/1842", "HEAD /health", "GET /v1/search?q=red+bicycle&page=2", "GET /v1/images/1843?size=thumb"} {
		if asked[want] == 0 {
			t.Errorf("staging was never asked %q; it was asked %v", want, asked)
		}
	}
	for request := range asked {
		if strings.HasPrefix(request, "POST ") {
			t.Errorf("staging was asked %q, a POST the default replay-methods skip", request)
		}
	}
	requests, err := strconv.Atoi(run.outputs["requests"])
	if err != nil || int64(requests)+1 != staging.hits.Load() {
		t.Errorf("requests output %q; staging answered %d (the load and one pre-flight)", run.outputs["requests"], staging.hits.Load())
	}
	if got := run.outputs["mismatch-rate"]; got != "" {
		t.Errorf("mismatch-rate = %q without compare-url, want empty", got)
	}
	summaryHas(t, run, "<summary>Per endpoint (3)</summary>", "| `GET /v1/images/{id}` |", "| `HEAD /health` |", "| `GET /v1/search` |",
		"<summary>Replay: ", "| POST (method not in replay-methods) |")
	var rep struct {
		Replay struct {
			Requests int            `json:"requests"`
			Cycles   int            `json:"cycles"`
			Skipped  map[string]int `json:"skipped_methods"`
		} `json:"replay"`
		Compare *struct{} `json:"compare"`
	}
	jsonReport(t, run, &rep)
	// The file is read from the top again each time it runs out: each
	// pass begun skipped the POST once.
	if r := rep.Replay; r.Requests < requests || r.Skipped["POST"] < 1 || r.Skipped["POST"] > r.Cycles+1 {
		t.Errorf("report's replay %+v, want at least %d requests and one POST skipped a pass", r, requests)
	}
	if rep.Compare != nil {
		t.Error("the report has comparisons without compare-url")
	}
}

// compareRun replays recordedLog on staging, comparing every answer with
// baseline under max-mismatch-rate 0%, until the baseline has answered
// 60 comparison requests.
func compareRun(t *testing.T, staging, baseline *imageAPI) actionRun {
	t.Helper()
	inputs := replayInputs(t, staging, map[string]string{
		"compare-url":       baseline.URL,
		"compare-sample":    "100%",
		"max-mismatch-rate": "0%",
	})
	return runCommand(t, checktest.Gates(baseline.atLeast(60)), inputs, map[string]string{"GITHUB_API_URL": githubNeverCalled(t)})
}

// compareReport is the comparisons as the JSON report has them.
type compareReport struct {
	Requests int `json:"requests"`
	Compare  struct {
		Pass     bool `json:"pass"`
		Baseline struct {
			Compared   int `json:"compared"`
			Mismatched int `json:"mismatched"`
			Endpoints  []struct {
				Pattern    string `json:"pattern"`
				Mismatched int    `json:"mismatched"`
				Fields     []struct {
					Field string `json:"field"`
				} `json:"fields"`
			} `json:"endpoints"`
			Noise []struct {
				Pattern string `json:"pattern"`
				Rule    string `json:"rule"`
				Learnt  bool   `json:"learnt"`
				Ignored int    `json:"ignored"`
			} `json:"noise"`
		} `json:"baseline"`
	} `json:"compare"`
}

func TestABaselineThatAnswersOneEndpointDifferentlyFailsAndNamesIt(t *testing.T) {
	t.Parallel()
	staging := startImageAPI(t, apiVariant{searchTotal: 47})
	baseline := startImageAPI(t, apiVariant{searchTotal: 48})
	run := compareRun(t, staging, baseline)

	if run.exit != exitBreach || run.outputs["verdict"] != "fail" {
		t.Fatalf("exit %d, verdict %q; want %d, fail\nstdout:\n%s\nstderr:\n%s", run.exit, run.outputs["verdict"], exitBreach, run.stdout, run.stderr)
	}
	var rep compareReport
	jsonReport(t, run, &rep)
	b := rep.Compare.Baseline
	if rep.Compare.Pass || b.Compared < 20 || b.Mismatched == 0 {
		t.Fatalf("comparisons %+v, want 20 or more with some differing", rep.Compare)
	}
	for _, e := range b.Endpoints {
		switch {
		case e.Pattern == "GET /v1/search" && e.Mismatched > 0 && len(e.Fields) == 1 && e.Fields[0].Field == "$.total":
		case e.Pattern != "GET /v1/search" && e.Mismatched == 0:
		default:
			t.Errorf("endpoint %s: %d differed, in %+v; want only the search, in $.total", e.Pattern, e.Mismatched, e.Fields)
		}
	}
	if got, want := run.outputs["mismatch-rate"], strconv.FormatFloat(float64(b.Mismatched)/float64(b.Compared), 'f', -1, 64); got != want {
		t.Errorf("mismatch-rate = %q, want %s", got, want)
	}
	// The finding names the endpoint and the field before any section.
	firstScreen, _, _ := strings.Cut(run.summary, "**Thresholds**")
	for _, want := range []string{"above max-mismatch-rate 0.00%", "GET /v1/search answered differently in \\$.total"} {
		if !strings.Contains(firstScreen, want) {
			t.Errorf("the summary's first lines lack %q:\n%s", want, firstScreen)
		}
	}
	if !strings.Contains(run.summary, "- ✗ `mismatch_rate<=0%` (max-mismatch-rate)") || !strings.Contains(run.summary, "<details open><summary>Answers compared with the baseline") {
		t.Errorf("summary lacks the failed threshold or the open comparison section:\n%s", run.summary)
	}
	// Comparison traffic went to the baseline alone, and the load's
	// figures are staging's: every request counted was one staging
	// answered, beside one pre-flight.
	if int64(rep.Requests)+1 != staging.hits.Load() {
		t.Errorf("the load counted %d requests, staging answered %d (with one pre-flight)", rep.Requests, staging.hits.Load())
	}
	if got := baseline.hits.Load(); got < 2*int64(b.Compared) {
		t.Errorf("the baseline answered %d requests for %d comparisons, want two each", got, b.Compared)
	}
}

func TestAnIdenticalBaselinePasses(t *testing.T) {
	t.Parallel()
	staging := startImageAPI(t, apiVariant{searchTotal: 48})
	baseline := startImageAPI(t, apiVariant{searchTotal: 48})
	run := compareRun(t, staging, baseline)
	if run.exit != exitPass || run.outputs["mismatch-rate"] != "0" {
		t.Fatalf("exit %d, mismatch-rate %q; want %d, 0\nstdout:\n%s\nstderr:\n%s", run.exit, run.outputs["mismatch-rate"], exitPass, run.stdout, run.stderr)
	}
	var rep compareReport
	jsonReport(t, run, &rep)
	if b := rep.Compare.Baseline; !rep.Compare.Pass || b.Compared < 20 || len(b.Noise) != 0 {
		t.Errorf("comparisons %+v, want 20 or more, passing, with no noise to learn", rep.Compare)
	}
	if !strings.Contains(run.summary, "- ✓ `mismatch_rate<=0%` (max-mismatch-rate): 0.00%") {
		t.Errorf("summary lacks the threshold held:\n%s", run.summary)
	}
}

func TestATimestampThatDiffersOnEveryCallIsLearntAsNoise(t *testing.T) {
	t.Parallel()
	staging := startImageAPI(t, apiVariant{searchTotal: 48, stamped: true})
	baseline := startImageAPI(t, apiVariant{searchTotal: 48, stamped: true})
	run := compareRun(t, staging, baseline)
	if run.exit != exitPass || run.outputs["mismatch-rate"] != "0" {
		t.Fatalf("exit %d, mismatch-rate %q; want %d, 0\nstdout:\n%s\nstderr:\n%s", run.exit, run.outputs["mismatch-rate"], exitPass, run.stdout, run.stderr)
	}
	var rep compareReport
	jsonReport(t, run, &rep)
	learnt := map[string]int{}
	for _, n := range rep.Compare.Baseline.Noise {
		if n.Rule == "$.served_at" && n.Learnt {
			learnt[n.Pattern] += n.Ignored
		}
	}
	// Every answer with a body was served at its own moment.
	for _, pattern := range []string{"GET /v1/images/{id}", "GET /v1/search"} {
		if learnt[pattern] == 0 {
			t.Errorf("%s: $.served_at was not learnt as noise; noise %+v", pattern, rep.Compare.Baseline.Noise)
		}
	}
	if want := fmt.Sprintf("| `GET /v1/search` | `$.served_at` | learnt: it differed between two answers to the same request | %d |", learnt["GET /v1/search"]); !strings.Contains(run.summary, want) {
		t.Errorf("summary lacks %q:\n%s", want, run.summary)
	}
}

// alternatingLog alternates searches and images, five of each: ten lines,
// a period that sampling every tenth request would fall on the same line
// of on every pass.
const alternatingLog = `203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /v1/search?q=1 HTTP/1.1" 200 10 "-" "okhttp/4.12.0"
203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /v1/images/1 HTTP/1.1" 200 10 "-" "okhttp/4.12.0"
203.0.113.7 - - [23/Nov/2026:12:00:02 +0000] "GET /v1/search?q=2 HTTP/1.1" 200 10 "-" "okhttp/4.12.0"
203.0.113.7 - - [23/Nov/2026:12:00:02 +0000] "GET /v1/images/2 HTTP/1.1" 200 10 "-" "okhttp/4.12.0"
203.0.113.7 - - [23/Nov/2026:12:00:03 +0000] "GET /v1/search?q=3 HTTP/1.1" 200 10 "-" "okhttp/4.12.0"
203.0.113.7 - - [23/Nov/2026:12:00:03 +0000] "GET /v1/images/3 HTTP/1.1" 200 10 "-" "okhttp/4.12.0"
203.0.113.7 - - [23/Nov/2026:12:00:04 +0000] "GET /v1/search?q=4 HTTP/1.1" 200 10 "-" "okhttp/4.12.0"
203.0.113.7 - - [23/Nov/2026:12:00:04 +0000] "GET /v1/images/4 HTTP/1.1" 200 10 "-" "okhttp/4.12.0"
203.0.113.7 - - [23/Nov/2026:12:00:05 +0000] "GET /v1/search?q=5 HTTP/1.1" 200 10 "-" "okhttp/4.12.0"
203.0.113.7 - - [23/Nov/2026:12:00:05 +0000] "GET /v1/images/5 HTTP/1.1" 200 10 "-" "okhttp/4.12.0"
`

func TestABaselineThatRetitlesImagesFailsAtTheDefaultSample(t *testing.T) {
	t.Parallel()
	staging := startImageAPI(t, apiVariant{searchTotal: 48})
	baseline := startImageAPI(t, apiVariant{searchTotal: 48, title: "Harbour at dawn"})
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte(alternatingLog), 0o644); err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{
		"replay-file":            path,
		"replay-base-url":        staging.URL,
		"compare-url":            baseline.URL,
		"max-mismatch-rate":      "0%",
		"rate":                   "50/1s",
		"fail-on-load-shortfall": "false",
	}
	// Ten passes over the file at the default sample of 10%.
	run := runCommand(t, checktest.Gates(staging.atLeast(100)), inputs, map[string]string{"GITHUB_API_URL": githubNeverCalled(t)})
	if run.exit != exitBreach || run.outputs["verdict"] != "fail" {
		t.Fatalf("exit %d, verdict %q; want %d, fail\nstdout:\n%s\nstderr:\n%s", run.exit, run.outputs["verdict"], exitBreach, run.stdout, run.stderr)
	}
	var rep compareReport
	jsonReport(t, run, &rep)
	found := false
	for _, e := range rep.Compare.Baseline.Endpoints {
		for _, f := range e.Fields {
			found = found || e.Pattern == "GET /v1/images/{id}" && f.Field == "$.title"
		}
	}
	if !found {
		t.Errorf("comparisons %+v do not name $.title at GET /v1/images/{id}", rep.Compare.Baseline)
	}
	firstScreen, _, _ := strings.Cut(run.summary, "**Thresholds**")
	if !strings.Contains(firstScreen, "GET /v1/images/{id} answered differently in \\$.title") {
		t.Errorf("the summary's first lines do not name the images' title:\n%s", firstScreen)
	}
	// Both endpoints were asked of the baseline, not one line of the file.
	asked := baseline.asked()
	var images, searches int
	for request := range asked {
		switch {
		case strings.HasPrefix(request, "GET /v1/images/"):
			images++
		case strings.HasPrefix(request, "GET /v1/search"):
			searches++
		}
	}
	if images == 0 || searches == 0 {
		t.Errorf("the baseline was asked %v; want images and searches", asked)
	}
}
