package deploytest_test

import (
	"context"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/deploy"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

// TestServerBacksADeployFromDispatchToCompletion shows the use an end-to-end
// test makes of the Server: it would run the built binary with
// GITHUB_API_URL=srv.URL where this test uses the deploy client, and the
// hook would restart the load target instead of sleeping.
func TestServerBacksADeployFromDispatchToCompletion(t *testing.T) {
	t.Parallel()
	deployed := make(chan int64, 1)
	srv := deploytest.NewServer(t,
		deploytest.WithToken("test-token"),
		deploytest.WithLifecycle(deploytest.Lifecycle{Queued: 10 * time.Millisecond, Manual: true}),
		deploytest.WithOnDispatch(func(srv *deploytest.Server, run deploytest.Run) {
			go func() {
				time.Sleep(30 * time.Millisecond) // the simulated deploy
				deployed <- run.ID
				_ = srv.Complete(run.ID, "success")
			}()
		}),
	)
	client, err := deploy.New("test-token", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	run, err := client.Dispatch(ctx, deploy.Request{
		Owner: deploytest.DefaultOwner, Repo: deploytest.DefaultRepo,
		Workflow: "deploy-staging.yml", Inputs: map[string]string{"version": "1.2.3"},
	})
	if err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	run, err = client.Follow(ctx, deploytest.DefaultOwner, deploytest.DefaultRepo, run.ID, 5*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	if run.Conclusion != "success" || <-deployed != run.ID {
		t.Errorf("run %d ended %q", run.ID, run.Conclusion)
	}
	if n := srv.Count(deploytest.EndpointWorkflowDispatch); n != 1 {
		t.Errorf("dispatched %d times, want 1", n)
	}
}
