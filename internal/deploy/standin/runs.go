package standin

import (
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Run is a workflow run of the Server as its user sees it.
type Run struct {
	ID            int64
	Number        int
	Attempt       int
	WorkflowID    int64
	WorkflowPath  string
	Event         string
	Branch        string
	DisplayTitle  string
	Actor         string
	Inputs        map[string]string
	ClientPayload map[string]any
	Status        string
	Conclusion    string
	CreatedAt     time.Time
	HTMLURL       string
}

// RunSpec describes a run to create with CreateRun, for runs that exist
// before a test dispatches (someone's earlier deploy) or that appear by
// other means. Zero fields take the Server's defaults.
type RunSpec struct {
	Workflow  string // file name, path or ID; the first workflow when empty
	Event     string // workflow_dispatch when empty
	Branch    string // the default branch when empty
	Actor     string // RivalActor when empty
	Inputs    map[string]string
	Age       time.Duration // created this long before now
	Lifecycle *Lifecycle    // the Server's lifecycle when nil
}

type runState struct {
	id        int64
	number    int
	workflow  Workflow
	event     string
	branch    string
	title     string
	actor     string
	inputs    map[string]string
	payload   map[string]any
	createdAt time.Time
	visibleAt time.Time
	deleted   bool
	// attempts holds attempt 1 first; the last one is the run's current
	// state.
	attempts []*attemptState
}

// attemptState is one execution of a run: the first, or a re-run.
type attemptState struct {
	number     int
	startedAt  time.Time
	life       Lifecycle
	forcedEnd  time.Time // set by Complete and cancel
	forcedConc string
}

func (r *runState) current() *attemptState { return r.attempts[len(r.attempts)-1] }

func (r *runState) attempt(n int) *attemptState {
	if n < 1 || n > len(r.attempts) {
		return nil
	}
	return r.attempts[n-1]
}

type runPhase struct {
	Status       string
	Conclusion   string
	UpdatedAt    time.Time
	InProgressAt time.Time
	CompletedAt  time.Time
}

// phase works out where the attempt is in its lifecycle at now.
func (a *attemptState) phase(now time.Time) runPhase {
	l := a.life
	requestedEnd := a.startedAt.Add(l.Requested)
	queuedEnd := requestedEnd.Add(l.Queued)
	pendingEnd := queuedEnd.Add(l.Pending)
	waitingEnd := pendingEnd.Add(l.Waiting)
	end, conclusion := time.Time{}, or(l.Conclusion, "success")
	if !l.Manual {
		end = waitingEnd.Add(l.InProgress)
	}
	if !a.forcedEnd.IsZero() && (end.IsZero() || a.forcedEnd.Before(end)) {
		end, conclusion = a.forcedEnd, a.forcedConc
	}
	switch {
	case !end.IsZero() && !now.Before(end):
		return runPhase{Status: "completed", Conclusion: conclusion, UpdatedAt: end, InProgressAt: minTime(waitingEnd, end), CompletedAt: end}
	case now.Before(requestedEnd):
		return runPhase{Status: "requested", UpdatedAt: a.startedAt}
	case now.Before(queuedEnd):
		return runPhase{Status: "queued", UpdatedAt: requestedEnd}
	case now.Before(pendingEnd):
		return runPhase{Status: "pending", UpdatedAt: queuedEnd}
	case now.Before(waitingEnd):
		return runPhase{Status: "waiting", UpdatedAt: pendingEnd}
	default:
		return runPhase{Status: "in_progress", UpdatedAt: waitingEnd, InProgressAt: waitingEnd}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func (s *Server) htmlURL(r *runState) string {
	return fmt.Sprintf("%s/%s/%s/actions/runs/%d", s.URL, s.owner, s.repo, r.id)
}

func (s *Server) apiURL() string { return s.URL + "/api/v3" }

func (s *Server) snapshot(r *runState) Run {
	p := r.current().phase(s.now())
	return Run{
		ID:            r.id,
		Number:        r.number,
		Attempt:       r.current().number,
		WorkflowID:    r.workflow.ID,
		WorkflowPath:  r.workflow.Path,
		Event:         r.event,
		Branch:        r.branch,
		DisplayTitle:  r.title,
		Actor:         r.actor,
		Inputs:        maps.Clone(r.inputs),
		ClientPayload: maps.Clone(r.payload),
		Status:        p.Status,
		Conclusion:    p.Conclusion,
		CreatedAt:     r.createdAt,
		HTMLURL:       s.htmlURL(r),
	}
}

// newRun records a run; the caller holds s.mu.
func (s *Server) newRun(w Workflow, event, branch, actor string, inputs map[string]string, payload map[string]any, created time.Time, life Lifecycle) *runState {
	r := &runState{
		id:        s.nextRunID,
		number:    s.nextNumber,
		workflow:  w,
		event:     event,
		branch:    branch,
		actor:     actor,
		inputs:    inputs,
		payload:   payload,
		createdAt: created,
		visibleAt: created.Add(s.listingDelay),
		attempts:  []*attemptState{{number: 1, startedAt: created, life: life}},
	}
	r.title = runName(w, event, inputs, payload)
	s.nextRunID += 7 // run IDs on GitHub are far from consecutive
	s.nextNumber++
	s.runs = append(s.runs, r)
	return r
}

// newRival records the rival run of a dispatch at now; the caller holds s.mu.
func (s *Server) newRival(w Workflow, event, branch string, inputs map[string]string, payload map[string]any, now time.Time) *runState {
	r := s.newRun(w, event, branch, or(s.rival.Actor, RivalActor), inputs, payload, now.Add(-s.rival.Earlier), s.lifecycle)
	if !s.rival.sameListingDelay {
		r.visibleAt = r.createdAt.Add(s.rival.ListingDelay)
	}
	return r
}

var expression = regexp.MustCompile(`\$\{\{\s*([a-zA-Z0-9_.\-]+)\s*\}\}`)

// runName expands the few expressions a run-name of a deploy workflow uses.
func runName(w Workflow, event string, inputs map[string]string, payload map[string]any) string {
	if w.RunName == "" {
		return w.Name
	}
	return expression.ReplaceAllStringFunc(w.RunName, func(m string) string {
		name := expression.FindStringSubmatch(m)[1]
		switch {
		case name == "github.event_name":
			return event
		case hasPrefix(name, "inputs."):
			return inputs[name[len("inputs."):]]
		case hasPrefix(name, "github.event.inputs."):
			return inputs[name[len("github.event.inputs."):]]
		case hasPrefix(name, "github.event.client_payload."):
			if v, ok := payload[name[len("github.event.client_payload."):]]; ok {
				if s, ok := v.(string); ok {
					return s
				}
				return fmt.Sprint(v)
			}
		}
		return ""
	})
}

func hasPrefix(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

// CreateRun adds a run as if some other trigger had created it.
func (s *Server) CreateRun(spec RunSpec) Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.workflows[0]
	if spec.Workflow != "" {
		found := s.workflowByKey(spec.Workflow)
		if found == nil {
			panic(fmt.Sprintf("standin: no workflow %q", spec.Workflow))
		}
		w = *found
	}
	life := s.lifecycle
	if spec.Lifecycle != nil {
		life = *spec.Lifecycle
	}
	created := s.now().Add(-spec.Age)
	r := s.newRun(w, or(spec.Event, "workflow_dispatch"), or(spec.Branch, s.defaultBranch), or(spec.Actor, RivalActor), maps.Clone(spec.Inputs), nil, created, life)
	r.visibleAt = created
	return s.snapshot(r)
}

// Runs returns every run, oldest first.
func (s *Server) Runs() []Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	var runs []Run
	for _, r := range s.runs {
		if !r.deleted {
			runs = append(runs, s.snapshot(r))
		}
	}
	return runs
}

// Run returns the run with the ID.
func (s *Server) Run(id int64) (Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.findRun(id)
	if r == nil {
		return Run{}, false
	}
	return s.snapshot(r), true
}

// Complete ends the run's current attempt now with conclusion ("success",
// "failure", ...). It fails for an unknown run and for one that has
// already completed.
func (s *Server) Complete(id int64, conclusion string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.findRun(id)
	if r == nil {
		return fmt.Errorf("standin: no run %d", id)
	}
	now := s.now()
	a := r.current()
	if a.phase(now).Status == "completed" {
		return fmt.Errorf("standin: run %d has already completed", id)
	}
	a.forcedEnd, a.forcedConc = now, or(conclusion, "success")
	return nil
}

// Rerun starts the next attempt of a completed run now, as "Re-run all
// jobs" does: run_attempt goes up by one, the run goes through the
// Server's lifecycle again, and the earlier attempts stay readable under
// /attempts/{n}. It fails for an unknown run and for one that has not
// completed.
func (s *Server) Rerun(id int64) (Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.findRun(id)
	if r == nil {
		return Run{}, fmt.Errorf("standin: no run %d", id)
	}
	now := s.now()
	if r.current().phase(now).Status != "completed" {
		return Run{}, fmt.Errorf("standin: run %d has not completed", id)
	}
	r.attempts = append(r.attempts, &attemptState{number: len(r.attempts) + 1, startedAt: now, life: s.lifecycle})
	return s.snapshot(r), nil
}

// DeleteRun removes a run, as deleting it on GitHub does: it answers 404
// from then on.
func (s *Server) DeleteRun(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.findRun(id); r != nil {
		r.deleted = true
	}
}

func (s *Server) findRun(id int64) *runState {
	for _, r := range s.runs {
		if r.id == id && !r.deleted {
			return r
		}
	}
	return nil
}

// JSON shapes, with every field GitHub's REST API description marks
// required (the conformance checks hold the Server to it).

func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// nullable is a JSON null for an empty string.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullableTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return timestamp(t)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// userJSON is a simple-user.
func (s *Server) userJSON(login string, id int64, kind string) map[string]any {
	api := s.apiURL() + "/users/" + login
	return map[string]any{
		"login":               login,
		"id":                  id,
		"node_id":             fmt.Sprintf("U_kgDO%d", id),
		"avatar_url":          fmt.Sprintf("%s/avatars/u/%d", s.URL, id),
		"gravatar_id":         "",
		"url":                 api,
		"html_url":            s.URL + "/" + login,
		"followers_url":       api + "/followers",
		"following_url":       api + "/following{/other_user}",
		"gists_url":           api + "/gists{/gist_id}",
		"starred_url":         api + "/starred{/owner}{/repo}",
		"subscriptions_url":   api + "/subscriptions",
		"organizations_url":   api + "/orgs",
		"repos_url":           api + "/repos",
		"events_url":          api + "/events{/privacy}",
		"received_events_url": api + "/received_events",
		"type":                kind,
		"site_admin":          false,
		"user_view_type":      "public",
	}
}

func (s *Server) actorJSON(login string) map[string]any {
	return s.userJSON(login, int64(len(login))+1000, "User")
}

// repoJSON is a minimal-repository, as runs embed it.
func (s *Server) repoJSON() map[string]any {
	api := s.apiURL() + "/repos/" + s.FullName()
	repo := map[string]any{
		"id":          int64(1296269),
		"node_id":     "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
		"name":        s.repo,
		"full_name":   s.FullName(),
		"private":     true,
		"owner":       s.userJSON(s.owner, 1, "Organization"),
		"html_url":    s.URL + "/" + s.FullName(),
		"description": nil,
		"fork":        false,
		"url":         api,
	}
	for _, name := range []string{"forks", "collaborators{/collaborator}", "teams", "hooks", "issues/events{/number}",
		"events", "assignees{/user}", "branches{/branch}", "tags", "git/blobs{/sha}", "git/tags{/sha}", "git/refs{/sha}",
		"git/trees{/sha}", "statuses/{sha}", "languages", "stargazers", "contributors", "subscribers", "subscription",
		"commits{/sha}", "git/commits{/sha}", "comments{/number}", "issues/comments{/number}", "contents/{+path}",
		"compare/{base}...{head}", "merges", "{archive_format}{/ref}", "downloads", "issues{/number}", "pulls{/number}",
		"milestones{/number}", "notifications{?since,all,participating}", "labels{/name}", "releases{/id}", "deployments",
		"keys{/key_id}"} {
		repo[urlField(name)] = api + "/" + name
	}
	return repo
}

// urlField names the field of a repository's URL template: "git/refs{/sha}"
// is git_refs_url, "{archive_format}{/ref}" archive_url.
func urlField(template string) string {
	special := map[string]string{
		"collaborators{/collaborator}":            "collaborators_url",
		"issues/events{/number}":                  "issue_events_url",
		"issues/comments{/number}":                "issue_comment_url",
		"{archive_format}{/ref}":                  "archive_url",
		"compare/{base}...{head}":                 "compare_url",
		"contents/{+path}":                        "contents_url",
		"statuses/{sha}":                          "statuses_url",
		"notifications{?since,all,participating}": "notifications_url",
		"keys{/key_id}":                           "keys_url",
		"git/trees{/sha}":                         "trees_url",
		"git/blobs{/sha}":                         "blobs_url",
	}
	if f, ok := special[template]; ok {
		return f
	}
	name, _, _ := strings.Cut(template, "{")
	return strings.ReplaceAll(name, "/", "_") + "_url"
}

// fullRepoJSON is a full-repository, as GET /repos/{owner}/{repo} answers.
func (s *Server) fullRepoJSON() map[string]any {
	repo := s.repoJSON()
	host := s.URL[len("http://"):]
	extra := map[string]any{
		"clone_url":         s.URL + "/" + s.FullName() + ".git",
		"git_url":           "git://" + host + "/" + s.FullName() + ".git",
		"ssh_url":           "git@" + host + ":" + s.FullName() + ".git",
		"svn_url":           s.URL + "/" + s.FullName(),
		"mirror_url":        nil,
		"homepage":          nil,
		"language":          "Go",
		"default_branch":    s.defaultBranch,
		"forks":             0,
		"forks_count":       0,
		"watchers":          0,
		"watchers_count":    0,
		"stargazers_count":  0,
		"open_issues":       0,
		"open_issues_count": 0,
		"size":              128,
		"has_issues":        true,
		"has_projects":      false,
		"has_wiki":          false,
		"has_pages":         false,
		"has_discussions":   false,
		"archived":          false,
		"disabled":          false,
		"license":           nil,
		"pushed_at":         "2024-01-02T03:04:05Z",
		"created_at":        "2024-01-02T03:04:05Z",
		"updated_at":        "2024-01-02T03:04:05Z",
		"network_count":     0,
		"subscribers_count": 0,
		"visibility":        "private",
	}
	maps.Copy(repo, extra)
	return repo
}

// runJSON is a workflow-run at one attempt (0: the current one).
func (s *Server) runJSON(r *runState, attempt int, now time.Time) map[string]any {
	a := r.current()
	if attempt > 0 {
		a = r.attempt(attempt)
	}
	p := a.phase(now)
	api := fmt.Sprintf("%s/repos/%s/actions/runs/%d", s.apiURL(), s.FullName(), r.id)
	sha := fmt.Sprintf("%040x", r.id)
	var previous any
	if a.number > 1 {
		previous = fmt.Sprintf("%s/attempts/%d", api, a.number-1)
	}
	repo := s.repoJSON()
	return map[string]any{
		"id":                   r.id,
		"name":                 r.workflow.Name,
		"node_id":              fmt.Sprintf("WFR_kwLO%d", r.id),
		"check_suite_id":       r.id + int64(a.number),
		"check_suite_node_id":  fmt.Sprintf("CS_kwDO%d", r.id+int64(a.number)),
		"head_branch":          r.branch,
		"head_sha":             sha,
		"path":                 r.workflow.Path,
		"display_title":        r.title,
		"run_number":           r.number,
		"run_attempt":          a.number,
		"referenced_workflows": []any{},
		"event":                r.event,
		"status":               p.Status,
		"conclusion":           nullable(p.Conclusion),
		"workflow_id":          r.workflow.ID,
		"url":                  api,
		"html_url":             s.htmlURL(r),
		"pull_requests":        []any{},
		"created_at":           timestamp(r.createdAt),
		"updated_at":           timestamp(p.UpdatedAt),
		"run_started_at":       timestamp(a.startedAt),
		"actor":                s.actorJSON(r.actor),
		"triggering_actor":     s.actorJSON(r.actor),
		"jobs_url":             api + "/jobs",
		"logs_url":             api + "/logs",
		"check_suite_url":      fmt.Sprintf("%s/repos/%s/check-suites/%d", s.apiURL(), s.FullName(), r.id+int64(a.number)),
		"artifacts_url":        api + "/artifacts",
		"cancel_url":           api + "/cancel",
		"rerun_url":            api + "/rerun",
		"previous_attempt_url": previous,
		"workflow_url":         fmt.Sprintf("%s/repos/%s/actions/workflows/%d", s.apiURL(), s.FullName(), r.workflow.ID),
		"head_commit": map[string]any{
			"id":        sha,
			"tree_id":   fmt.Sprintf("%040x", r.id+1),
			"message":   "Deploy",
			"timestamp": timestamp(r.createdAt.Add(-time.Hour)),
			"author":    map[string]any{"name": "Mona Lisa", "email": "mona@example.com"},
			"committer": map[string]any{"name": "GitHub", "email": "noreply@example.com"},
		},
		"repository":         repo,
		"head_repository":    repo,
		"head_repository_id": repo["id"],
	}
}

// jobPhase works out where a job of the run is at now, and whether it is
// listed yet.
func jobPhase(spec JobSpec, run runPhase, now time.Time) (runPhase, bool) {
	switch run.Status {
	case "requested", "queued", "pending", "waiting":
		return run, spec.After == 0
	}
	start := run.InProgressAt.Add(spec.After)
	runEnded := run.Status == "completed"
	switch {
	case runEnded && !start.Before(run.CompletedAt) && spec.After > 0:
		return runPhase{Status: "completed", Conclusion: "skipped", InProgressAt: run.CompletedAt, CompletedAt: run.CompletedAt}, true
	case now.Before(start):
		return runPhase{}, false
	case spec.Skipped:
		return runPhase{Status: "completed", Conclusion: "skipped", InProgressAt: start, CompletedAt: start}, true
	}
	if spec.Duration > 0 {
		end := start.Add(spec.Duration)
		if !runEnded || end.Before(run.CompletedAt) {
			if !now.Before(end) {
				return runPhase{Status: "completed", Conclusion: "success", InProgressAt: start, CompletedAt: end}, true
			}
			return runPhase{Status: "in_progress", InProgressAt: start}, true
		}
	}
	if runEnded {
		return runPhase{Status: "completed", Conclusion: run.Conclusion, InProgressAt: start, CompletedAt: run.CompletedAt}, true
	}
	return runPhase{Status: "in_progress", InProgressAt: start}, true
}

// jobsJSON lays the Server's jobs over one attempt of the run.
func (s *Server) jobsJSON(r *runState, a *attemptState, now time.Time) []map[string]any {
	runP := a.phase(now)
	var jobs []map[string]any
	for i, spec := range s.jobs {
		p, listed := jobPhase(spec, runP, now)
		if !listed {
			continue
		}
		id := r.id*10000 + int64(a.number)*1000 + int64(i) + 1
		job := map[string]any{
			"id":                id,
			"run_id":            r.id,
			"run_url":           fmt.Sprintf("%s/repos/%s/actions/runs/%d", s.apiURL(), s.FullName(), r.id),
			"run_attempt":       a.number,
			"node_id":           fmt.Sprintf("CR_kwDO%d", id),
			"head_sha":          fmt.Sprintf("%040x", r.id),
			"head_branch":       r.branch,
			"url":               fmt.Sprintf("%s/repos/%s/actions/jobs/%d", s.apiURL(), s.FullName(), id),
			"html_url":          fmt.Sprintf("%s/%s/actions/runs/%d/job/%d", s.URL, s.FullName(), r.id, id),
			"check_run_url":     fmt.Sprintf("%s/repos/%s/check-runs/%d", s.apiURL(), s.FullName(), id),
			"created_at":        timestamp(a.startedAt),
			"started_at":        timestamp(a.startedAt),
			"completed_at":      nil,
			"conclusion":        nil,
			"name":              spec.Name,
			"steps":             []stepJSON{},
			"labels":            []string{"ubuntu-latest"},
			"runner_id":         nil,
			"runner_name":       nil,
			"runner_group_id":   nil,
			"runner_group_name": nil,
			"workflow_name":     r.workflow.Name,
		}
		switch p.Status {
		case "requested", "queued", "pending", "waiting":
			job["status"] = p.Status
			jobs = append(jobs, job)
			continue
		case "completed":
			job["status"] = "completed"
			job["conclusion"] = nullable(p.Conclusion)
			job["completed_at"] = timestamp(p.CompletedAt)
		default:
			job["status"] = "in_progress"
		}
		job["started_at"] = timestamp(p.InProgressAt)
		if p.Conclusion != "skipped" {
			job["runner_id"], job["runner_name"] = 1, "GitHub Actions 1"
			job["runner_group_id"], job["runner_group_name"] = 1, "GitHub Actions"
			job["steps"] = stepsJSON(spec.Steps, p, now)
		}
		jobs = append(jobs, job)
	}
	return jobs
}

type stepJSON struct {
	Name        string `json:"name"`
	Status      string `json:"status"`
	Conclusion  any    `json:"conclusion"`
	Number      int    `json:"number"`
	StartedAt   any    `json:"started_at"`
	CompletedAt any    `json:"completed_at"`
}

func stepsJSON(specs []StepSpec, p runPhase, now time.Time) []stepJSON {
	completed := p.Status == "completed"
	start := p.InProgressAt
	open := false // an earlier step lasts until the run completes
	steps := []stepJSON{}
	for i, spec := range specs {
		step := stepJSON{Name: spec.Name, Number: i + 1}
		end := time.Time{}
		if spec.Duration > 0 && !open {
			end = start.Add(spec.Duration)
		}
		switch {
		case completed && (open || (i > 0 && !start.Before(p.CompletedAt))):
			step.Status, step.Conclusion = "completed", "skipped"
			step.StartedAt, step.CompletedAt = timestamp(p.CompletedAt), timestamp(p.CompletedAt)
		case completed && (end.IsZero() || end.After(p.CompletedAt)):
			step.Status, step.Conclusion = "completed", nullable(p.Conclusion)
			step.StartedAt, step.CompletedAt = timestamp(start), timestamp(p.CompletedAt)
			open = true // the run ended during this step: later steps never ran
		case open:
			step.Status = "queued"
		case !end.IsZero() && !now.Before(end):
			step.Status, step.Conclusion = "completed", "success"
			step.StartedAt, step.CompletedAt = timestamp(start), timestamp(end)
		case now.Before(start):
			step.Status = "queued"
		default:
			step.Status = "in_progress"
			step.StartedAt = timestamp(start)
		}
		if end.IsZero() {
			open = true
		} else {
			start = end
		}
		steps = append(steps, step)
	}
	return steps
}
