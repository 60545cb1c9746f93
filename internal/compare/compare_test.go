package compare

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zerodowntime/deploy-load-check/internal/messagecheck"
	"github.com/zerodowntime/deploy-load-check/internal/redact"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func jsonAnswer(body string) Answer {
	return Answer{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

func TestEqualAnswersPass(t *testing.T) {
	t.Parallel()
	c := New(WithOrigins("https://api.example.com", "http://127.0.0.1:8080"))
	tests := []struct {
		name                string
		baseline, candidate Answer
	}{
		{"identical JSON", jsonAnswer(`{"id":1,"tags":["a","b"]}`), jsonAnswer(`{"id":1,"tags":["a","b"]}`)},
		{"keys in another order, other spacing", jsonAnswer(`{"id":1,"name":"x"}`), jsonAnswer("{\n  \"name\": \"x\",\n  \"id\": 1\n}")},
		{"numbers written differently", jsonAnswer(`{"n":1,"f":0.5,"e":100}`), jsonAnswer(`{"n":1.0,"f":5e-1,"e":1e2}`)},
		{"integers beyond 2^53 equal to the digit", jsonAnswer(`{"id":9007199254740993}`), jsonAnswer(`{"id":9007199254740993}`)},
		{"media type parameters in other case and spacing", Answer{Status: 200, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, Body: []byte(`{}`)},
			Answer{Status: 200, Header: http.Header{"Content-Type": {"application/json;charset=UTF-8"}}, Body: []byte(`{}`)}},
		{"links to each side's own origin", Answer{Status: 201, Header: http.Header{"Location": {"https://api.example.com/v1/images/7"}}, Body: []byte(`{"self":"https://api.example.com/v1/images/7"}`)},
			Answer{Status: 201, Header: http.Header{"Location": {"http://127.0.0.1:8080/v1/images/7"}}, Body: []byte(`{"self":"http://127.0.0.1:8080/v1/images/7"}`)}},
		{"equal text", Answer{Status: 200, Body: []byte("ok\n")}, Answer{Status: 200, Body: []byte("ok\n")}},
		{"two empty answers", Answer{Status: 204}, Answer{Status: 204}},
		{"headers not compared differ", Answer{Status: 200, Header: http.Header{"Date": {"Mon, 23 Nov 2026 12:00:00 GMT"}}}, Answer{Status: 200, Header: http.Header{"Date": {"Mon, 23 Nov 2026 12:00:01 GMT"}}}},
	}
	for _, tt := range tests {
		if r := c.Compare("GET /x", tt.baseline, tt.candidate); r.Differ() {
			t.Errorf("%s: Compare found %+v, want no difference", tt.name, r.Differences)
		}
	}
}

func TestDifferencesNameTheirField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		baseline, candidate Answer
		want                []Difference
	}{
		{"a changed field in a list", jsonAnswer(`{"items":[{"id":1,"price":9.5},{"id":2,"price":3}]}`), jsonAnswer(`{"items":[{"id":1,"price":9.5},{"id":2,"price":"3"}]}`),
			[]Difference{{Field: "$.items[1].price", Kind: Changed, Baseline: "3", Candidate: `"3"`}}},
		{"added and removed fields", jsonAnswer(`{"a":1,"gone":{"x":[1,2]}}`), jsonAnswer(`{"a":1,"new field":true}`),
			[]Difference{{Field: "$.gone", Kind: Removed, Baseline: `{"x":[1,2]}`}, {Field: `$["new field"]`, Kind: Added, Candidate: "true"}}},
		{"a longer list", jsonAnswer(`[1,2]`), jsonAnswer(`[1,2,3]`), []Difference{{Field: "$[2]", Kind: Added, Candidate: "3"}}},
		{"a list in place of an object", jsonAnswer(`{"a":1}`), jsonAnswer(`[{"a":1}]`), []Difference{{Field: "$", Kind: Changed, Baseline: `{"a":1}`, Candidate: `[{"a":1}]`}}},
		{"a number changed", jsonAnswer(`{"n":9007199254740993}`), jsonAnswer(`{"n":9007199254740992}`),
			[]Difference{{Field: "$.n", Kind: Changed, Baseline: "9007199254740993", Candidate: "9007199254740992"}}},
		{"null against a value", jsonAnswer(`{"next":null}`), jsonAnswer(`{"next":"/p/2"}`), []Difference{{Field: "$.next", Kind: Changed, Baseline: "null", Candidate: `"/p/2"`}}},
		{"status and content type", jsonAnswer(`{}`), Answer{Status: 500, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<h1>oops</h1>")},
			[]Difference{
				{Field: "status", Kind: Changed, Baseline: "200", Candidate: "500"},
				{Field: "header Content-Type", Kind: Changed, Baseline: "application/json", Candidate: "text/html"},
				{Field: "body", Kind: Changed, Baseline: `"{}"`, Candidate: `"<h1>oops</h1>"`},
			}},
		{"a redirect somewhere else", Answer{Status: 302, Header: http.Header{"Location": {"/login"}}}, Answer{Status: 302, Header: http.Header{"Location": {"/signin"}}},
			[]Difference{{Field: "header Location", Kind: Changed, Baseline: "/login", Candidate: "/signin"}}},
		{"a header only one side sends", Answer{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("a")}, Answer{Status: 200, Body: []byte("a")},
			[]Difference{{Field: "header Content-Type", Kind: Removed, Baseline: "text/plain"}}},
		{"binary bodies", Answer{Status: 200, Body: []byte{0xff, 0xfe, 1}}, Answer{Status: 200, Body: []byte{0xff, 0xfe, 2}},
			[]Difference{{Field: "body", Kind: Changed, Baseline: "(3 bytes of binary)", Candidate: "(3 bytes of binary)"}}},
		{"credentials in values are masked", jsonAnswer(`{"session":{"token":"abc"},"user":{"api_key":"k1"}}`), jsonAnswer(`{"session":{"token":"xyz"},"user":{"api_key":"k2","name":"ann"}}`),
			[]Difference{{Field: "$.session.token", Kind: Changed, Baseline: "***", Candidate: "***"}, {Field: "$.user.api_key", Kind: Changed, Baseline: "***", Candidate: "***"}, {Field: "$.user.name", Kind: Added, Candidate: `"ann"`}}},
	}
	c := New()
	for _, tt := range tests {
		r := c.Compare("GET /x", tt.baseline, tt.candidate)
		if diff := cmp.Diff(tt.want, r.Differences); diff != "" {
			t.Errorf("%s: differences (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestIgnoredPathsAndHeadersHideDifferences(t *testing.T) {
	t.Parallel()
	ig, err := ParseIgnore("$.meta.request_id, $.items[*].updated_at\nContent-Type,$[\"odd, key\"]", DefaultHeaders)
	if err != nil {
		t.Fatal(err)
	}
	c := New(WithIgnore(ig.From("compare-ignore")))
	base := jsonAnswer(`{"meta":{"request_id":"a1","page":1},"items":[{"id":1,"updated_at":"10:00"},{"id":2,"updated_at":"10:01"}],"odd, key":1}`)
	cand := jsonAnswer(`{"meta":{"request_id":"b2","page":2},"items":[{"id":1,"updated_at":"11:00"},{"id":2,"updated_at":"11:01"}],"odd, key":2}`)
	cand.Header.Set("Content-Type", "application/vnd.api+json")
	r := c.Compare("GET /items", base, cand)
	if diff := cmp.Diff([]Difference{{Field: "$.meta.page", Kind: Changed, Baseline: "1", Candidate: "2"}}, r.Differences); diff != "" {
		t.Errorf("differences (-want +got):\n%s", diff)
	}
	want := []Ignored{{Rule: "$.items[*].updated_at", From: "compare-ignore"}, {Rule: "$.meta.request_id", From: "compare-ignore"}, {Rule: `$["odd, key"]`, From: "compare-ignore"}}
	if diff := cmp.Diff(want, r.Ignored); diff != "" {
		t.Errorf("ignored (-want +got):\n%s", diff)
	}
}

func TestIgnoreListsParse(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "Location", "content-type", "$", "$.a.b[0][*].c", "$.map.*.x", `$["a \"b\""]`, "$.x-request-id, Location\n"} {
		if _, err := ParseIgnore(in, DefaultHeaders); err != nil {
			t.Errorf("ParseIgnore(%q): %v", in, err)
		}
	}
	if _, err := ParseIgnore("Date", []string{"Content-Type", "date"}); err != nil {
		t.Errorf("ParseIgnore(%q) with Date compared: %v", "Date", err)
	}
	tests := []struct{ in, says string }{
		{"$.", "is not a JSON path"},
		{"$.items[", "is not a JSON path"},
		{"$.items[-1]", "is not a JSON path"},
		{"$.items[01]", "is not a JSON path"},
		{"$items", "is not a JSON path"},
		{`$["open]`, "is not a JSON path"},
		{"$.a b", "is not a JSON path"},
		{"not a header", "is neither a JSON path nor a compared header"},
		// A path without its $ reads as a header name: say which path
		// was meant.
		{"meta.request_id", `is neither a JSON path nor a compared header; want a JSON path from the root: "$.meta.request_id", or a header among those compared (Content-Type, Location)`},
		{"items[0].id", `want a JSON path from the root: "$.items[0].id"`},
		{"status", "the status as a whole cannot be ignored"},
		{"body", "the body as a whole cannot be ignored"},
		// A header that is not compared hides nothing.
		{"Date", `"Date" is a header that is not compared, so ignoring it would hide nothing; want a JSON path from the root such as "$.meta.request_id", or a header among those compared (Content-Type, Location)`},
	}
	for _, tt := range tests {
		_, err := ParseIgnore(tt.in, DefaultHeaders)
		if err == nil {
			t.Errorf("ParseIgnore(%q) succeeded", tt.in)
			continue
		}
		messagecheck.Check(t, "ParseIgnore", tt.in, err)
		if !messagecheck.QuotesPartOf(err.Error(), tt.in) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("ParseIgnore(%q) error %q does not quote it and say %s", tt.in, err, tt.says)
		}
	}
	if _, err := ParseIgnore("Location", nil); err == nil || !strings.Contains(err.Error(), "no header is compared") {
		t.Errorf("ParseIgnore(%q) with no header compared = %v, want an error saying none is", "Location", err)
	}
}

func TestHeaderListsParse(t *testing.T) {
	t.Parallel()
	got, err := ParseHeaders("content-type, Cache-Control\nx-request-id,Content-Type")
	if diff := cmp.Diff([]string{"Content-Type", "Cache-Control", "X-Request-Id"}, got); err != nil || diff != "" {
		t.Errorf("ParseHeaders: %v (-want +got):\n%s", err, diff)
	}
	for _, in := range []string{"$.meta", "Content Type", "Location, a:b"} {
		_, err := ParseHeaders(in)
		if err == nil {
			t.Errorf("ParseHeaders(%q) succeeded", in)
			continue
		}
		messagecheck.Check(t, "ParseHeaders", in, err)
		if !messagecheck.QuotesPartOf(err.Error(), in) {
			t.Errorf("ParseHeaders(%q) error %q does not quote it", in, err)
		}
	}
}

func TestTheHeadersChosenAreTheOnesCompared(t *testing.T) {
	t.Parallel()
	base := Answer{Status: 302, Header: http.Header{"Location": {"/login"}, "Cache-Control": {"max-age=60"}, "Content-Type": {"text/plain"}}}
	cand := Answer{Status: 302, Header: http.Header{"Location": {"/signin"}, "Cache-Control": {"no-store"}, "Content-Type": {"text/plain"}}}
	fields := func(c *Comparer) []string {
		var out []string
		for _, d := range c.Compare("GET /x", base, cand).Differences {
			out = append(out, d.Field)
		}
		return out
	}
	if diff := cmp.Diff([]string{"header Location"}, fields(New())); diff != "" {
		t.Errorf("the default headers found (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"header Cache-Control"}, fields(New(WithHeaders("content-type", "cache-control")))); diff != "" {
		t.Errorf("Content-Type and Cache-Control found (-want +got):\n%s", diff)
	}
	if got := fields(New(WithHeaders())); len(got) != 0 {
		t.Errorf("no header compared found %v", got)
	}
}

func TestAVersionFieldIsIgnoredUnderItsOwnName(t *testing.T) {
	t.Parallel()
	c := New(WithIgnore(IgnoreField("build.version").From("version-field")), WithIgnore(IgnoreHeader("x-version").From("version-header")), WithHeaders("Content-Type", "X-Version"))
	base := jsonAnswer(`{"build":{"version":"v1","sha":"a1"},"title":"Harbour at dusk"}`)
	cand := jsonAnswer(`{"build":{"version":"v2","sha":"a1"},"title":"Harbour at nightfall"}`)
	base.Header.Set("X-Version", "v1")
	cand.Header.Set("X-Version", "v2")
	r := c.Compare("GET /status", base, cand)
	want := []Difference{{Field: "$.title", Kind: Changed, Baseline: `"Harbour at dusk"`, Candidate: `"Harbour at nightfall"`}}
	if diff := cmp.Diff(want, r.Differences); diff != "" {
		t.Errorf("differences (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Ignored{{Rule: "$.build.version", From: "version-field"}}, r.Ignored); diff != "" {
		t.Errorf("ignored (-want +got):\n%s", diff)
	}
	var tally Tally
	tally.Add("GET /status", r)
	if diff := cmp.Diff([]Noise{{Pattern: "GET /status", Rule: "$.build.version", From: "version-field", Ignored: 1}}, tally.Summary().Noise); diff != "" {
		t.Errorf("noise (-want +got):\n%s", diff)
	}
}

func TestAMaskedResultHidesTheRequestsSecrets(t *testing.T) {
	t.Parallel()
	c := New(WithMasker(redact.NewMasker("staging-bearer")))
	base := jsonAnswer(`{"you":"sid=recorded-cookie-1","auth":"staging-bearer"}`)
	cand := jsonAnswer(`{"you":"sid=recorded-cookie-2","auth":"staging-bearer","new":1}`)
	r := c.Compare("GET /me", base, cand).Masked(redact.NewMasker("staging-bearer", "recorded-cookie-1", "recorded-cookie-2"))
	var tally Tally
	tally.Add("GET /me", r)
	got, err := json.Marshal(tally.Summary())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"recorded-cookie", "staging-bearer"} {
		if strings.Contains(string(got), secret) {
			t.Errorf("the summary shows %q: %s", secret, got)
		}
	}
	if !strings.Contains(string(got), `sid=***`) {
		t.Errorf("the summary lost the difference's shape: %s", got)
	}
}

func TestPathsReadBackAsWritten(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"$", "$.a", "$.items[0].id", "$.items[*].id", "$.map.*", `$["odd key"].x`, `$["a\"b"]`} {
		p, err := parsePath(s)
		if err != nil {
			t.Errorf("parsePath(%q): %v", s, err)
			continue
		}
		if got := p.String(); got != s {
			t.Errorf("parsePath(%q).String() = %q", s, got)
		}
	}
}

// apiServer answers like a small image API; served_at and the etags
// change on every call, as a clock and a random source make them.
func apiServer(t *testing.T, title string) *httptest.Server {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", fmt.Sprintf("req-%d", n))
		fmt.Fprintf(w, `{"id":42,"title":%q,"served_at":"2026-11-23T12:00:%02d.%03dZ","items":[{"id":1,"etag":"e%d"},{"id":2,"etag":"f%d"}]}`,
			title, n%60, n, n, n)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) Answer {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Read(resp, 0)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestNoiseLearntFromTheBaselineIsIgnored(t *testing.T) {
	t.Parallel()
	baseline := apiServer(t, "Harbour at dusk")
	same := apiServer(t, "Harbour at dusk")
	changed := apiServer(t, "Harbour at night")
	c := New()
	const pattern = "GET /v1/images/{id}"

	// Before any noise is learnt, the clock alone makes answers differ.
	if r := c.Compare(pattern, get(t, baseline.URL), get(t, baseline.URL)); !r.Differ() {
		t.Fatal("answers with different timestamps compare equal before noise is learnt; the test cannot tell learning works")
	}

	r := c.Check(pattern, get(t, baseline.URL), get(t, baseline.URL), get(t, same.URL))
	if r.Differ() {
		t.Errorf("the same code answered differently: %+v", r.Differences)
	}
	if diff := cmp.Diff([]string{"$.items[*].etag", "$.served_at"}, c.Noise(pattern)); diff != "" {
		t.Errorf("noise learnt (-want +got):\n%s", diff)
	}
	wantIgnored := []Ignored{{Rule: "$.items[*].etag", Learnt: true}, {Rule: "$.served_at", Learnt: true}}
	if diff := cmp.Diff(wantIgnored, r.Ignored); diff != "" {
		t.Errorf("ignored (-want +got):\n%s", diff)
	}

	r = c.Check(pattern, get(t, baseline.URL), get(t, baseline.URL), get(t, changed.URL))
	want := []Difference{{Field: "$.title", Kind: Changed, Baseline: `"Harbour at dusk"`, Candidate: `"Harbour at night"`}}
	if diff := cmp.Diff(want, r.Differences); diff != "" {
		t.Errorf("a changed title: differences (-want +got):\n%s", diff)
	}
	if got := c.Noise("GET /other"); got != nil {
		t.Errorf("noise of another endpoint = %v, want none", got)
	}
}

func TestNoiseAtTheRootHidesTheWholeBody(t *testing.T) {
	t.Parallel()
	c := New()
	if learnt := c.Learn("GET /x", jsonAnswer(`{"a":1}`), jsonAnswer(`[1]`)); !cmp.Equal(learnt, []string{"$"}) {
		t.Fatalf("Learn = %v, want [$]", learnt)
	}
	if r := c.Compare("GET /x", jsonAnswer(`{"a":1}`), jsonAnswer(`{"a":2}`)); r.Differ() {
		t.Errorf("noise at $ left %+v", r.Differences)
	}
}

func TestAFailingBaselineTeachesNothing(t *testing.T) {
	t.Parallel()
	c := New()
	if learnt := c.Learn("GET /x", jsonAnswer(`{"a":1}`), Answer{Status: 503, Body: []byte("busy")}); learnt != nil {
		t.Errorf("Learn from a 200 and a 503 = %v, want nothing", learnt)
	}
	if r := c.Compare("GET /x", jsonAnswer(`{"a":1}`), jsonAnswer(`{"a":2}`)); !r.Differ() {
		t.Error("a field differed and was hidden after learning from a failing baseline")
	}
}

func TestMemoryStaysBounded(t *testing.T) {
	t.Parallel()
	t.Run("bodies are compared up to the cap", func(t *testing.T) {
		t.Parallel()
		c := New(WithMaxBody(8))
		head := `{"a":"1234567`
		if r := c.Compare("GET /x", jsonAnswer(head+`8"}`), jsonAnswer(head+`9"}`)); r.Differ() {
			t.Errorf("bodies equal in their first 8 bytes differ: %+v", r.Differences)
		}
		r := c.Compare("GET /x", jsonAnswer(`{"a":"x..."}`), jsonAnswer(`{"a":"y..."}`))
		if len(r.Differences) != 1 || r.Differences[0].Field != "body" {
			t.Errorf("bodies that differ in their first 8 bytes: %+v, want one body difference", r.Differences)
		}
	})
	t.Run("Read keeps the cap and says so", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, strings.Repeat("x", 100))
		}))
		defer srv.Close()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Read(resp, 10)
		if err != nil || len(a.Body) != 10 || !a.Truncated {
			t.Errorf("Read(100 bytes, 10) = %d bytes, truncated %t, %v", len(a.Body), a.Truncated, err)
		}
	})
	t.Run("differences listed are capped", func(t *testing.T) {
		t.Parallel()
		var b, k []string
		for i := range MaxDifferences + 5 {
			b, k = append(b, fmt.Sprintf(`"f%02d":1`, i)), append(k, fmt.Sprintf(`"f%02d":2`, i))
		}
		r := New().Compare("GET /x", jsonAnswer("{"+strings.Join(b, ",")+"}"), jsonAnswer("{"+strings.Join(k, ",")+"}"))
		if len(r.Differences) != MaxDifferences || r.More != 5 {
			t.Errorf("%d differences listed and %d more, want %d and 5", len(r.Differences), r.More, MaxDifferences)
		}
	})
	t.Run("noise learnt is capped per endpoint", func(t *testing.T) {
		t.Parallel()
		c := New()
		for round := range 3 {
			var b, k []string
			for i := range MaxNoisePerPattern {
				b, k = append(b, fmt.Sprintf(`"r%df%02d":1`, round, i)), append(k, fmt.Sprintf(`"r%df%02d":2`, round, i))
			}
			c.Learn("GET /x", jsonAnswer("{"+strings.Join(b, ",")+"}"), jsonAnswer("{"+strings.Join(k, ",")+"}"))
		}
		if got := len(c.Noise("GET /x")); got != MaxNoisePerPattern {
			t.Errorf("%d noise fields learnt, want the cap of %d", got, MaxNoisePerPattern)
		}
	})
	t.Run("a tally keeps its endpoints and fields to the caps", func(t *testing.T) {
		t.Parallel()
		tally := &Tally{MaxEndpoints: 2, MaxFields: 1}
		c := New()
		for i := range 5 {
			tally.Add(fmt.Sprintf("GET /e%d", i), c.Compare("", jsonAnswer(`{"a":1,"b":1}`), jsonAnswer(`{"a":2,"b":2}`)))
		}
		s := tally.Summary()
		if len(s.Endpoints) != 3 || s.Endpoints[0].Pattern != OtherEndpoint || s.Endpoints[0].Mismatched != 3 {
			t.Errorf("endpoints %+v, want two and %q with the other three", s.Endpoints, OtherEndpoint)
		}
		for _, e := range s.Endpoints {
			if len(e.Fields) != 1 || e.OtherFields != e.Mismatched {
				t.Errorf("endpoint %s kept fields %+v and %d answers in other fields, want one field and the rest counted", e.Pattern, e.Fields, e.OtherFields)
			}
		}
	})
}

