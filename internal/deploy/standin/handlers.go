package standin

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const docsBase = "https://docs.github.com/rest"

// statusRecorder notes the status a handler sends in the call log before
// the answer leaves, so a client never sees an answer its call lacks.
type statusRecorder struct {
	http.ResponseWriter
	note   func(status int, answer []byte)
	status int
	body   []byte
}

func (w *statusRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
		w.note(status, nil)
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write notes the body before it leaves; handlers write it in one piece.
func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.body = append(w.body, b...)
	w.note(w.status, w.body)
	return w.ResponseWriter.Write(b)
}

// Hijack lets a Disconnect fault drop the connection through the recorder.
func (w *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hijacker, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("standin: the response writer cannot be hijacked")
	}
	return hijacker.Hijack()
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	routes := map[Endpoint]http.HandlerFunc{
		EndpointGetRepository:      s.getRepository,
		EndpointGetWorkflow:        s.getWorkflow,
		EndpointGetRef:             s.getRef,
		EndpointWorkflowDispatch:   s.workflowDispatch,
		EndpointRepositoryDispatch: s.repositoryDispatch,
		EndpointListRepositoryRuns: s.listRuns,
		EndpointListWorkflowRuns:   s.listRuns,
		EndpointGetRun:             s.getRun,
		EndpointGetRunAttempt:      s.getRunAttempt,
		EndpointListJobs:           s.listJobs,
		EndpointListAttemptJobs:    s.listAttemptJobs,
		EndpointCancelRun:          s.cancelRun,
		EndpointGetUser:            s.getUser,
	}
	for endpoint, h := range routes {
		mux.Handle(string(endpoint), s.route(endpoint, h))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// GitHub Enterprise Server serves the API under /api/v3; so does this
		// Server, and at the root like api.github.com.
		if rest, ok := strings.CutPrefix(r.URL.Path, "/api/v3"); ok && (rest == "" || rest[0] == '/') {
			r2 := r.Clone(r.Context())
			r2.URL.Path = or(rest, "/")
			r2.URL.RawPath = ""
			r = r2
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		_, pattern := mux.Handler(r)
		s.mu.Lock()
		index := len(s.calls)
		s.calls = append(s.calls, Call{
			Endpoint: Endpoint(pattern),
			Method:   r.Method,
			Path:     r.URL.Path,
			Query:    r.URL.RawQuery,
			Body:     body,
		})
		s.mu.Unlock()
		rec := &statusRecorder{ResponseWriter: w, note: func(status int, answer []byte) {
			s.mu.Lock()
			s.calls[index].Status = status
			s.calls[index].Answer = bytes.Clone(answer)
			s.mu.Unlock()
		}}
		// GitHub's clock, which clients read to compare created_at with.
		rec.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
		if pattern == "" {
			s.writeError(rec, r, http.StatusNotFound, "Not Found", docsBase)
			return
		}
		mux.ServeHTTP(rec, r)
	})
}

// route wraps a handler with what every endpoint shares: the token check,
// the repository check and injected faults.
func (s *Server) route(endpoint Endpoint, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.token != "" {
			auth := r.Header.Get("Authorization")
			if auth != "Bearer "+s.token && auth != "token "+s.token {
				s.writeError(w, r, http.StatusUnauthorized, "Bad credentials", docsBase)
				return
			}
		}
		// Owner and repository names are not case sensitive on GitHub.
		if strings.Contains(string(endpoint), "{owner}") &&
			(!strings.EqualFold(r.PathValue("owner"), s.owner) || !strings.EqualFold(r.PathValue("repo"), s.repo)) {
			s.writeError(w, r, http.StatusNotFound, "Not Found", docsBase)
			return
		}
		if f := s.takeFault(endpoint); f != nil {
			if f.AfterHandling {
				h(httptest.NewRecorder(), r)
			}
			s.serveFault(w, r, f)
			return
		}
		h(w, r)
	})
}

