package standin

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Endpoint names a route of the Server. The values are the routes' patterns.
type Endpoint string

// The routes the Server serves.
const (
	EndpointGetRepository      Endpoint = "GET /repos/{owner}/{repo}"
	EndpointGetWorkflow        Endpoint = "GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}"
	EndpointGetRef             Endpoint = "GET /repos/{owner}/{repo}/git/ref/{ref...}"
	EndpointWorkflowDispatch   Endpoint = "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"
	EndpointRepositoryDispatch Endpoint = "POST /repos/{owner}/{repo}/dispatches"
	EndpointListRepositoryRuns Endpoint = "GET /repos/{owner}/{repo}/actions/runs"
	EndpointListWorkflowRuns   Endpoint = "GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs"
	EndpointGetRun             Endpoint = "GET /repos/{owner}/{repo}/actions/runs/{run_id}"
	EndpointGetRunAttempt      Endpoint = "GET /repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}"
	EndpointListJobs           Endpoint = "GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs"
	EndpointListAttemptJobs    Endpoint = "GET /repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs"
	EndpointGetUser            Endpoint = "GET /user"
	EndpointCancelRun          Endpoint = "POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel"
)

// FaultKind is the kind of answer a Fault gives instead of the real one.
type FaultKind int

const (
	// ServerError answers Status (default 502) with a GitHub-like body.
	ServerError FaultKind = iota
	// TooManyRequests answers 429, with Retry-After when RetryAfter is set.
	TooManyRequests
	// SecondaryRateLimit answers 403 "You have exceeded a secondary rate
	// limit", with Retry-After when RetryAfter is set. GitHub does not always
	// send it; X-RateLimit-Reset then still names the primary window's
	// reset, which has nothing to do with the secondary limit.
	SecondaryRateLimit
	// PrimaryRateLimit answers Status (default 403) "API rate limit
	// exceeded" with X-RateLimit-Remaining: 0 and X-RateLimit-Reset.
	PrimaryRateLimit
	// Disconnect closes the connection without an answer.
	Disconnect
	// Status answers Status with Message and Header, for any error GitHub
	// may give ("Resource not accessible by integration", ...).
	Status
)

// Fault replaces the answer of requests to Endpoint.
type Fault struct {
	Endpoint Endpoint
	Kind     FaultKind
	// Skip lets this many matching requests through before the fault
	// starts; Times is how many requests get it, 0 meaning all of them.
	Skip, Times int

	Status  int
	Message string
	Header  http.Header

	// RetryAfter is sent as Retry-After in whole seconds (TooManyRequests,
	// SecondaryRateLimit; Status when set).
	RetryAfter time.Duration
	// AfterHandling lets the request take effect before the fault replaces
	// its answer: a dispatch that started a run but whose answer was lost.
	AfterHandling bool

	// ResetAfter puts X-RateLimit-Reset this long after now (PrimaryRateLimit).
	// The header counts whole seconds, so zero means the current second,
	// which has already begun: the limit is over by the time it is read.
	ResetAfter time.Duration
}

type faultState struct {
	Fault
	seen, fired int
}

// takeFault returns the fault to apply to a request to endpoint, if any, and
// counts the request against it.
func (s *Server) takeFault(endpoint Endpoint) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Endpoint != endpoint {
			continue
		}
		f.seen++
		if f.seen <= f.Skip || (f.Times > 0 && f.fired >= f.Times) {
			continue
		}
		f.fired++
		copied := f.Fault
		return &copied
	}
	return nil
}

// serveFault answers w as f says and returns the status sent (0 when the
// connection was dropped).
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f *Fault) int {
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(wholeSeconds(f.RetryAfter)))
	}
	switch f.Kind {
	case Disconnect:
		hijacker, ok := w.(http.Hijacker)
		if !ok {
			panic("standin: the response writer cannot drop the connection")
		}
		conn, _, err := hijacker.Hijack()
		if err == nil {
			conn.Close()
		}
		return 0
	case TooManyRequests:
		return s.writeError(w, r, http.StatusTooManyRequests, or(f.Message, "Too many requests"), "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api")
	case SecondaryRateLimit:
		return s.writeError(w, r, http.StatusForbidden,
			or(f.Message, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."),
			"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
	case PrimaryRateLimit:
		reset := s.now().Add(f.ResetAfter).Unix()
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Used", "5000")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
		w.Header().Set("X-RateLimit-Resource", "core")
		return s.writeError(w, r, orInt(f.Status, http.StatusForbidden),
			or(f.Message, "API rate limit exceeded for installation ID 1."),
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits")
	case Status:
		return s.writeError(w, r, orInt(f.Status, http.StatusInternalServerError), f.Message, "https://docs.github.com/rest")
	default:
		status := orInt(f.Status, http.StatusBadGateway)
		return s.writeError(w, r, status, or(f.Message, fmt.Sprintf("Server Error (%d)", status)), "")
	}
}

func wholeSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func orInt(n, fallback int) int {
	if n == 0 {
		return fallback
	}
	return n
}
