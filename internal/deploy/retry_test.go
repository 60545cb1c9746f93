package deploy

import (
	"context"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

// TestUnheldRequestsReachGitHubDuringGoGitHubsHold pins the context key
// that bypasses go-github's client-side hold: after a secondary limit
// go-github answers requests itself until Retry-After has passed, and
// unheld requests must reach GitHub anyway.
func TestUnheldRequestsReachGitHubDuringGoGitHubsHold(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithFault(deploytest.Fault{
		Endpoint: deploytest.EndpointGetRepository, Kind: deploytest.SecondaryRateLimit, Times: 1, RetryAfter: time.Hour}))
	c := newTestClient(t, srv)
	ctx := testContext(t)
	get := func(ctx context.Context) error {
		_, _, err := c.gh.Repositories.Get(ctx, deploytest.DefaultOwner, deploytest.DefaultRepo)
		return err
	}

	if err := get(ctx); err == nil {
		t.Fatal("the secondary limit did not reach the client")
	}
	if err := get(ctx); err == nil || srv.Count(deploytest.EndpointGetRepository) != 1 {
		t.Fatalf("go-github sent a request during its hold (err %v): the hold this test relies on is gone", err)
	}
	if err := get(unheld(ctx)); err != nil {
		t.Fatalf("an unheld request failed: %v", err)
	}
	if n := srv.Count(deploytest.EndpointGetRepository); n != 2 {
		t.Errorf("GitHub saw %d requests, want 2: the unheld one must reach it", n)
	}
}