// rateHeaders sets the primary rate limit headers GitHub sends with every
// answer. A 304 does not count against the quota.
func (s *Server) rateHeaders(w http.ResponseWriter, counts bool) {
	s.mu.Lock()
	if counts {
		s.quotaUsed++
	}
	used, reset := s.quotaUsed, s.quotaReset
	s.mu.Unlock()
	h := w.Header()
	if h.Get("X-RateLimit-Remaining") != "" {
		return // a PrimaryRateLimit fault set its own
	}
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(5000-used, 1)))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// writeJSON answers v as JSON. A 200 to a GET carries an ETag, and a
// request whose If-None-Match holds it gets 304 Not Modified, which does
// not count against the rate limit, like on GitHub.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) int {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("standin: encoding an answer: %v", err))
	}
	if r.Method == http.MethodGet && status == http.StatusOK {
		sum := sha256.Sum256(body)
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "private, max-age=60, s-maxage=60")
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
			s.rateHeaders(w, false)
			w.WriteHeader(http.StatusNotModified)
			return http.StatusNotModified
		}
	}
	s.rateHeaders(w, true)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
	return status
}

func (s *Server) writeNoContent(w http.ResponseWriter) {
	s.rateHeaders(w, true)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, status int, message, docs string) int {
	body := map[string]string{"message": message, "status": strconv.Itoa(status)}
	if docs != "" {
		body["documentation_url"] = docs
	}
	return s.writeJSON(w, r, status, body)
}

func (s *Server) getRepository(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, s.fullRepoJSON())
}

// getUser answers GET /user: the user a personal access token belongs to
// (WithUserToken), or 403 for an installation token, which has none.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	if !s.userToken {
		s.writeError(w, r, http.StatusForbidden, "Resource not accessible by integration", docsBase+"/users/users#get-the-authenticated-user")
		return
	}
	user := s.actorJSON(Actor)
	for k, v := range map[string]any{
		"name": nil, "company": nil, "blog": "", "location": nil, "email": nil, "hireable": nil, "bio": nil,
		"public_repos": 2, "public_gists": 0, "followers": 0, "following": 0,
		"created_at": "2024-01-02T03:04:05Z", "updated_at": "2024-01-02T03:04:05Z",
	} {
		user[k] = v
	}
	s.writeJSON(w, r, http.StatusOK, user)
}

// getRef answers GET /repos/{owner}/{repo}/git/ref/heads/NAME and
// .../tags/NAME for the default branch and the refs given WithRefs.
func (s *Server) getRef(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	kind, name, ok := strings.Cut(ref, "/")
	if _, known := s.hasRef(name); !ok || (kind != "heads" && kind != "tags") || !known {
		s.writeError(w, r, http.StatusNotFound, "Not Found", docsBase+"/git/refs#get-a-reference")
		return
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{
		"ref":     "refs/" + ref,
		"node_id": "REF_kwDOAJy2KbFyZWZzL2hlYWRzL21haW4",
		"url":     fmt.Sprintf("%s/repos/%s/git/refs/%s", s.apiURL(), s.FullName(), ref),
		"object": map[string]any{
			"type": "commit",
			"sha":  "6dcb09b5b57875f334f61aebed695e2e4193db5e",
			"url":  fmt.Sprintf("%s/repos/%s/git/commits/6dcb09b5b57875f334f61aebed695e2e4193db5e", s.apiURL(), s.FullName()),
		},
	})
}

func (s *Server) workflowJSON(wf *Workflow) map[string]any {
	return map[string]any{
		"id":         wf.ID,
		"node_id":    fmt.Sprintf("W_kwDO%d", wf.ID),
		"name":       wf.Name,
		"path":       wf.Path,
		"state":      wf.state(),
		"created_at": "2024-01-02T03:04:05Z",
		"updated_at": "2024-01-02T03:04:05Z",
		"url":        fmt.Sprintf("%s/repos/%s/actions/workflows/%d", s.apiURL(), s.FullName(), wf.ID),
		"html_url":   fmt.Sprintf("%s/%s/blob/%s/%s", s.URL, s.FullName(), s.defaultBranch, wf.Path),
		"badge_url":  fmt.Sprintf("%s/%s/workflows/%s/badge.svg", s.URL, s.FullName(), url.PathEscape(wf.Name)),
	}
}

