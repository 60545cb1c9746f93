package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
	"github.com/zerodowntime/deploy-load-check/internal/demo"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

// shardInputs are the inputs of shard i of 3 of one deploy check, its
// report in dir: shard 1's at the top, the others' each in a directory of
// their own, as artifacts downloaded with and without merge-multiple lie.
func shardInputs(api *demo.API, dir string, i int) map[string]string {
	report := filepath.Join(dir, "shard-1.json")
	if i > 1 {
		report = filepath.Join(dir, "job-"+strconv.Itoa(i), "shard-"+strconv.Itoa(i)+".json")
	}
	return map[string]string{
		"targets":                "GET " + api.URL + "/health\nGET " + api.URL + "/api/items",
		"rate":                   "90/1s",
		"workflow":               "deploy-staging.yml",
		"repository":             deploytest.DefaultOwner + "/" + deploytest.DefaultRepo,
		"correlation-input":      deploytest.DefaultCorrelationInput,
		"head":                   "2s",
		"tail":                   "2s",
		"poll-interval":          "1s",
		"shard":                  strconv.Itoa(i) + "/3",
		"shard-key":              "9001-1",
		"report-file":            report,
		"fail-on-load-shortfall": "false",
	}
}

// runShards runs three shards as three processes, as a job matrix does,
// and the merge as a fourth, and returns the merge's run.
func runShards(t *testing.T, api *demo.API, github *deploytest.Server) actionRun {
	t.Helper()
	dir := t.TempDir()
	for i := 2; i <= 3; i++ {
		if err := os.Mkdir(filepath.Join(dir, "job-"+strconv.Itoa(i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"GITHUB_API_URL": github.URL}
	var wg sync.WaitGroup
	runs := make([]actionRun, 3)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i] = runBinary(t, nil, shardInputs(api, dir, i+1), env)
		}()
	}
	wg.Wait()
	for i, run := range runs {
		if run.exit != exitPass || run.outputs["verdict"] != "shard" {
			t.Fatalf("shard %d: exit %d, verdict %q; want 0, shard\nstdout:\n%s\nstderr:\n%s", i+1, run.exit, run.outputs["verdict"], run.stdout, run.stderr)
		}
		if !strings.Contains(run.summary, "## 🧩 Deploy load check — shard "+strconv.Itoa(i+1)+" of 3") {
			t.Errorf("shard %d's summary lacks its heading:\n%s", i+1, run.summary)
		}
	}
	return runBinary(t, nil, map[string]string{"merge": filepath.Join(dir, "**", "shard-*.json")}, env)
}

func TestThreeShardsAndAMergeJudgeAnOutageAsOneCheck(t *testing.T) {
	t.Parallel()
	api := startAPI(t)
	var down, up time.Time
	github := checktest.GitHub(t, "success", func() {
		checktest.WaitUntil(checktest.HitsAtLeast(api, 60))
		down = time.Now()
		if err := api.Stop(); err != nil {
			t.Error(err)
		}
		time.Sleep(3 * time.Second) // the outage itself
		if err := api.Resume(); err != nil {
			t.Error(err)
		}
		up = time.Now()
		checktest.WaitUntil(checktest.HitsAtLeast(api, 60))
	}, deploytest.WithToken(testToken))
	merge := runShards(t, api, github)

	if n := github.Count(deploytest.EndpointWorkflowDispatch); n != 1 {
		t.Errorf("%d dispatches, want exactly one: shard 1's", n)
	}
	if merge.exit != exitBreach || merge.outputs["verdict"] != "fail" {
		t.Fatalf("merge: exit %d, verdict %q; want %d, fail\nstdout:\n%s\nstderr:\n%s\nsummary:\n%s", merge.exit, merge.outputs["verdict"], exitBreach, merge.stdout, merge.stderr, merge.summary)
	}
	// Each endpoint is asked every 22 ms by the shards together: the
	// merged downtime is exact to that, give or take how late requests
	// left and how long they took to reach the API, at most the slowest
	// answer.
	downtime, err := strconv.ParseFloat(merge.outputs["downtime-s"], 64)
	actual := up.Sub(down)
	slack := 22*time.Millisecond + sendLagMax(t, merge) + slowest(t, merge)
	if got := time.Duration(downtime * float64(time.Second)); err != nil || got < actual-slack || got > actual+slack {
		t.Errorf("merged downtime-s = %q, the API was down %s; want it within %s", merge.outputs["downtime-s"], actual, slack)
	}
	runs := github.Runs()
	summaryHas(t, merge, "split over 3 shards", "<summary>Shards: 3, ", "| 1 of 3 |", "| 3 of 3 |", "were refused", strconv.FormatInt(runs[0].ID, 10))
}

func TestShardsOfAGracefulReloadMergeToAPass(t *testing.T) {
	t.Parallel()
	api := startAPI(t)
	github := checktest.GitHub(t, "success", func() {
		checktest.WaitUntil(checktest.HitsAtLeast(api, 60))
		api.Reload("v2")
		checktest.WaitUntil(checktest.HitsAtLeast(api, 60))
	}, deploytest.WithToken(testToken))
	merge := runShards(t, api, github)
	if n := github.Count(deploytest.EndpointWorkflowDispatch); n != 1 {
		t.Errorf("%d dispatches, want exactly one", n)
	}
	if merge.exit != exitPass || merge.outputs["verdict"] != "pass" {
		t.Fatalf("merge: exit %d, verdict %q; want a pass\nstderr:\n%s\nsummary:\n%s", merge.exit, merge.outputs["verdict"], merge.stderr, merge.summary)
	}
	requests, _ := strconv.Atoi(merge.outputs["requests"])
	if requests < 300 {
		t.Errorf("merged requests = %d, want the three shards' together", requests)
	}
}

func TestAShardThatFindsNoRunFailsItsJobNamingDeployTimeoutAndItsKey(t *testing.T) {
	t.Parallel()
	api := startAPI(t)
	// Shard 1 never dispatched.
	github := deploytest.NewServer(t, deploytest.WithToken(testToken))
	inputs := deployInputs(api, github, map[string]string{
		"correlation-input": deploytest.DefaultCorrelationInput,
		"shard":             "2/3",
		"shard-key":         "9001-1",
		"deploy-timeout":    "3s",
	})
	run := runCommand(t, checktest.Gates(checktest.HitsAtLeast(api, 10)), inputs, map[string]string{"GITHUB_API_URL": github.URL})
	if run.exit != exitBreach || run.outputs["verdict"] != "fail" {
		t.Fatalf("exit %d, verdict %q; want %d, fail\nstdout:\n%s\nstderr:\n%s", run.exit, run.outputs["verdict"], exitBreach, run.stdout, run.stderr)
	}
	var annotation string
	for _, line := range strings.Split(run.stdout, "\n") {
		if strings.HasPrefix(line, "::error") {
			annotation = line
		}
	}
	for _, want := range []string{"shard 2 of 3", `shard-key "9001-1"`, "deploy-timeout 3s"} {
		if !strings.Contains(annotation, want) {
			t.Errorf("error annotation %q lacks %q\nstdout:\n%s", annotation, want, run.stdout)
		}
	}
	summaryHas(t, run, "## ❌ Deploy load check — shard 2 of 3: fail", "- Deploy: no run carrying shard-key", "deploy-timeout 3s")
	if n := github.Count(deploytest.EndpointWorkflowDispatch); n != 0 {
		t.Errorf("shard 2 dispatched %d times; only shard 1 dispatches", n)
	}
}
