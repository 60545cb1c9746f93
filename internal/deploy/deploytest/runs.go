package deploytest

import (
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"time"
)

// Run is a workflow run of the Server as tests see it.
type Run struct {
	ID            int64
	Number        int
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
	id         int64
	number     int
	workflow   Workflow
	event      string
	branch     string
	title      string
	actor      string
	inputs     map[string]string
	payload    map[string]any
	createdAt  time.Time
	visibleAt  time.Time
	life       Lifecycle
	forcedEnd  time.Time // set by Complete and cancel
	forcedConc string
	deleted    bool
}

type runPhase struct {
	Status       string
	Conclusion   string
	UpdatedAt    time.Time
	InProgressAt time.Time
	CompletedAt  time.Time
}

// phase works out where the run is in its lifecycle at now.
func (r *runState) phase(now time.Time) runPhase {
	queuedEnd := r.createdAt.Add(r.life.Queued)
	waitingEnd := queuedEnd.Add(r.life.Waiting)
	end, conclusion := time.Time{}, or(r.life.Conclusion, "success")
	if !r.life.Manual {
		end = waitingEnd.Add(r.life.InProgress)
	}
	if !r.forcedEnd.IsZero() && (end.IsZero() || r.forcedEnd.Before(end)) {
		end, conclusion = r.forcedEnd, r.forcedConc
	}
	switch {
	case !end.IsZero() && !now.Before(end):
		return runPhase{Status: "completed", Conclusion: conclusion, UpdatedAt: end, InProgressAt: minTime(waitingEnd, end), CompletedAt: end}
	case now.Before(queuedEnd):
		return runPhase{Status: "queued", UpdatedAt: r.createdAt}
	case now.Before(waitingEnd):
		return runPhase{Status: "waiting", UpdatedAt: queuedEnd}
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
	p := r.phase(s.now())
	return Run{
		ID:            r.id,
		Number:        r.number,
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
		life:      life,
	}
	r.title = runName(w, event, inputs, payload)
	s.nextRunID += 7 // run IDs on GitHub are far from consecutive
	s.nextNumber++
	s.runs = append(s.runs, r)
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
			panic(fmt.Sprintf("deploytest: no workflow %q", spec.Workflow))
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

// Complete ends a run now with conclusion ("success", "failure", ...). It
// fails for an unknown run and for one that has already completed.
func (s *Server) Complete(id int64, conclusion string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.findRun(id)
	if r == nil {
		return fmt.Errorf("deploytest: no run %d", id)
	}
	now := s.now()
	if r.phase(now).Status == "completed" {
		return fmt.Errorf("deploytest: run %d has already completed", id)
	}
	r.forcedEnd, r.forcedConc = now, or(conclusion, "success")
	return nil
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

// JSON shapes, as documented for the REST API 2022-11-28.

type userJSON struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"`
}

type repoJSON struct {
	ID            int64  `json:"id"`
	NodeID        string `json:"node_id"`
	Name          string `json:"name"`
	FullName      string `json:"full_name"`
	Private       bool   `json:"private"`
	Owner         any    `json:"owner"`
	HTMLURL       string `json:"html_url"`
	URL           string `json:"url"`
	DefaultBranch string `json:"default_branch,omitempty"`
}

type runJSON struct {
	ID              int64    `json:"id"`
	Name            string   `json:"name"`
	NodeID          string   `json:"node_id"`
	HeadBranch      string   `json:"head_branch"`
	HeadSHA         string   `json:"head_sha"`
	Path            string   `json:"path"`
	DisplayTitle    string   `json:"display_title"`
	RunNumber       int      `json:"run_number"`
	RunAttempt      int      `json:"run_attempt"`
	Event           string   `json:"event"`
	Status          string   `json:"status"`
	Conclusion      *string  `json:"conclusion"`
	WorkflowID      int64    `json:"workflow_id"`
	CheckSuiteID    int64    `json:"check_suite_id"`
	URL             string   `json:"url"`
	HTMLURL         string   `json:"html_url"`
	PullRequests    []any    `json:"pull_requests"`
	CreatedAt       string   `json:"created_at"`
	UpdatedAt       string   `json:"updated_at"`
	RunStartedAt    string   `json:"run_started_at"`
	Actor           userJSON `json:"actor"`
	TriggeringActor userJSON `json:"triggering_actor"`
	JobsURL         string   `json:"jobs_url"`
	LogsURL         string   `json:"logs_url"`
	CancelURL       string   `json:"cancel_url"`
	RerunURL        string   `json:"rerun_url"`
	WorkflowURL     string   `json:"workflow_url"`
	Repository      repoJSON `json:"repository"`
}

type stepJSON struct {
	Name        string  `json:"name"`
	Status      string  `json:"status"`
	Conclusion  *string `json:"conclusion"`
	Number      int     `json:"number"`
	StartedAt   *string `json:"started_at"`
	CompletedAt *string `json:"completed_at"`
}

type jobJSON struct {
	ID           int64      `json:"id"`
	RunID        int64      `json:"run_id"`
	RunURL       string     `json:"run_url"`
	RunAttempt   int        `json:"run_attempt"`
	NodeID       string     `json:"node_id"`
	HeadSHA      string     `json:"head_sha"`
	HeadBranch   string     `json:"head_branch"`
	URL          string     `json:"url"`
	HTMLURL      string     `json:"html_url"`
	Status       string     `json:"status"`
	Conclusion   *string    `json:"conclusion"`
	CreatedAt    string     `json:"created_at"`
	StartedAt    string     `json:"started_at"`
	CompletedAt  *string    `json:"completed_at"`
	Name         string     `json:"name"`
	Steps        []stepJSON `json:"steps"`
	Labels       []string   `json:"labels"`
	WorkflowName string     `json:"workflow_name"`
}

func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func timestampPtr(t time.Time) *string {
	s := timestamp(t)
	return &s
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (s *Server) repoJSON() repoJSON {
	return repoJSON{
		ID:            1296269,
		NodeID:        "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
		Name:          s.repo,
		FullName:      s.FullName(),
		Private:       true,
		Owner:         userJSON{Login: s.owner, ID: 1, Type: "Organization"},
		HTMLURL:       s.URL + "/" + s.FullName(),
		URL:           s.apiURL() + "/repos/" + s.FullName(),
		DefaultBranch: s.defaultBranch,
	}
}

func (s *Server) runJSON(r *runState, now time.Time) runJSON {
	p := r.phase(now)
	api := fmt.Sprintf("%s/repos/%s/actions/runs/%d", s.apiURL(), s.FullName(), r.id)
	actor := userJSON{Login: r.actor, ID: int64(len(r.actor)) + 1000, Type: "User"}
	repo := s.repoJSON()
	repo.DefaultBranch = "" // runs embed a minimal repository
	return runJSON{
		ID:              r.id,
		Name:            r.workflow.Name,
		NodeID:          fmt.Sprintf("WFR_kwLO%d", r.id),
		HeadBranch:      r.branch,
		HeadSHA:         fmt.Sprintf("%040x", r.id),
		Path:            r.workflow.Path,
		DisplayTitle:    r.title,
		RunNumber:       r.number,
		RunAttempt:      1,
		Event:           r.event,
		Status:          p.Status,
		Conclusion:      strPtr(p.Conclusion),
		WorkflowID:      r.workflow.ID,
		CheckSuiteID:    r.id + 1,
		URL:             api,
		HTMLURL:         s.htmlURL(r),
		PullRequests:    []any{},
		CreatedAt:       timestamp(r.createdAt),
		UpdatedAt:       timestamp(p.UpdatedAt),
		RunStartedAt:    timestamp(r.createdAt),
		Actor:           actor,
		TriggeringActor: actor,
		JobsURL:         api + "/jobs",
		LogsURL:         api + "/logs",
		CancelURL:       api + "/cancel",
		RerunURL:        api + "/rerun",
		WorkflowURL:     fmt.Sprintf("%s/repos/%s/actions/workflows/%d", s.apiURL(), s.FullName(), r.workflow.ID),
		Repository:      repo,
	}
}

// jobsJSON lays the Server's jobs over the run's lifecycle.
func (s *Server) jobsJSON(r *runState, now time.Time) []jobJSON {
	p := r.phase(now)
	var jobs []jobJSON
	for i, spec := range s.jobs {
		id := r.id*100 + int64(i) + 1
		job := jobJSON{
			ID:           id,
			RunID:        r.id,
			RunURL:       fmt.Sprintf("%s/repos/%s/actions/runs/%d", s.apiURL(), s.FullName(), r.id),
			RunAttempt:   1,
			NodeID:       fmt.Sprintf("CR_kwDO%d", id),
			HeadSHA:      fmt.Sprintf("%040x", r.id),
			HeadBranch:   r.branch,
			URL:          fmt.Sprintf("%s/repos/%s/actions/jobs/%d", s.apiURL(), s.FullName(), id),
			HTMLURL:      fmt.Sprintf("%s/%s/actions/runs/%d/job/%d", s.URL, s.FullName(), r.id, id),
			CreatedAt:    timestamp(r.createdAt),
			StartedAt:    timestamp(r.createdAt),
			Name:         spec.Name,
			Steps:        []stepJSON{},
			Labels:       []string{"ubuntu-latest"},
			WorkflowName: r.workflow.Name,
		}
		switch p.Status {
		case "queued", "waiting":
			job.Status = p.Status
			jobs = append(jobs, job)
			continue
		case "completed":
			job.Status = "completed"
			job.Conclusion = strPtr(p.Conclusion)
			job.CompletedAt = timestampPtr(p.CompletedAt)
		default:
			job.Status = "in_progress"
		}
		job.StartedAt = timestamp(p.InProgressAt)
		job.Steps = stepsJSON(spec.Steps, p, now)
		jobs = append(jobs, job)
	}
	return jobs
}

func stepsJSON(specs []StepSpec, p runPhase, now time.Time) []stepJSON {
	completed := p.Status == "completed"
	start := p.InProgressAt
	open := false // an earlier step lasts until the run completes
	var steps []stepJSON
	for i, spec := range specs {
		step := stepJSON{Name: spec.Name, Number: i + 1}
		end := time.Time{}
		if spec.Duration > 0 && !open {
			end = start.Add(spec.Duration)
		}
		switch {
		case completed && (open || (i > 0 && !start.Before(p.CompletedAt))):
			step.Status, step.Conclusion = "completed", strPtr("skipped")
			step.StartedAt, step.CompletedAt = timestampPtr(p.CompletedAt), timestampPtr(p.CompletedAt)
		case completed && (end.IsZero() || end.After(p.CompletedAt)):
			step.Status, step.Conclusion = "completed", strPtr(p.Conclusion)
			step.StartedAt, step.CompletedAt = timestampPtr(start), timestampPtr(p.CompletedAt)
			open = true // the run ended during this step: later steps never ran
		case open:
			step.Status = "queued"
		case !end.IsZero() && !now.Before(end):
			step.Status, step.Conclusion = "completed", strPtr("success")
			step.StartedAt, step.CompletedAt = timestampPtr(start), timestampPtr(end)
		case now.Before(start):
			step.Status = "queued"
		default:
			step.Status = "in_progress"
			step.StartedAt = timestampPtr(start)
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
