package demo_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/demo"
	"github.com/zerodowntime/deploy-load-check/internal/deploy"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/standin"
)

func TestStagingDeploysTheDispatchedVersionWithABlip(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	staging, err := demo.StartStaging(&log)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			staging.Close()
		}
	})

	// A probe asks the API every 20 ms (the blip lasts 300) until the deploy is
	// over, and counts the times it got no answer.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	probeCtx, stopProbe := context.WithCancel(ctx)
	var probing sync.WaitGroup
	var unanswered, answered int
	probing.Add(1)
	go func() {
		defer probing.Done()
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		for probeCtx.Err() == nil {
			resp, err := client.Get(staging.API.URL + "/health")
			if err != nil {
				unanswered++
			} else {
				resp.Body.Close()
				answered++
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	client, err := deploy.New(demo.Token, staging.GitHub.URL)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	run, err := client.Dispatch(ctx, deploy.Request{
		Owner: standin.DefaultOwner, Repo: standin.DefaultRepo, Workflow: demo.Workflow,
		Inputs: map[string]string{"version": "v3"},
	})
	if err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	run, err = client.Follow(ctx, standin.DefaultOwner, standin.DefaultRepo, run.ID, 50*time.Millisecond, nil)
	took := time.Since(started)
	stopProbe()
	probing.Wait()
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}

	if run.Conclusion != "success" || staging.API.Version() != "v3" {
		t.Errorf("run concluded %q with the API at %s; want success and v3", run.Conclusion, staging.API.Version())
	}
	if least := demo.Queued + demo.RunTime; took < least {
		t.Errorf("the run completed after %s, before its %s", took, least)
	}
	if unanswered == 0 || answered == 0 {
		t.Errorf("the probe went unanswered %d times and was answered %d times; want both", unanswered, answered)
	}
	// The deploy's goroutine has ended once Close returns.
	closed = true
	if err := staging.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for _, want := range []string{"staging: v1 stops for the deploy; nothing listens for 300 ms\n", "staging: v3 answers\n"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, log.String())
		}
	}
	desc := deploytest.DescriptionOf(staging.GitHub)
	for _, call := range staging.GitHub.Calls() {
		for _, err := range desc.Check(call) {
			t.Errorf("%s %s (answered %d) strays from %s: %v", call.Method, call.Path, call.Status, desc.Name, err)
		}
	}
}