func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request) {
	wf := s.workflowByKey(r.PathValue("workflow_id"))
	if wf == nil {
		s.writeError(w, r, http.StatusNotFound, "Not Found", docsBase+"/actions/workflows#get-a-workflow")
		return
	}
	s.writeJSON(w, r, http.StatusOK, s.workflowJSON(wf))
}

const dispatchDocs = docsBase + "/actions/workflows#create-a-workflow-dispatch-event"

func (s *Server) workflowDispatch(w http.ResponseWriter, r *http.Request) {
	wf := s.workflowByKey(r.PathValue("workflow_id"))
	if wf == nil {
		s.writeError(w, r, http.StatusNotFound, "Not Found", dispatchDocs)
		return
	}
	var fields map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&fields); err != nil {
		s.writeError(w, r, http.StatusBadRequest, "Problems parsing JSON", dispatchDocs)
		return
	}
	permitted := []string{"ref", "inputs"}
	if s.answer == AnswerRunDetails || s.answer == AnswerNoContent {
		permitted = append(permitted, "return_run_details")
	}
	for _, key := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(permitted, key) {
			status := http.StatusUnprocessableEntity
			if s.answer == AnswerRejectRunDetailsBadRequest {
				status = http.StatusBadRequest
			}
			s.writeError(w, r, status, fmt.Sprintf("Invalid request.\n\n%q is not a permitted key.", key), dispatchDocs)
			return
		}
	}
	var body struct {
		Ref              *string        `json:"ref"`
		Inputs           map[string]any `json:"inputs"`
		ReturnRunDetails bool           `json:"return_run_details"`
	}
	raw, _ := json.Marshal(fields)
	if err := json.Unmarshal(raw, &body); err != nil {
		s.writeError(w, r, http.StatusUnprocessableEntity, "Invalid request.\n\n"+err.Error(), dispatchDocs)
		return
	}
	if body.Ref == nil {
		s.writeError(w, r, http.StatusUnprocessableEntity, "Invalid request.\n\n\"ref\" wasn't supplied.", dispatchDocs)
		return
	}
	branch, ok := s.hasRef(*body.Ref)
	if !ok {
		s.writeError(w, r, http.StatusUnprocessableEntity, "No ref found for: "+*body.Ref, dispatchDocs)
		return
	}
	if wf.state() != "active" {
		s.writeError(w, r, http.StatusUnprocessableEntity, "Cannot trigger a 'workflow_dispatch' on a disabled workflow", dispatchDocs)
		return
	}
	if !wf.WorkflowDispatch {
		s.writeError(w, r, http.StatusUnprocessableEntity, "Workflow does not have 'workflow_dispatch' trigger", dispatchDocs)
		return
	}
	inputs, problem := checkInputs(wf.Inputs, body.Inputs)
	if problem != "" {
		s.writeError(w, r, http.StatusUnprocessableEntity, problem, dispatchDocs)
		return
	}

	s.mu.Lock()
	now := s.now()
	ours := s.newRun(*wf, "workflow_dispatch", branch, Actor, inputs, nil, now, s.lifecycle)
	created := []*runState{ours}
	if s.rival != nil {
		rivalInputs, _ := checkInputs(wf.Inputs, nil)
		created = append(created, s.newRival(*wf, "workflow_dispatch", branch, rivalInputs, nil, now))
	}
	runs := make([]Run, len(created))
	for i, c := range created {
		runs[i] = s.snapshot(c)
	}
	s.mu.Unlock()
	s.dispatched(runs)

	if body.ReturnRunDetails && s.answer == AnswerRunDetails {
		s.writeJSON(w, r, http.StatusOK, map[string]any{
			"workflow_run_id": ours.id,
			"run_url":         fmt.Sprintf("%s/repos/%s/actions/runs/%d", s.apiURL(), s.FullName(), ours.id),
			"html_url":        runs[0].HTMLURL,
		})
		return
	}
	s.writeNoContent(w)
}

