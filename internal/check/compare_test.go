package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/targets/replay"
)

// alternatingLog alternates two endpoints, five requests each: a file
// whose length shares a factor with one in ten, so that sampling every
// tenth request would compare the same line on every pass.
const alternatingLog = `203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /v1/search?q=1 HTTP/1.1" 200 10 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /v1/images/1 HTTP/1.1" 200 10 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:02 +0000] "GET /v1/search?q=2 HTTP/1.1" 200 10 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:02 +0000] "GET /v1/images/2 HTTP/1.1" 200 10 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:03 +0000] "GET /v1/search?q=3 HTTP/1.1" 200 10 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:03 +0000] "GET /v1/images/3 HTTP/1.1" 200 10 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:04 +0000] "GET /v1/search?q=4 HTTP/1.1" 200 10 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:04 +0000] "GET /v1/images/4 HTTP/1.1" 200 10 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:05 +0000] "GET /v1/search?q=5 HTTP/1.1" 200 10 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:05 +0000] "GET /v1/images/5 HTTP/1.1" 200 10 "-" "curl/8.5"
`

func TestEveryPatternAndEveryLineGetsItsShareOfComparisons(t *testing.T) {
	t.Parallel()
	cfg := parse(t, map[string]string{
		"replay-file":     writeLog(t, alternatingLog),
		"replay-base-url": "http://127.0.0.1:8080",
		"compare-url":     "http://127.0.0.1:8081",
	})
	if cfg.Compare.Sample != 0.1 {
		t.Fatalf("compare-sample %v, want the default 10%%", cfg.Compare.Sample)
	}
	names := []string{"GET /v1/search", "GET /v1/images/{id}"}
	c := newComparisons(cfg, names, nil)
	r, err := replay.Open(cfg.Replay.File, cfg.Replay.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const passes = 100
	picked := map[string]int{} // by URL
	perPattern := map[string]int{}
	var first []string
	for n := range passes * 10 {
		var req replay.Request
		if err := r.Next(&req); err != nil {
			t.Fatal(err)
		}
		pattern := req.Method + " " + replay.PathPattern(req.URL)
		target := slices.Index(names, pattern)
		if c.pick(target, pattern, &req) != 0 {
			picked[req.URL]++
			perPattern[pattern]++
			if n < 2 {
				first = append(first, pattern)
			}
		}
	}
	// The first request of each pattern is always compared.
	if !slices.Equal(first, names) {
		t.Errorf("of the first two requests, %v were compared; want both, one of each pattern", first)
	}
	// Each pattern gets about its share, and no line is left out however
	// the file's period falls.
	for _, pattern := range names {
		if got := perPattern[pattern]; got < passes*5/20 || got > passes*5*3/20 {
			t.Errorf("%s: %d of its %d requests compared, want about 10%%", pattern, got, passes*5)
		}
	}
	for line := range 5 {
		for _, url := range []string{fmt.Sprintf("http://127.0.0.1:8080/v1/search?q=%d", line+1), fmt.Sprintf("http://127.0.0.1:8080/v1/images/%d", line+1)} {
			if picked[url] == 0 {
				t.Errorf("%s was never compared in %d passes; compared: %v", url, passes, picked)
			}
		}
	}
}

// versionedAPI names its version only at /status, in build.version; its
// images are retitled by the switch to v2.
type versionedAPI struct {
	*httptest.Server
	v2 atomic.Bool
	// afterStatus counts the images served by v2 once a v2 /status was
	// served: answers that can only be taken for v2's.
	statusV2    atomic.Bool
	afterStatus atomic.Int64
	hits        atomic.Int64
}

func startVersionedAPI(t *testing.T) *versionedAPI {
	t.Helper()
	api := &versionedAPI{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		version := "v1"
		if api.v2.Load() {
			version = "v2"
			api.statusV2.Store(true)
		}
		writeTestJSON(w, map[string]any{"status": "ok", "build": map[string]string{"version": version, "region": "eu"}})
	})
	mux.HandleFunc("GET /v1/images/{id}", func(w http.ResponseWriter, r *http.Request) {
		title := "Harbour at dusk"
		if api.v2.Load() {
			title = "Harbour at nightfall"
			if api.statusV2.Load() {
				api.afterStatus.Add(1)
			}
		}
		writeTestJSON(w, map[string]any{"id": r.PathValue("id"), "title": title})
	})
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	return api
}

