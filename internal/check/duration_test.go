package check

import (
	"context"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
)

func TestAPRCheckOfDurationDSendsRateTimesDRequests(t *testing.T) {
	t.Parallel()
	api := checktest.StartAPI(t)
	cfg := parse(t, map[string]string{
		"targets":                "GET " + api.URL + "/health\nGET " + api.URL + "/api/items",
		"rate":                   "50/1s",
		"duration":               "2s",
		"preflight-timeout":      "0s",
		"fail-on-load-shortfall": "false",
	})
	// The wall clock: the load lasts its duration, as in a real run.
	rep, err := Run(context.Background(), cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Summary
	// vegeta attack -rate 50 -duration 2s sends 100: the hits due at 0,
	// 20 ms, ..., 1.98 s; none at 2 s, the very end.
	if s.Overall.Requests != 100 || api.Hits() != 100 || rep.Health.Sent != 100 || rep.Health.Planned != 100 {
		t.Errorf("requests %d, the API answered %d, sent %d of %d planned; want 100 of each", s.Overall.Requests, api.Hits(), rep.Health.Sent, rep.Health.Planned)
	}
	if s.Elapsed != 2*time.Second || s.RequestRate() != 50 {
		t.Errorf("elapsed %s at %v/s; want 2s at 50/s", s.Elapsed, s.RequestRate())
	}
	// The schedule counts from the timeline's start, so the two seconds
	// hold the 100, unless the last was sent over 20 ms late, after 2 s.
	var inTimeline int64
	for _, sec := range s.Seconds {
		inTimeline += sec.Requests
	}
	if inTimeline != 100 || len(s.Seconds) != 2 && rep.Health.LagMax <= 20*time.Millisecond {
		t.Errorf("timeline of %d seconds, %d requests, send lag at most %s; want two seconds, 100 requests", len(s.Seconds), inTimeline, rep.Health.LagMax)
	}
}
