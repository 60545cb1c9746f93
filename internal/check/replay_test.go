package check

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
	cfgpkg "github.com/zerodowntime/deploy-load-check/internal/config"
)

// demoLog is an access log of the demo API's endpoints, with a POST.
const demoLog = `203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /api/items/1 HTTP/1.1" 200 12 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /health HTTP/1.1" 200 30 "-" "kube-probe/1.30"
203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "POST /api/orders HTTP/1.1" 201 20 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:02 +0000] "GET /api/items HTTP/1.1" 200 40 "-" "curl/8.5"
203.0.113.7 - - [23/Nov/2026:12:00:02 +0000] "GET /api/items/2?fields=id HTTP/1.1" 200 12 "-" "curl/8.5"
`

func writeLog(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestARecordingFeedsTheLoadUnderItsEndpointPatterns(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	cfg := parse(t, map[string]string{
		"replay-file":            writeLog(t, demoLog),
		"replay-base-url":        api.URL,
		"rate":                   "100/1s",
		"fail-on-load-shortfall": "false",
	})
	var log bytes.Buffer
	rep, err := Run(context.Background(), cfg, Deps{Clock: checktest.Gates(checktest.HitsAtLeast(api, 60)), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Passed() {
		t.Errorf("verdict %s: %v", rep.Verdict(), rep.Reasons())
	}
	var names []string
	for _, target := range rep.Summary.Targets {
		names = append(names, target.Name)
		if target.Requests == 0 {
			t.Errorf("endpoint %s got no request", target.Name)
		}
	}
	if diff := cmp.Diff([]string{"GET /api/items/{id}", "GET /health", "GET /api/items"}, names); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	rp := rep.Replay
	if rp == nil || rp.Format != "access-log" || rp.Patterns != 3 || rp.Capped {
		t.Fatalf("replay %+v", rp)
	}
	// Each pass over the file skips its POST: the passes begun, counted
	// by the cycles, each skipped one.
	if rp.Skipped["POST"] == 0 || rp.Skipped["POST"] > uint64(rp.Cycles)+1 || rp.Cycles == 0 {
		t.Errorf("skipped %v in %d cycles, want one POST a pass", rp.Skipped, rp.Cycles)
	}
	// The generator was handed what the API was sent, and one pre-flight.
	if got, want := api.Hits(), rep.Summary.Overall.Requests+1; got != want || rp.Requests < uint64(rep.Summary.Overall.Requests) {
		t.Errorf("the API answered %d, the load counted %d and the replay handed out %d; want the load and one pre-flight", got, rep.Summary.Overall.Requests, rp.Requests)
	}
	if rep.Compare != nil {
		t.Errorf("compared %+v without a baseline or version", rep.Compare)
	}
	if !strings.Contains(log.String(), "replay: ") || !strings.Contains(log.String(), "in 3 endpoint patterns") {
		t.Errorf("log lacks the scan:\n%s", log.String())
	}
}

func TestTheNewVersionsAnswersAreComparedWithTheOldOnes(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	github := checktest.GitHub(t, "success", func() {
		checktest.WaitUntil(checktest.HitsAtLeast(api, 40))
		api.Reload("v2")
		checktest.WaitUntil(checktest.HitsAtLeast(api, 40))
	})
	inputs := checktest.DeployInputs(api, map[string]string{
		"targets":         "",
		"replay-file":     writeLog(t, demoLog),
		"replay-base-url": api.URL,
		"version-header":  "X-Version",
		"compare-sample":  "50%",
	})
	cfg := parse(t, inputs)
	rep, err := Run(context.Background(), cfg, Deps{GitHub: checktest.Client(t, github), Clock: checktest.Gates(checktest.HitsAtLeast(api, 60), checktest.HitsAtLeast(api, 60))})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Passed() {
		t.Errorf("verdict %s: %v; the cut-over is reported, not judged", rep.Verdict(), rep.Reasons())
	}
	c := rep.Compare
	if c == nil || c.CutOver == nil || c.Baseline != nil {
		t.Fatalf("compare %+v, want the cut-over alone", c)
	}
	k := c.CutOver
	if k.Old != "v1" || k.New != "v2" || k.Kept == 0 || k.Summary.Compared == 0 {
		t.Fatalf("cut-over %+v, want v1's answers compared with v2's", k)
	}
	// Only the health body names the version; the items answer alike.
	for _, e := range k.Summary.Endpoints {
		var fields []string
		for _, f := range e.Fields {
			fields = append(fields, f.Field)
		}
		switch {
		case e.Pattern == "GET /health" && e.Mismatched > 0 && slices.Equal(fields, []string{"$.version"}):
		case e.Pattern != "GET /health" && e.Mismatched == 0:
		default:
			t.Errorf("endpoint %s: %d of %d differed in %v", e.Pattern, e.Mismatched, e.Compared, fields)
		}
	}
}

func TestARecordingThatCannotBeSentStopsBeforeAnyLoad(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	tests := []struct {
		name   string
		inputs map[string]string
		input  string
		want   string
	}{
		{"nothing but POSTs", map[string]string{"replay-file": writeLog(t, `1.2.3.4 - - [23/Nov/2026:12:00:00 +0000] "POST /api/orders HTTP/1.1" 201 1`+"\n")}, "replay-file", "POST 1"},
		{"nothing that reads as a request", map[string]string{"replay-file": writeLog(t, "hello\nworld\n")}, "replay-file", "nothing in it reads as"},
		{"a recorded pace above max-rate", map[string]string{"replay-file": writeLog(t, strings.Repeat(`1.2.3.4 - - [23/Nov/2026:12:00:00 +0000] "GET /health HTTP/1.1" 200 1`+"\n", 20)), "replay-speed": "1x", "max-rate": "10/1s", "rate": "5/1s"}, "replay-speed", "up to 20 requests in one second"},
		{"a baseline that is down", map[string]string{"replay-file": writeLog(t, demoLog), "compare-url": "http://127.0.0.1:1"}, "compare-url", "pre-flight failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inputs := map[string]string{"replay-base-url": api.URL, "preflight-timeout": "1s"}
			for k, v := range tt.inputs {
				inputs[k] = v
			}
			before := api.Hits()
			rep, err := Run(context.Background(), parse(t, inputs), Deps{Clock: checktest.Gates()})
			var cerr *cfgpkg.Error
			if rep != nil || !errors.As(err, &cerr) || cerr.Input != tt.input || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("report %v, error %v; want no report and an error naming %s that says %q", rep != nil, err, tt.input, tt.want)
			}
			// At most the pre-flight reached the API.
			if sent := api.Hits() - before; sent > 1 {
				t.Errorf("the API answered %d requests before the run stopped", sent)
			}
		})
	}
}

func TestOnlyTheHostsListedAreReplayed(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	recording := `{"method": "GET", "url": "https://api.example.com/api/items/7", "headers": {"Cookie": "sid=1"}}
{"method": "GET", "url": "https://fonts.example.net/css?family=Inter"}
{"method": "GET", "url": "https://api.example.com/health"}
`
	cfg := parse(t, map[string]string{
		"replay-file":            writeLog(t, recording),
		"replay-base-url":        api.URL,
		"replay-hosts":           "api.example.com",
		"rate":                   "100/1s",
		"fail-on-load-shortfall": "false",
	})
	rep, err := Run(context.Background(), cfg, Deps{Clock: checktest.Gates(checktest.HitsAtLeast(api, 30))})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, target := range rep.Summary.Targets {
		names = append(names, target.Name)
	}
	if diff := cmp.Diff([]string{"GET /api/items/{id}", "GET /health"}, names); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	if rep.Replay.Format != "jsonl" || rep.Replay.OtherHost == 0 || rep.Summary.Overall.Failures != 0 {
		t.Errorf("replay %+v, %d failures; want the other host's entry skipped each pass, none failed", rep.Replay, rep.Summary.Overall.Failures)
	}
}

func TestTheRecordedPaceSchedulesTheLoad(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	// Three requests a second apart: at the recorded pace the schedule
	// asks for about one a second, far below the rate of untimed entries.
	recording := `1.2.3.4 - - [23/Nov/2026:12:00:00 +0000] "GET /health HTTP/1.1" 200 1
1.2.3.4 - - [23/Nov/2026:12:00:01 +0000] "GET /api/items HTTP/1.1" 200 1
1.2.3.4 - - [23/Nov/2026:12:00:02 +0000] "GET /api/items/3 HTTP/1.1" 200 1
`
	cfg := parse(t, map[string]string{
		"replay-file":            writeLog(t, recording),
		"replay-base-url":        api.URL,
		"replay-speed":           "1x",
		"rate":                   "1000/1s",
		"fail-on-load-shortfall": "false",
	})
	var log bytes.Buffer
	rep, err := Run(context.Background(), cfg, Deps{Clock: checktest.Gates(checktest.HitsAtLeast(api, 2)), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	// The log says what paces the load: not the rate.
	if !strings.Contains(log.String(), "load: the recorded timing at 1x (entries without a time at 1000/s) on 3 target(s)") {
		t.Errorf("log does not say the recorded timing paces the load:\n%s", log.String())
	}
	h := rep.Health
	if h.Sent < 2 || h.Planned < h.Sent-1 || h.Planned > 10 {
		t.Errorf("sent %d of %d planned in %s; want the recording's pace, about one a second", h.Sent, h.Planned, h.Elapsed)
	}
	if rep.Replay.Speed != 1 {
		t.Errorf("replay speed %v, want 1", rep.Replay.Speed)
	}
}
