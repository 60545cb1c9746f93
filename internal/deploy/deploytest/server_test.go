package deploytest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// get sends a GET to the server and decodes a JSON answer into v.
func get(t *testing.T, s *Server, path string, header http.Header, v any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("decoding %s: %v\n%s", path, err, body)
		}
	}
	return resp
}

type runList struct {
	TotalCount   int `json:"total_count"`
	WorkflowRuns []struct {
		ID int64 `json:"id"`
	} `json:"workflow_runs"`
}

func TestServerServesAtTheRootAndUnderAPIv3(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	for _, prefix := range []string{"", "/api/v3"} {
		var repo struct {
			DefaultBranch string `json:"default_branch"`
		}
		if resp := get(t, s, prefix+"/repos/acme/shop", nil, &repo); resp.StatusCode != http.StatusOK || repo.DefaultBranch != DefaultBranch {
			t.Errorf("GET %s/repos/acme/shop: %d, default branch %q", prefix, resp.StatusCode, repo.DefaultBranch)
		}
	}
	if resp := get(t, s, "/repos/acme/other", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another repository answered %d, want 404", resp.StatusCode)
	}
}

func TestServerChecksTheToken(t *testing.T) {
	t.Parallel()
	s := NewServer(t, WithToken("right"))
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"accepts a bearer token", "Bearer right", http.StatusOK},
		{"accepts the token scheme", "token right", http.StatusOK},
		{"refuses another token", "Bearer wrong", http.StatusUnauthorized},
		{"refuses no token", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, s, "/repos/acme/shop", http.Header{"Authorization": {tc.auth}}, nil)
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestServerPagesAndFiltersRuns(t *testing.T) {
	t.Parallel()
	s := NewServer(t, WithRefs("release"))
	for range 5 {
		s.CreateRun(RunSpec{Age: time.Hour})
	}
	recent := s.CreateRun(RunSpec{Branch: "release"})
	s.CreateRun(RunSpec{Event: "push"})

	var page runList
	resp := get(t, s, "/repos/acme/shop/actions/workflows/deploy-staging.yml/runs?event=workflow_dispatch&per_page=2&page=1", nil, &page)
	if page.TotalCount != 6 || len(page.WorkflowRuns) != 2 {
		t.Errorf("got %d of %d runs, want 2 of 6", len(page.WorkflowRuns), page.TotalCount)
	}
	link := resp.Header.Get("Link")
	if !strings.Contains(link, `page=2`) || !strings.Contains(link, `rel="next"`) || !strings.Contains(link, `rel="last"`) {
		t.Errorf("Link header %q lacks next and last", link)
	}
	if page.WorkflowRuns[0].ID != recent.ID {
		t.Errorf("the first run is %d, want the newest %d", page.WorkflowRuns[0].ID, recent.ID)
	}

	since := time.Now().Add(-time.Minute).UTC().Format("2006-01-02T15:04:05Z")
	var filtered runList
	get(t, s, "/repos/acme/shop/actions/runs?event=workflow_dispatch&branch=release&created=%3E%3D"+since, nil, &filtered)
	if filtered.TotalCount != 1 || filtered.WorkflowRuns[0].ID != recent.ID {
		t.Errorf("filtering by branch and created gave %+v, want run %d alone", filtered, recent.ID)
	}
}

func TestServerAnswersNotModifiedToAMatchingETag(t *testing.T) {
	t.Parallel()
	s := NewServer(t, WithLifecycle(Lifecycle{Manual: true}))
	run := s.CreateRun(RunSpec{})
	path := "/repos/acme/shop/actions/runs/" + strconv.FormatInt(run.ID, 10)

	first := get(t, s, path, nil, nil)
	etag := first.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if again := get(t, s, path, http.Header{"If-None-Match": {etag}}, nil); again.StatusCode != http.StatusNotModified {
		t.Errorf("an unchanged run answered %d, want 304", again.StatusCode)
	}
	if err := s.Complete(run.ID, "failure"); err != nil {
		t.Fatal(err)
	}
	if changed := get(t, s, path, http.Header{"If-None-Match": {etag}}, nil); changed.StatusCode != http.StatusOK {
		t.Errorf("a changed run answered %d, want 200", changed.StatusCode)
	}
}

func TestServerRecordsCalls(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	resp, err := s.Client().Post(s.URL+"/api/v3/repos/acme/shop/dispatches", "application/json", strings.NewReader(`{"event_type":"deploy"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := []Call{{
		Endpoint: EndpointRepositoryDispatch,
		Method:   http.MethodPost,
		Path:     "/repos/acme/shop/dispatches",
		Body:     []byte(`{"event_type":"deploy"}`),
		Status:   http.StatusNoContent,
	}}
	if diff := cmp.Diff(want, s.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if runs := s.Runs(); len(runs) != 1 || runs[0].Event != "repository_dispatch" {
		t.Errorf("runs %+v, want one repository_dispatch run", runs)
	}
}

func TestServerServesEveryAttemptOfARerunRun(t *testing.T) {
	t.Parallel()
	s := NewServer(t, WithLifecycle(Lifecycle{}), WithJobs(JobSpec{Name: "deploy"}, JobSpec{Name: "smoke"}))
	run := s.CreateRun(RunSpec{})
	if _, err := s.Rerun(run.ID); err != nil {
		t.Fatal(err)
	}
	path := "/repos/acme/shop/actions/runs/" + strconv.FormatInt(run.ID, 10)
	type jobList struct {
		TotalCount int `json:"total_count"`
		Jobs       []struct {
			RunAttempt int `json:"run_attempt"`
		} `json:"jobs"`
	}
	for _, tc := range []struct {
		query    string
		attempts []int
	}{
		{"", []int{2, 2}},
		{"?filter=latest", []int{2, 2}},
		{"?filter=all", []int{1, 1, 2, 2}},
	} {
		var list jobList
		get(t, s, path+"/jobs"+tc.query, nil, &list)
		var got []int
		for _, j := range list.Jobs {
			got = append(got, j.RunAttempt)
		}
		if diff := cmp.Diff(tc.attempts, got); diff != "" {
			t.Errorf("jobs%s by attempt (-want +got):\n%s", tc.query, diff)
		}
	}
	// A filter GitHub does not know is refused; the request strays from
	// the description on purpose, so it goes to a Server that lets it.
	lax := NewServer(t, WithoutConformance())
	other := lax.CreateRun(RunSpec{})
	if resp := get(t, lax, "/repos/acme/shop/actions/runs/"+strconv.FormatInt(other.ID, 10)+"/jobs?filter=newest", nil, nil); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("an unknown filter answered %d, want 422", resp.StatusCode)
	}
	var first struct {
		RunAttempt         int     `json:"run_attempt"`
		PreviousAttemptURL *string `json:"previous_attempt_url"`
	}
	get(t, s, path+"/attempts/1", nil, &first)
	if first.RunAttempt != 1 || first.PreviousAttemptURL != nil {
		t.Errorf("attempt 1 = %+v", first)
	}
	var latest struct {
		RunAttempt         int    `json:"run_attempt"`
		PreviousAttemptURL string `json:"previous_attempt_url"`
	}
	get(t, s, path, nil, &latest)
	if latest.RunAttempt != 2 || !strings.HasSuffix(latest.PreviousAttemptURL, "/attempts/1") {
		t.Errorf("the run = %+v, want attempt 2 pointing at attempt 1", latest)
	}
	if resp := get(t, s, path+"/attempts/3", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an attempt that never ran answered %d, want 404", resp.StatusCode)
	}
}
