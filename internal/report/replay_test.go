package report

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/compare"
	"github.com/zerodowntime/deploy-load-check/internal/redact"
	"github.com/zerodowntime/deploy-load-check/internal/targets/replay"
)

// stagingToken is the bearer token staging's session endpoint echoes; the
// summary must never show it.
const stagingToken = "s3cr3t-staging-token"

// replayMismatch is a PR check that replayed an access log and compared a
// sample of the answers with production: the search endpoint's total
// differs in 12 of its 20 answers, the session's user in one, the images'
// served_at on every answer and is learnt as noise, and max-mismatch-rate
// is 0%. Across the cut-over, v2 retitles an image.
func replayMismatch(t *testing.T) *Report {
	t.Helper()
	rep := scenario{
		targets:  []string{"GET /v1/images/{id}", "GET /v1/search", "GET /v1/session"},
		interval: time.Second / 30,
		length:   10 * time.Second,
	}.report(t)
	ig, err := compare.ParseIgnore("$.meta.request_id", compare.DefaultHeaders)
	if err != nil {
		t.Fatal(err)
	}
	c := compare.New(compare.WithIgnore(ig.From("compare-ignore")), compare.WithMasker(redact.NewMasker(stagingToken)))
	var tally compare.Tally
	answer := func(body string) compare.Answer {
		return compare.Answer{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
	}
	for i := range 20 {
		image := func(at int) compare.Answer {
			return answer(fmt.Sprintf(`{"id":%d,"title":"Harbour at dusk","served_at":"12:00:%02d","meta":{"request_id":"r%d"}}`, 1800+i, at, at))
		}
		tally.Add("GET /v1/images/{id}", c.Check("GET /v1/images/{id}", image(i), image(i+1), image(i+2)))
		search := answer(`{"q":"red bicycle","total":48,"results":[{"id":1842},{"id":1843}]}`)
		candidate := search
		if i%5 < 3 {
			candidate = answer(`{"q":"red bicycle","total":47,"results":[{"id":1842},{"id":1843}]}`)
		}
		tally.Add("GET /v1/search", c.Check("GET /v1/search", search, search, candidate))
		// The session endpoint echoes the caller's token; the new version
		// once names the user differently.
		session := answer(`{"user":"ann","token":"` + stagingToken + `"}`)
		candidate = session
		if i == 7 {
			candidate = answer(`{"user":"Ann","token":"` + stagingToken + `"}`)
		}
		tally.Add("GET /v1/session", c.Check("GET /v1/session", session, session, candidate))
	}
	// Across the cut-over, v2 retitles one image of three.
	var cut compare.Tally
	for i := range 6 {
		old := answer(fmt.Sprintf(`{"id":%d,"title":"Harbour at dusk"}`, 1800+i))
		updated := old
		if i%3 == 0 {
			updated = answer(fmt.Sprintf(`{"id":%d,"title":"Harbour at nightfall"}`, 1800+i))
		}
		cut.Add("GET /v1/images/{id}", c.Compare("GET /v1/images/{id}", old, updated))
	}
	s := tally.Summary()
	rep.Replay = &Replay{
		File: "logs/access.log.gz", Format: "access-log", Headers: []string{"Authorization", "X-Tenant"}, Patterns: 3, Requests: 300, Cycles: 2,
		Skipped: map[string]uint64{"POST": 24, "DELETE": 3}, Bad: 2,
		BadSamples: []replay.BadLine{{Line: 118, Text: `10.0.0.1 - - [23/Nov/2026:12:00:09 +0000] "-" 400 0 "-" "-"`, Reason: `"-" is not a request line`}},
	}
	rep.Compare = &Compare{BaselineURL: "https://api.example.com", Sample: 0.2, Headers: compare.DefaultHeaders, Judged: true, MaxMismatchRate: 0, Baseline: &s, BaselineFailed: 1,
		BaselineError: `Get "https://api.example.com/v1/search?q=red+bicycle": context deadline exceeded`,
		CutOver: &CutOver{Old: "v1", New: "v2", Kept: 8, KeptPerEndpoint: 4, Inferred: 2, Unversioned: 3,
			NotCompared: []string{"GET /v1/search", "GET /v1/session"}, Summary: cut.Summary()}}
	return rep
}

func TestAReplayWithAMismatchMatchesGolden(t *testing.T) {
	t.Parallel()
	rep := replayMismatch(t)
	if rep.Verdict() != Fail {
		t.Fatalf("verdict %s, want fail", rep.Verdict())
	}
	reasons := strings.Join(rep.Reasons(), "\n")
	for _, want := range []string{"13 of 60 answers compared with the baseline (21.67%) differed, above max-mismatch-rate 0.00%", "GET /v1/search answered differently in $.total (12 answers)"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("reasons lack %q:\n%s", want, reasons)
		}
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"summary": md.String(), "report": js.String()} {
		if strings.Contains(text, stagingToken) {
			t.Errorf("the %s shows the staging token", name)
		}
	}
	// The mismatch opens its section; the replay's stays collapsed.
	for _, want := range []string{"<details open><summary>Answers compared with the baseline: <b>13 of 60 differed (21.67%)</b>", "<details><summary>Replay: 300 requests from <code>logs/access.log.gz</code>, 29 skipped", "- ✗ `mismatch_rate<=0%` (max-mismatch-rate): 21.67%"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	golden(t, filepath.Join("testdata", "summary-replay-mismatch.golden.md"), md.String())
	golden(t, filepath.Join("testdata", "report-replay-mismatch.golden.json"), js.String())

	outputs := map[string]string{}
	for _, o := range rep.Outputs() {
		outputs[o.Name] = o.Value
	}
	if outputs["mismatch-rate"] != "0.21666666666666667" {
		t.Errorf("mismatch-rate output %q, want 13/60", outputs["mismatch-rate"])
	}
}

func TestMismatchesWithinTheLimitPass(t *testing.T) {
	t.Parallel()
	rep := replayMismatch(t)
	rep.Compare.MaxMismatchRate = 0.25
	if rep.Verdict() != Pass {
		t.Errorf("verdict %s with 21.67%% differing under a 25%% limit: %v", rep.Verdict(), rep.Reasons())
	}
	rep.Compare.Judged = false
	if rep.Verdict() != Pass {
		t.Errorf("verdict %s with differences reported, not judged: %v", rep.Verdict(), rep.Reasons())
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "<details open><summary>Answers compared") || strings.Contains(md.String(), "mismatch_rate") {
		t.Error("differences that do not fail the check open their section or list a threshold")
	}
}

func TestALimitWithNothingComparedFails(t *testing.T) {
	t.Parallel()
	rep := replayMismatch(t)
	rep.Compare.Baseline = &compare.Summary{}
	rep.Compare.BaselineFailed = 40
	if rep.Verdict() != Fail {
		t.Fatalf("verdict %s with nothing compared under a limit", rep.Verdict())
	}
	if r := strings.Join(rep.Reasons(), "; "); !strings.Contains(r, "the baseline did not answer 40 sampled requests") {
		t.Errorf("reasons %q do not say why nothing was compared", r)
	}
}

func TestAnEndpointNeverComparedFailsALimit(t *testing.T) {
	t.Parallel()
	rep := replayMismatch(t)
	// Every answer compared agreed, but one endpoint's answers were never
	// compared: the check cannot vouch for them.
	s := compare.Summary{Compared: 40, Endpoints: []compare.Endpoint{{Pattern: "GET /v1/search", Compared: 40}}}
	rep.Compare.Baseline = &s
	rep.Compare.NotCompared = []string{"GET /v1/images/{id}"}
	if rep.Verdict() != Fail {
		t.Fatalf("verdict %s with an endpoint never compared under a limit", rep.Verdict())
	}
	want := "1 endpoint was replayed but none of its answers was compared with the baseline (GET /v1/images/{id}), so the check cannot vouch for it (max-mismatch-rate 0.00%)"
	if r := strings.Join(rep.Reasons(), "; "); !strings.Contains(r, want) {
		t.Errorf("reasons %q, want %q", r, want)
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"- ✗ `mismatch_rate<=0%` (max-mismatch-rate): 0.00%, and 1 endpoint never compared", "Replayed, but none of their answers compared with the baseline's: `GET /v1/images/{id}`."} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	rep.Compare.Judged = false
	if rep.Verdict() != Pass {
		t.Errorf("verdict %s without a limit: %v", rep.Verdict(), rep.Reasons())
	}
}
