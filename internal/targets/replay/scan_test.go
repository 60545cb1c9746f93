package replay

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestAScanFindsPatternsTheSafeFirstRequestAndThePeakPace(t *testing.T) {
	t.Parallel()
	const log = `1.2.3.4 - - [23/Nov/2026:12:00:00 +0000] "POST /v1/images HTTP/1.1" 201 1
1.2.3.4 - - [23/Nov/2026:12:00:00 +0000] "PUT /v1/images/7 HTTP/1.1" 200 1
1.2.3.4 - - [23/Nov/2026:12:00:00 +0000] "GET /v1/images/7 HTTP/1.1" 200 1
1.2.3.4 - - [23/Nov/2026:12:00:01 +0000] "GET /v1/images/8 HTTP/1.1" 200 1
1.2.3.4 - - [23/Nov/2026:12:00:01 +0000] "GET /v1/images/9 HTTP/1.1" 200 1
1.2.3.4 - - [23/Nov/2026:12:00:01 +0000] "GET /health HTTP/1.1" 200 1
not a log line
1.2.3.4 - - [23/Nov/2026:12:00:03 +0000] "DELETE /v1/images/9 HTTP/1.1" 204 1
`
	path := writeFile(t, "access.log", log)
	rate := vegeta.Rate{Freq: 10, Per: time.Second}
	scan, err := ScanFile(path, staging, ScanOptions{Speed: 1, Rate: rate}, WithMethods("GET", "POST", "PUT", "DELETE"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"POST /v1/images", "PUT /v1/images/{id}", "GET /v1/images/{id}", "GET /health", "DELETE /v1/images/{id}"}
	if diff := cmp.Diff(want, scan.Patterns); diff != "" {
		t.Errorf("patterns (-want +got):\n%s", diff)
	}
	if scan.Capped {
		t.Error("Capped with fewer patterns than the cap")
	}
	if scan.Safe == nil || scan.Safe.URL != "https://staging.example.com/v1/images/7" {
		t.Errorf("Safe = %+v, want the first GET", scan.Safe)
	}
	if scan.Stats.Requests != 7 || scan.Stats.Bad != 1 || scan.Stats.Cycles != 0 {
		t.Errorf("stats %+v, want 7 requests, 1 bad line, no cycle", scan.Stats)
	}
	// Three hits are due in the first second and three in the next.
	if scan.PeakPace != 3 {
		t.Errorf("PeakPace = %d, want 3", scan.PeakPace)
	}
	twice, err := ScanFile(path, staging, ScanOptions{Speed: 2, Rate: rate}, WithMethods("GET", "POST", "PUT", "DELETE"))
	if err != nil {
		t.Fatal(err)
	}
	// At 2x the second recorded second is due half a second in.
	if twice.PeakPace != 6 {
		t.Errorf("PeakPace at 2x = %d, want 6", twice.PeakPace)
	}

	byDefault, err := ScanFile(path, staging, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"GET /v1/images/{id}", "GET /health"}, byDefault.Patterns); diff != "" {
		t.Errorf("patterns with the default methods (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]uint64{"POST": 1, "PUT": 1, "DELETE": 1}, byDefault.Stats.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if byDefault.PeakPace != 0 {
		t.Errorf("PeakPace without a speed = %d, want 0", byDefault.PeakPace)
	}
}

func TestAScanKeepsItsPatternsToTheCap(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 20 {
		fmt.Fprintf(&b, "{\"path\": \"/area%d/items/%d\"}\n", i%5, i)
	}
	scan, err := ScanFile(writeFile(t, "many.jsonl", b.String()), staging, ScanOptions{MaxPatterns: 3})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"GET /area0/items/{id}", "GET /area1/items/{id}", "GET /area2/items/{id}"}, scan.Patterns); diff != "" {
		t.Errorf("patterns (-want +got):\n%s", diff)
	}
	if !scan.Capped {
		t.Error("not Capped with more patterns than the cap")
	}
}

func TestAScanOfAFileWithNothingToSendFails(t *testing.T) {
	t.Parallel()
	_, err := ScanFile(writeFile(t, "posts.log", `1.2.3.4 - - [23/Nov/2026:12:00:00 +0000] "POST /v1/images HTTP/1.1" 201 1`+"\n"), staging, ScanOptions{})
	if err == nil || !strings.Contains(err.Error(), "POST 1") {
		t.Errorf("error = %v, want one that says the file holds only a POST", err)
	}
}

func TestPlannedCountsTheHitsDueByThen(t *testing.T) {
	t.Parallel()
	const log = `1.2.3.4 - - [23/Nov/2026:12:00:00 +0000] "GET /a HTTP/1.1" 200 1
1.2.3.4 - - [23/Nov/2026:12:00:01 +0000] "GET /b HTTP/1.1" 200 1
1.2.3.4 - - [23/Nov/2026:12:00:01 +0000] "GET /c HTTP/1.1" 200 1
1.2.3.4 - - [23/Nov/2026:12:00:04 +0000] "GET /d HTTP/1.1" 200 1
`
	r, err := Open(writeFile(t, "timed.log", log), staging)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	timing, err := NewTiming(r, 1, vegeta.Rate{Freq: 10, Per: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Due at 0, 1s, 1s, 4s, then the second pass at 4.1s, 5.1s, 5.1s, 8.1s.
	for _, tt := range []struct {
		elapsed time.Duration
		want    uint64
	}{
		{-time.Second, 0}, {0, 1}, {999 * time.Millisecond, 1}, {time.Second, 3}, {3 * time.Second, 3},
		{4 * time.Second, 4}, {5100 * time.Millisecond, 7}, {time.Minute, 0},
	} {
		got := timing.Planned(tt.elapsed)
		if tt.elapsed == time.Minute {
			// Passes of 4.1 s, each with 4 hits: 14 passes and 3 hits of
			// the 15th (at 57.4 s and twice at 58.4 s) are due by a minute.
			tt.want = 14*4 + 3
		}
		if got != tt.want {
			t.Errorf("Planned(%s) = %d, want %d", tt.elapsed, got, tt.want)
		}
	}
}
