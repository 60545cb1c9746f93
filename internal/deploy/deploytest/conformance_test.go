package deploytest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/deploy"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

// allEndpoints are the routes the Server serves; the conformance test
// must see each answer with success at least once.
var allEndpoints = []deploytest.Endpoint{
	deploytest.EndpointGetUser,
	deploytest.EndpointGetRepository,
	deploytest.EndpointGetWorkflow,
	deploytest.EndpointGetRef,
	deploytest.EndpointWorkflowDispatch,
	deploytest.EndpointRepositoryDispatch,
	deploytest.EndpointListRepositoryRuns,
	deploytest.EndpointListWorkflowRuns,
	deploytest.EndpointGetRun,
	deploytest.EndpointGetRunAttempt,
	deploytest.EndpointListJobs,
	deploytest.EndpointListAttemptJobs,
	deploytest.EndpointCancelRun,
}

// quickClient is a deploy client of srv whose waits, rate limits included,
// last a few milliseconds at most.
func quickClient(t *testing.T, srv *deploytest.Server) *deploy.Client {
	t.Helper()
	c, err := deploy.New("test-token", srv.URL,
		deploy.WithHTTPClient(srv.Client()),
		deploy.WithDiscoveryInterval(5*time.Millisecond),
		deploy.WithDiscoveryGrace(200*time.Millisecond),
		deploy.WithSleep(func(ctx context.Context, d time.Duration) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(min(d, 2*time.Millisecond)):
				return nil
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkAll holds every call srv received to its description, and returns
// the statuses each endpoint answered.
func checkAll(t *testing.T, srv *deploytest.Server) map[deploytest.Endpoint][]int {
	t.Helper()
	desc := deploytest.DescriptionOf(srv)
	answered := map[deploytest.Endpoint][]int{}
	for _, call := range srv.Calls() {
		for _, err := range desc.Check(call) {
			t.Errorf("%s %s?%s answered %d: %v", call.Method, call.Path, call.Query, call.Status, err)
		}
		answered[call.Endpoint] = append(answered[call.Endpoint], call.Status)
	}
	return answered
}

func TestTheClientAndTheStandInSpeakGitHubsAPI(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t,
		deploytest.WithToken("test-token"),
		deploytest.WithUserToken(),
		deploytest.WithRefs("release"),
		deploytest.WithLifecycle(deploytest.Lifecycle{
			Requested: 5 * time.Millisecond, Queued: 5 * time.Millisecond, Pending: 5 * time.Millisecond,
			Waiting: 5 * time.Millisecond, InProgress: 30 * time.Millisecond, Conclusion: "failure",
		}),
		deploytest.WithJobs(
			deploytest.JobSpec{Name: "deploy", Duration: 10 * time.Millisecond, Steps: []deploytest.StepSpec{{Name: "Set up job", Duration: time.Millisecond}, {Name: "Roll out"}}},
			deploytest.JobSpec{Name: "smoke", After: 10 * time.Millisecond},
			deploytest.JobSpec{Name: "notify", Skipped: true},
		),
		// Every kind of trouble, once each.
		deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointListWorkflowRuns, Kind: deploytest.SecondaryRateLimit, Times: 1}),
		deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointGetRun, Kind: deploytest.TooManyRequests, Skip: 1, Times: 1}),
		deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointGetRun, Kind: deploytest.PrimaryRateLimit, Skip: 3, Times: 1}),
		deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointListJobs, Kind: deploytest.ServerError, Times: 1}),
		deploytest.WithFault(deploytest.Fault{Endpoint: deploytest.EndpointGetRef, Kind: deploytest.SecondaryRateLimit, Times: 1, RetryAfter: time.Second}),
	)
	c := quickClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	owner, repo := deploytest.DefaultOwner, deploytest.DefaultRepo
	req := deploy.Request{Owner: owner, Repo: repo, Workflow: "deploy-staging.yml", Ref: "release", Inputs: map[string]string{"version": "1.2.3"}}

	if err := c.Check(ctx, req); err != nil {
		t.Fatalf("Check: %v", err)
	}
	run, err := c.Dispatch(ctx, req)
	if err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	if run, err = c.Follow(ctx, owner, repo, run.ID, time.Millisecond, nil); err != nil || run.Conclusion != "failure" {
		t.Fatalf("Follow = %s, %v", run.Conclusion, err)
	}
	if _, err := srv.Rerun(run.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FollowJob(ctx, owner, repo, run.ID, "deploy", time.Millisecond, nil); err != nil {
		t.Fatalf("FollowJob: %v", err)
	}
	if _, err := c.Follow(ctx, owner, repo, run.ID, time.Millisecond, nil); err != nil {
		t.Fatalf("Follow of the re-run: %v", err)
	}
	if _, err := c.AttemptJobs(ctx, owner, repo, run.ID, 1); err != nil {
		t.Fatalf("AttemptJobs: %v", err)
	}
	if _, err := c.Jobs(ctx, owner, repo, run.ID); err != nil {
		t.Fatalf("Jobs: %v", err)
	}
	runPath := "/repos/acme/shop/actions/runs/" + strconv.FormatInt(run.ID, 10)
	get(t, srv, runPath+"/jobs?filter=all&per_page=2&page=2", "")
	get(t, srv, runPath+"/attempts/9", "") // 404
	_, etag := get(t, srv, runPath+"/attempts/1", "")
	if status, _ := get(t, srv, runPath+"/attempts/1", etag); status != http.StatusNotModified {
		t.Errorf("a request with the ETag of an unchanged run attempt answered %d, want 304", status)
	}

	// Follow a re-run that starts while it is followed.
	manual := deploytest.Lifecycle{Manual: true}
	other := srv.CreateRun(deploytest.RunSpec{Actor: deploytest.Actor, Lifecycle: &manual})
	_ = srv.Complete(other.ID, "failure")
	if _, err := srv.Rerun(other.ID); err != nil {
		t.Fatal(err)
	}
	// Cancel one in progress (202) and one completed (409).
	if err := c.Cancel(ctx, owner, repo, other.ID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if err := c.Cancel(ctx, owner, repo, run.ID); !errors.Is(err, deploy.ErrAlreadyCompleted) {
		t.Fatalf("Cancel of a completed run: %v", err)
	}

	// A repository_dispatch, found among the repository's runs by
	// elimination, narrowed by the token's user.
	if _, err := c.Dispatch(ctx, deploy.Request{Owner: owner, Repo: repo, EventType: "deploy", ClientPayload: []byte(`{"version":"1.2.3"}`)}); err != nil {
		t.Fatalf("repository_dispatch: %v", err)
	}
	// And mistakes: a ref, an input, a workflow that do not exist.
	for _, bad := range []deploy.Request{
		{Owner: owner, Repo: repo, Workflow: "deploy-staging.yml", Ref: "nope"},
		{Owner: owner, Repo: repo, Workflow: "deploy-staging.yml", Inputs: map[string]string{"colour": "blue"}},
		{Owner: owner, Repo: repo, Workflow: "nope.yml"},
	} {
		if _, err := c.Dispatch(ctx, bad); !errors.Is(err, deploy.ErrConfig) {
			t.Errorf("Dispatch(%+v) error = %v, want a configuration error", bad, err)
		}
	}

	answered := checkAll(t, srv)
	for _, e := range allEndpoints {
		if !slices.ContainsFunc(answered[e], func(status int) bool { return status >= 200 && status < 300 }) {
			t.Errorf("%s never answered with success (%v): the check did not cover it", e, answered[e])
		}
	}
	var statuses []int
	for _, list := range answered {
		statuses = append(statuses, list...)
	}
	for _, want := range []int{202, 204, 304, 403, 404, 409, 422, 429, 502} {
		if !slices.Contains(statuses, want) {
			t.Errorf("no answer had status %d: the check did not cover it", want)
		}
	}
}

func TestTheClientSpeaksGitHubEnterpriseServersAPI(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t,
		deploytest.WithDispatchAnswer(deploytest.AnswerRejectRunDetails),
		deploytest.WithRivalDispatch())
	if got := deploytest.DescriptionOf(srv).Name; got != "ghes-3.19.json" {
		t.Fatalf("a Server that rejects return_run_details is held to %s", got)
	}
	c := quickClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req := deploy.Request{Owner: deploytest.DefaultOwner, Repo: deploytest.DefaultRepo, Workflow: "deploy-staging.yml", CorrelationInput: deploytest.DefaultCorrelationInput}

	run, err := c.Dispatch(ctx, req)
	if err != nil || run.Identified != deploy.ByCorrelation {
		t.Fatalf("Dispatch = %v, %v; want the run found by its correlation ID", run.Identified, err)
	}
	if _, err := c.Follow(ctx, req.Owner, req.Repo, run.ID, time.Millisecond, nil); err != nil {
		t.Fatalf("Follow: %v", err)
	}
	answered := checkAll(t, srv)
	// The one request that strays is the probe for return_run_details,
	// which GHES refuses with 422 before it acts.
	if got := answered[deploytest.EndpointWorkflowDispatch]; !slices.Equal(got, []int{422, 204}) {
		t.Errorf("dispatches answered %v, want the probe refused, then 204", got)
	}
	if got := answered[deploytest.EndpointGetUser]; !slices.Equal(got, []int{403}) {
		t.Errorf("GET /user answered %v, want 403 once for an installation token", got)
	}
}