func (wf *Workflow) state() string { return or(wf.State, "active") }

// checkInputs validates dispatch inputs against the declared ones, as GitHub
// does, and fills in defaults.
func checkInputs(declared []Input, given map[string]any) (map[string]string, string) {
	var unexpected []string
	for name := range given {
		if !slices.ContainsFunc(declared, func(in Input) bool { return in.Name == name }) {
			unexpected = append(unexpected, name)
		}
	}
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		list, _ := json.Marshal(unexpected)
		return nil, "Unexpected inputs provided: " + strings.ReplaceAll(string(list), `","`, `", "`)
	}
	inputs := map[string]string{}
	for _, in := range declared {
		v, ok := given[in.Name]
		switch {
		case ok:
			if s, isString := v.(string); isString {
				inputs[in.Name] = s
			} else {
				inputs[in.Name] = fmt.Sprint(v)
			}
		case in.Required && in.Default == "":
			return nil, fmt.Sprintf("Required input '%s' not provided", in.Name)
		default:
			inputs[in.Name] = in.Default
		}
	}
	return inputs, ""
}

func (s *Server) dispatched(runs []Run) {
	for _, run := range runs {
		for _, hook := range s.onDispatch {
			hook(s, run)
		}
	}
}

func (s *Server) repositoryDispatch(w http.ResponseWriter, r *http.Request) {
	const docs = docsBase + "/repos/repos#create-a-repository-dispatch-event"
	var body struct {
		EventType     *string         `json:"event_type"`
		ClientPayload json.RawMessage `json:"client_payload"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.writeError(w, r, http.StatusBadRequest, "Problems parsing JSON", docs)
		return
	}
	if body.EventType == nil || *body.EventType == "" {
		s.writeError(w, r, http.StatusUnprocessableEntity, "Invalid request.\n\n\"event_type\" wasn't supplied.", docs)
		return
	}
	var payload map[string]any
	if len(body.ClientPayload) > 0 && string(body.ClientPayload) != "null" {
		if err := json.Unmarshal(body.ClientPayload, &payload); err != nil {
			s.writeError(w, r, http.StatusUnprocessableEntity, "Invalid request.\n\nFor 'properties/client_payload', "+string(body.ClientPayload)+" is not an object.", docs)
			return
		}
		if len(payload) > 10 {
			s.writeError(w, r, http.StatusUnprocessableEntity, fmt.Sprintf("Invalid request.\n\nNo more than 10 properties are allowed; %d were supplied.", len(payload)), docs)
			return
		}
	}

	s.mu.Lock()
	now := s.now()
	var runs []Run
	for _, wf := range s.workflows {
		if !wf.RepositoryDispatch || wf.state() != "active" || (len(wf.EventTypes) > 0 && !slices.Contains(wf.EventTypes, *body.EventType)) {
			continue
		}
		runs = append(runs, s.snapshot(s.newRun(wf, "repository_dispatch", s.defaultBranch, Actor, nil, payload, now, s.lifecycle)))
		if s.rival != nil {
			runs = append(runs, s.snapshot(s.newRival(wf, "repository_dispatch", s.defaultBranch, nil, map[string]any{}, now)))
		}
	}
	s.mu.Unlock()
	s.dispatched(runs)
	s.writeNoContent(w)
}

// listRuns serves both run listings with GitHub's filters and paging,
// newest first.
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	var wf *Workflow
	if key := r.PathValue("workflow_id"); key != "" {
		if wf = s.workflowByKey(key); wf == nil {
			s.writeError(w, r, http.StatusNotFound, "Not Found", docsBase+"/actions/workflow-runs#list-workflow-runs-for-a-workflow")
			return
		}
	}
	q := r.URL.Query()
	created, err := parseCreated(q.Get("created"))
	if err != nil {
		s.writeError(w, r, http.StatusUnprocessableEntity, "Invalid request.\n\n"+err.Error(), docsBase)
		return
	}
	page, perPage, ok := paging(q)
	if !ok {
		s.writeError(w, r, http.StatusUnprocessableEntity, "Invalid request.\n\npage and per_page must be positive integers.", docsBase)
		return
	}

	s.mu.Lock()
	now := s.now()
	var matched []*runState
	for _, run := range s.runs {
		p := run.current().phase(now)
		switch {
		case run.deleted, now.Before(run.visibleAt):
		case wf != nil && run.workflow.ID != wf.ID:
		case q.Get("event") != "" && run.event != q.Get("event"):
		case q.Get("branch") != "" && run.branch != q.Get("branch"):
		case q.Get("actor") != "" && run.actor != q.Get("actor"):
		case q.Get("status") != "" && p.Status != q.Get("status") && p.Conclusion != q.Get("status"):
		case !created(run.createdAt.Truncate(time.Second)):
		default:
			matched = append(matched, run)
		}
	}
	slices.SortStableFunc(matched, func(a, b *runState) int {
		if c := b.createdAt.Compare(a.createdAt); c != 0 {
			return c
		}
		return int(b.id - a.id)
	})
	from, to := pageBounds(len(matched), page, perPage)
	list := make([]map[string]any, 0, to-from)
	for _, run := range matched[from:to] {
		list = append(list, s.runJSON(run, 0, now))
	}
	s.mu.Unlock()

	setLink(w, r, page, perPage, len(matched))
	s.writeJSON(w, r, http.StatusOK, map[string]any{
		"total_count":   len(matched),
		"workflow_runs": list,
	})
}

func paging(q url.Values) (page, perPage int, ok bool) {
	page, perPage = 1, 30
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, false
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, false
		}
		perPage = min(n, 100)
	}
	return page, perPage, true
}

func pageBounds(total, page, perPage int) (from, to int) {
	from = min((page-1)*perPage, total)
	return from, min(from+perPage, total)
}

// setLink writes the Link header GitHub sends on paged listings.
func setLink(w http.ResponseWriter, r *http.Request, page, perPage, total int) {
	last := max((total+perPage-1)/perPage, 1)
	link := func(p int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(min(page-1, last), "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
}

// parseCreated understands the date filters of GitHub's search syntax:
// ">=T", ">T", "<=T", "<T", "T1..T2" and a bare date or time.
func parseCreated(filter string) (func(time.Time) bool, error) {
	if filter == "" {
		return func(time.Time) bool { return true }, nil
	}
	parse := func(v string) (time.Time, error) {
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not a date", v)
	}
	for _, op := range []string{">=", "<=", ">", "<"} {
		if v, ok := strings.CutPrefix(filter, op); ok {
			t, err := parse(v)
			if err != nil {
				return nil, err
			}
			switch op {
			case ">=":
				return func(c time.Time) bool { return !c.Before(t) }, nil
			case "<=":
				return func(c time.Time) bool { return !c.After(t) }, nil
			case ">":
				return func(c time.Time) bool { return c.After(t) }, nil
			default:
				return func(c time.Time) bool { return c.Before(t) }, nil
			}
		}
	}
	if a, b, ok := strings.Cut(filter, ".."); ok {
		from, err := parse(a)
		if err != nil {
			return nil, err
		}
		to, err := parse(b)
		if err != nil {
			return nil, err
		}
		return func(c time.Time) bool { return !c.Before(from) && !c.After(to) }, nil
	}
	t, err := parse(filter)
	if err != nil {
		return nil, err
	}
	if len(filter) == len("2006-01-02") {
		return func(c time.Time) bool { return !c.Before(t) && c.Before(t.AddDate(0, 0, 1)) }, nil
	}
	return func(c time.Time) bool { return c.Equal(t) }, nil
}

func (s *Server) runFromPath(w http.ResponseWriter, r *http.Request) (*runState, bool) {
	id, err := strconv.ParseInt(r.PathValue("run_id"), 10, 64)
	if err == nil {
		s.mu.Lock()
		run := s.findRun(id)
		s.mu.Unlock()
		if run != nil {
			return run, true
		}
	}
	s.writeError(w, r, http.StatusNotFound, "Not Found", docsBase+"/actions/workflow-runs#get-a-workflow-run")
	return nil, false
}

// attemptFromPath reads {attempt_number}, answering 404 for an attempt the
// run has not had.
func (s *Server) attemptFromPath(w http.ResponseWriter, r *http.Request, run *runState) (*attemptState, bool) {
	n, err := strconv.Atoi(r.PathValue("attempt_number"))
	s.mu.Lock()
	a := run.attempt(n)
	s.mu.Unlock()
	if err != nil || a == nil {
		s.writeError(w, r, http.StatusNotFound, "Not Found", docsBase+"/actions/workflow-runs#get-a-workflow-run-attempt")
		return nil, false
	}
	return a, true
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runFromPath(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	body := s.runJSON(run, 0, s.now())
	s.mu.Unlock()
	s.writeJSON(w, r, http.StatusOK, body)
}

func (s *Server) getRunAttempt(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runFromPath(w, r)
	if !ok {
		return
	}
	a, ok := s.attemptFromPath(w, r, run)
	if !ok {
		return
	}
	s.mu.Lock()
	body := s.runJSON(run, a.number, s.now())
	s.mu.Unlock()
	s.writeJSON(w, r, http.StatusOK, body)
}

// listJobs serves the jobs of a run: of its latest attempt, or with
// filter=all of every attempt, like GitHub.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runFromPath(w, r)
	if !ok {
		return
	}
	filter := or(r.URL.Query().Get("filter"), "latest")
	if filter != "latest" && filter != "all" {
		s.writeError(w, r, http.StatusUnprocessableEntity, fmt.Sprintf("Invalid request.\n\n%q is not a member of enum: latest, all.", filter), docsBase)
		return
	}
	s.mu.Lock()
	attempts := []*attemptState{run.current()}
	if filter == "all" {
		attempts = run.attempts
	}
	var jobs []map[string]any
	for _, a := range attempts {
		jobs = append(jobs, s.jobsJSON(run, a, s.now())...)
	}
	s.mu.Unlock()
	s.writeJobs(w, r, jobs)
}

func (s *Server) listAttemptJobs(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runFromPath(w, r)
	if !ok {
		return
	}
	a, ok := s.attemptFromPath(w, r, run)
	if !ok {
		return
	}
	s.mu.Lock()
	jobs := s.jobsJSON(run, a, s.now())
	s.mu.Unlock()
	s.writeJobs(w, r, jobs)
}

func (s *Server) writeJobs(w http.ResponseWriter, r *http.Request, jobs []map[string]any) {
	page, perPage, ok := paging(r.URL.Query())
	if !ok {
		s.writeError(w, r, http.StatusUnprocessableEntity, "Invalid request.\n\npage and per_page must be positive integers.", docsBase)
		return
	}
	from, to := pageBounds(len(jobs), page, perPage)
	setLink(w, r, page, perPage, len(jobs))
	s.writeJSON(w, r, http.StatusOK, map[string]any{
		"total_count": len(jobs),
		"jobs":        append([]map[string]any{}, jobs[from:to]...),
	})
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	run, ok := s.runFromPath(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	now := s.now()
	a := run.current()
	completed := a.phase(now).Status == "completed"
	if !completed {
		a.forcedEnd, a.forcedConc = now, "cancelled"
	}
	s.mu.Unlock()
	if completed {
		s.writeError(w, r, http.StatusConflict, "Cannot cancel a workflow run that is completed.", docsBase+"/actions/workflow-runs#cancel-a-workflow-run")
		return
	}
	s.writeJSON(w, r, http.StatusAccepted, map[string]any{})
}