func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func TestAVersionFieldOnOneEndpointComparesEveryEndpointAcrossTheCutOver(t *testing.T) {
	t.Parallel()
	api := startVersionedAPI(t)
	recording := `203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /status HTTP/1.1" 200 10 "-" "kube-probe/1.30"
203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /v1/images/1 HTTP/1.1" 200 10 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:02 +0000] "GET /v1/images/2 HTTP/1.1" 200 10 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:02 +0000] "GET /v1/images/3 HTTP/1.1" 200 10 "-" "curl/8.5"
`
	cfg := parse(t, map[string]string{
		"replay-file":            writeLog(t, recording),
		"replay-base-url":        api.URL,
		"version-field":          "build.version",
		"rate":                   "100/1s",
		"fail-on-load-shortfall": "false",
	})
	// The load runs on v1 for a while, then the API switches to v2, and
	// the run ends once v2 has served images after showing its version.
	var switched sync.Once
	gate := func() bool {
		if api.hits.Load() < 40 {
			return false
		}
		switched.Do(func() { api.v2.Store(true) })
		return api.afterStatus.Load() >= 20
	}
	rep, err := Run(context.Background(), cfg, Deps{Clock: checktest.Gates(gate)})
	if err != nil {
		t.Fatal(err)
	}
	k := rep.Compare.CutOver
	if k == nil || k.Old != "v1" || k.New != "v2" {
		t.Fatalf("cut-over %+v, want v1 then v2", k)
	}
	fields := map[string][]string{}
	for _, e := range k.Summary.Endpoints {
		for _, f := range e.Fields {
			fields[e.Pattern] = append(fields[e.Pattern], f.Field)
		}
	}
	// The images carry no version, yet their change is found; the
	// version itself is not a difference.
	if !slices.Equal(fields["GET /v1/images/{id}"], []string{"$.title"}) || len(fields["GET /status"]) != 0 {
		t.Errorf("fields that differed %v; want $.title on the images alone", fields)
	}
	if k.Inferred == 0 {
		t.Errorf("cut-over %+v counts no answer whose version was the latest shown", k)
	}
	ignored := false
	for _, n := range k.Summary.Noise {
		ignored = ignored || n.Pattern == "GET /status" && n.Rule == "$.build.version" && n.From == "version-field" && !n.Learnt
	}
	if !ignored {
		t.Errorf("noise %+v, want $.build.version at /status ignored as the version-field", k.Summary.Noise)
	}
	if slices.Contains(k.NotCompared, "GET /v1/images/{id}") {
		t.Errorf("the images are listed as never compared: %v", k.NotCompared)
	}
}

func TestARecordedCookieKeptIsSentAndMaskedInTheSummary(t *testing.T) {
	t.Parallel()
	type echo struct {
		*httptest.Server
		hits    atomic.Int64
		cookies sync.Map // the Cookie and Authorization headers received
	}
	start := func(name string) *echo {
		e := &echo{}
		e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.hits.Add(1)
			e.cookies.Store("Cookie: "+r.Header.Get("Cookie"), true)
			e.cookies.Store("Authorization: "+r.Header.Get("Authorization"), true)
			writeTestJSON(w, map[string]string{"you_sent": r.Header.Get("Cookie"), "served_by": name})
		}))
		t.Cleanup(e.Close)
		return e
	}
	staging, baseline := start("staging"), start("production")
	recording := `{"method": "GET", "path": "/v1/me", "headers": {"Cookie": "sid=recorded-session-4711; theme=dark", "Authorization": "Bearer recorded-token-0815"}}` + "\n"
	cfg := parse(t, map[string]string{
		"replay-file":            writeLog(t, recording),
		"replay-base-url":        staging.URL,
		"replay-headers":         "cookie",
		"compare-url":            baseline.URL,
		"compare-sample":         "100%",
		"rate":                   "50/1s",
		"fail-on-load-shortfall": "false",
	})
	rep, err := Run(context.Background(), cfg, Deps{Clock: checktest.Gates(func() bool { return baseline.hits.Load() >= 10 })})
	if err != nil {
		t.Fatal(err)
	}
	// The cookie named was sent to both; the token was not.
	for name, srv := range map[string]*echo{"staging": staging, "the baseline": baseline} {
		if _, ok := srv.cookies.Load("Cookie: sid=recorded-session-4711; theme=dark"); !ok {
			t.Errorf("%s never got the recorded cookie", name)
		}
		if _, ok := srv.cookies.Load("Authorization: "); !ok {
			t.Errorf("%s got a recorded Authorization header, which replay-headers does not name", name)
		}
	}
	b := rep.Compare.Baseline
	if b == nil || b.Mismatched == 0 || len(b.Endpoints) != 1 || len(b.Endpoints[0].Fields) != 1 || b.Endpoints[0].Fields[0].Field != "$.served_by" {
		t.Fatalf("baseline comparisons %+v, want every answer differing in $.served_by", b)
	}
	var summary strings.Builder
	if err := writeReport(&summary, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(summary.String(), "recorded-session-4711") {
		t.Errorf("the summary shows the recorded cookie:\n%s", summary.String())
	}
	if !strings.Contains(summary.String(), `"you_sent":"***"`) {
		t.Errorf("the summary lacks the sample answer with the cookie masked:\n%s", summary.String())
	}
}

// writeReport writes the summary and the JSON report, as users read them.
func writeReport(w io.Writer, rep *report.Report) error {
	if err := report.WriteMarkdown(w, rep); err != nil {
		return err
	}
	return report.WriteJSON(w, rep)
}