func TestSummaryMatchesGolden(t *testing.T) {
	t.Parallel()
	ig, err := ParseIgnore("$.meta.request_id", DefaultHeaders)
	if err != nil {
		t.Fatal(err)
	}
	c := New(WithIgnore(ig.From("compare-ignore")), WithMasker(redact.NewMasker("s3cr3t-staging-token")))
	var tally Tally
	stamp := func(i int) string { return fmt.Sprintf(`"served_at":"12:00:%02d"`, i) }
	for i := range 20 {
		// Images: the new version drops "alt" from every second item.
		base := fmt.Sprintf(`{"id":%d,%s,"items":[{"id":1,"alt":"a"},{"id":2,"alt":"b"}],"meta":{"request_id":"r%d"}}`, i, stamp(i), i)
		again := fmt.Sprintf(`{"id":%d,%s,"items":[{"id":1,"alt":"a"},{"id":2,"alt":"b"}],"meta":{"request_id":"q%d"}}`, i, stamp(i+1), i)
		cand := fmt.Sprintf(`{"id":%d,%s,"items":[{"id":1,"alt":"a"},{"id":2}],"meta":{"request_id":"c%d"}}`, i, stamp(i+2), i)
		if i%4 == 0 {
			cand = base
		}
		tally.Add("GET /v1/images/{id}", c.Check("GET /v1/images/{id}", jsonAnswer(base), jsonAnswer(again), jsonAnswer(cand)))
	}
	for range 10 {
		tally.Add("GET /health", c.Compare("GET /health", Answer{Status: 200, Body: []byte("ok")}, Answer{Status: 200, Body: []byte("ok")}))
	}
	// The session endpoint echoes the caller's token; samples mask it.
	for i := range 3 {
		base := Answer{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"user":"ann","token":"s3cr3t-staging-token","scopes":["read"]}`)}
		cand := Answer{Status: 401, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("bad token s3cr3t-staging-token")}
		if i == 2 {
			cand = base
		}
		tally.Add("GET /v1/session", c.Compare("GET /v1/session", base, cand))
	}
	got, err := json.MarshalIndent(tally.Summary(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), "s3cr3t") {
		t.Error("the summary shows a secret")
	}
	golden := filepath.Join("testdata", "summary.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
		t.Errorf("summary differs from %s (-want +got); run go test ./internal/compare -update to accept:\n%s", golden, diff)
	}
}

func TestConcurrentComparisonsAndLearning(t *testing.T) {
	t.Parallel()
	c := New()
	var tally Tally
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				pattern := fmt.Sprintf("GET /e%d", i%5)
				a := jsonAnswer(fmt.Sprintf(`{"at":%d,"v":1}`, i))
				b := jsonAnswer(fmt.Sprintf(`{"at":%d,"v":1}`, i+1))
				cand := jsonAnswer(fmt.Sprintf(`{"at":%d,"v":%d}`, i+2, 1+g%2))
				tally.Add(pattern, c.Check(pattern, a, b, cand))
			}
		})
	}
	wg.Wait()
	s := tally.Summary()
	if s.Compared != 1600 || s.Mismatched != 800 || s.MismatchRate != 0.5 {
		t.Errorf("compared %d, mismatched %d, rate %v; want 1600, 800, 0.5", s.Compared, s.Mismatched, s.MismatchRate)
	}
}