func TestDescriptionCatchesWhatStrays(t *testing.T) {
	t.Parallel()
	const runPath = "/repos/acme/shop/actions/runs/9000000001"
	job := func(edit func(map[string]string)) string {
		fields := map[string]string{
			"id": "1", "node_id": `"CR"`, "run_id": "9000000001", "run_url": `"u"`, "head_sha": `"abc"`, "workflow_name": `"Deploy"`,
			"head_branch": `"main"`, "name": `"deploy"`, "url": `"u"`, "html_url": `"h"`, "status": `"completed"`, "conclusion": `"success"`,
			"started_at": `"2024-01-02T03:04:05Z"`, "completed_at": `"2024-01-02T03:05:05Z"`, "check_run_url": `"c"`, "labels": "[]",
			"runner_id": "null", "runner_name": "null", "runner_group_id": "null", "runner_group_name": "null", "created_at": `"2024-01-02T03:04:05Z"`,
		}
		if edit != nil {
			edit(fields)
		}
		var parts []string
		for k, v := range fields {
			parts = append(parts, `"`+k+`":`+v)
		}
		return `{"total_count":1,"jobs":[{` + strings.Join(parts, ",") + `}]}`
	}
	ok := deploytest.Call{Method: "GET", Path: runPath + "/attempts/2/jobs", Query: "per_page=100&page=1", Status: 200, Answer: []byte(job(nil))}

	for _, tc := range []struct {
		name string
		desc *deploytest.Description
		call deploytest.Call
		want string // "" for a call that conforms
	}{
		{"a documented request and a complete answer pass", deploytest.APIGitHubCom(), ok, ""},
		{"nullable fields may be null", deploytest.APIGitHubCom(), withAnswer(ok, job(func(f map[string]string) {
			f["conclusion"], f["completed_at"], f["status"] = "null", "null", `"waiting"`
		})), ""},
		{"a required field left out is caught", deploytest.APIGitHubCom(), withAnswer(ok, job(func(f map[string]string) { delete(f, "runner_name") })), "runner_name"},
		{"a status outside the enum is caught", deploytest.APIGitHubCom(), withAnswer(ok, job(func(f map[string]string) { f["status"] = `"paused"` })), "/jobs/0/status"},
		{"a malformed time is caught", deploytest.APIGitHubCom(), withAnswer(ok, job(func(f map[string]string) { f["started_at"] = `"yesterday"` })), "date-time"},
		{"an undocumented path is caught", deploytest.APIGitHubCom(), deploytest.Call{Method: "GET", Path: runPath + "/jobz", Status: 404}, "no operation"},
		{"an undocumented method is caught", deploytest.APIGitHubCom(), deploytest.Call{Method: "DELETE", Path: runPath + "/cancel", Status: 404}, "no operation"},
		{"an undocumented query parameter is caught", deploytest.APIGitHubCom(), withQuery(ok, "per_page=100&since=yesterday"), `"since"`},
		{"a query value outside the enum is caught", deploytest.APIGitHubCom(), deploytest.Call{Method: "GET", Path: runPath + "/jobs", Query: "filter=newest", Status: 422, Answer: []byte(`{"message":"Invalid"}`)}, "filter"},
		{"a path value of the wrong type is caught", deploytest.APIGitHubCom(), deploytest.Call{Method: "GET", Path: "/repos/acme/shop/actions/runs/latest", Status: 404, Answer: []byte(`{"message":"Not Found"}`)}, "run_id"},
		{"an undocumented body field is caught", deploytest.APIGitHubCom(), dispatchCall(`{"ref":"main","wait":true}`, 204), `"wait"`},
		{"a body without a required field is caught", deploytest.APIGitHubCom(), dispatchCall(`{"inputs":{}}`, 204), "ref"},
		{"return_run_details is documented on github.com", deploytest.APIGitHubCom(), dispatchCall(`{"ref":"main","return_run_details":true}`, 204), ""},
		{"return_run_details is not documented on GHES", deploytest.GHES(), dispatchCall(`{"ref":"main","return_run_details":true}`, 204), `"return_run_details"`},
		{"unless GHES refused it", deploytest.GHES(), withAnswer(dispatchCall(`{"ref":"main","return_run_details":true}`, 422), `{"message":"Invalid request.","documentation_url":"d"}`), ""},
		{"a body where none is answered is caught", deploytest.APIGitHubCom(), withAnswer(dispatchCall(`{"ref":"main"}`, 204), `{}`), "no content"},
		{"an undocumented success status is caught", deploytest.APIGitHubCom(), deploytest.Call{Method: "GET", Path: runPath, Status: 201, Answer: []byte(`{}`)}, "status 201"},
		{"an error answer must be GitHub's error shape", deploytest.APIGitHubCom(), deploytest.Call{Method: "GET", Path: runPath, Status: 502, Answer: []byte(`{"message":42}`)}, "message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := tc.desc.Check(tc.call)
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("Check = %v, want no problem", errs)
			case tc.want != "" && !slices.ContainsFunc(errs, func(err error) bool { return strings.Contains(err.Error(), tc.want) }):
				t.Errorf("Check = %v, want a problem about %s", errs, tc.want)
			}
		})
	}
}

func withAnswer(c deploytest.Call, answer string) deploytest.Call {
	c.Answer = []byte(answer)
	return c
}

func withQuery(c deploytest.Call, query string) deploytest.Call {
	c.Query = query
	return c
}

func dispatchCall(body string, status int) deploytest.Call {
	return deploytest.Call{Method: "POST", Path: "/repos/acme/shop/actions/workflows/deploy-staging.yml/dispatches", Body: []byte(body), Status: status}
}

// get sends a GET to srv with the token and If-None-Match: etag when set,
// for routes and headers the client has no method for, and returns the
// answer's status and ETag.
func get(t *testing.T, srv *deploytest.Server, path, etag string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer test-token")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("ETag")
}
