package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-github/v66/github"
)

// search is a look for the run a dispatch started, when GitHub did not say
// which it was.
type search struct {
	d *dispatch
	// before holds the runs listed just before the dispatch.
	before map[int64]bool
	// sentAt is when the dispatch was sent by GitHub's clock; zero when no
	// answer has told that clock yet.
	sentAt time.Time
	// answeredAt is when the dispatch was answered, by ours.
	answeredAt time.Time
}

// discover waits up to timeout (and at least the grace period) for the run
// s.d started to be listed, and takes it only when it can tell it apart.
func (c *Client) discover(ctx context.Context, s *search, timeout time.Duration) (Run, error) {
	d := s.d
	graceEnd := s.answeredAt.Add(c.discoveryGrace)
	deadline := s.answeredAt.Add(max(timeout, c.discoveryGrace))
	actor := c.tokenLogin(ctx)
	waiting := false
	for {
		// A run listed in an answer to a request sent after the grace
		// period would have shown up in it; an answer that arrives after it
		// but was asked for before proves nothing.
		listedAt := c.now()
		listed, err := c.listRuns(ctx, d)
		if err != nil {
			return Run{}, err
		}
		candidates, ours := s.sift(listed, actor)
		switch {
		case len(ours) == 1:
			ours[0].Identified = ByCorrelation
			return c.found(d, ours[0])
		case len(ours) > 1:
			return Run{}, s.ambiguous(ours, true)
		case d.correlationID == "" && len(candidates) > 1:
			return Run{}, s.ambiguous(candidates, false)
		case d.correlationID == "" && len(candidates) == 1 && !listedAt.Before(graceEnd):
			run := candidates[0]
			run.Identified = ByElimination
			c.logf("warning: took run %s as the one dispatched by elimination: it is the only new run of %s since the dispatch and stayed alone for %s; a correlation ID would make this certain",
				run.HTMLURL, d.subject(), c.discoveryGrace)
			return c.found(d, run)
		}
		// The last listing is one asked for at the deadline, which lies
		// past the grace period.
		if !listedAt.Before(deadline) {
			if len(candidates) > 0 {
				return Run{}, s.ambiguous(candidates, d.correlationID != "")
			}
			return Run{}, fmt.Errorf("no new run of %s in %q showed up within %s of the dispatch; check that the workflow is triggered by %s on that ref and that the Actions tab shows it: %w",
				d.subject(), d.req.repository(), max(timeout, c.discoveryGrace), d.event(), ErrNoRun)
		}
		if !waiting {
			waiting = true
			c.logf("waiting up to %s for the run of %s to show up", max(timeout, c.discoveryGrace), d.subject())
		}
		wait := min(jitter(c.discoveryInterval), max(deadline.Sub(c.now()), 0))
		if err := c.sleep(ctx, wait); err != nil {
			return Run{}, fmt.Errorf("looking for the run of %s: %w", d.subject(), err)
		}
	}
}

// sift splits the listed runs that may be the one dispatched: ours carry
// the correlation ID; candidates are the others that nothing rules out.
// A run is ruled out when it existed before the dispatch, was created
// before it by GitHub's clock, or was started by someone other than the
// token's user (when known).
func (s *search) sift(listed []Run, actor string) (candidates, ours []Run) {
	d := s.d
	for _, r := range listed {
		switch {
		case s.before[r.ID]:
		case r.Event != d.event():
		case d.branch != "" && r.HeadBranch != d.branch:
		case d.workflowID != 0 && r.WorkflowID != d.workflowID:
		case !s.sentAt.IsZero() && r.CreatedAt.Before(s.sentAt.Add(-createdSlack)):
		case actor != "" && r.Actor != "" && !strings.EqualFold(r.Actor, actor):
		case d.carriesCorrelation(r):
			ours = append(ours, r)
		default:
			candidates = append(candidates, r)
		}
	}
	return candidates, ours
}

func (s *search) ambiguous(runs []Run, correlated bool) error {
	return &AmbiguousRunError{
		Repository:    s.d.req.repository(),
		Workflow:      s.d.req.Workflow,
		Candidates:    runs,
		Correlated:    correlated,
		CorrelationID: s.d.correlationID,
	}
}

// carriesCorrelation reports whether the run's name shows our ID, which the
// workflow puts there through its run-name, as a whole: ID "123-1" is not
// carried by a run named for "123-12".
func (d *dispatch) carriesCorrelation(r Run) bool {
	return d.correlationID != "" &&
		(containsID(r.DisplayTitle, d.correlationID) || containsID(r.Name, d.correlationID))
}

// containsID reports whether s holds id with no character that could
// continue an ID (a letter, a digit, '-' or '_') right before or after it.
func containsID(s, id string) bool {
	for from := 0; from < len(s); {
		i := strings.Index(s[from:], id)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(id)
		before, _ := utf8.DecodeLastRuneInString(s[:start])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if !continuesID(before) && !continuesID(after) {
			return true
		}
		from = start + 1
	}
	return false
}

func continuesID(r rune) bool {
	return r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func (c *Client) found(d *dispatch, r Run) (Run, error) {
	c.logf("found run #%d %q of %s (%s): %s", r.RunNumber, r.DisplayTitle, d.subject(), r.Identified, r.HTMLURL)
	return r, nil
}

// tokenLogin is the login of the token's user, which runs it dispatches
// carry as their actor, or "" when the token has no user (GITHUB_TOKEN and
// other GitHub App installation tokens answer 403) or GitHub did not say.
// It is asked once per Client.
func (c *Client) tokenLogin(ctx context.Context) string {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	if c.loginKnown {
		return c.login
	}
	var user *github.User
	_, err := c.call(ctx, "read the token's user", idempotent, func(ctx context.Context) (resp *github.Response, err error) {
		user, resp, err = c.gh.Users.Get(ctx, "")
		return resp, err
	})
	switch {
	case err == nil:
		c.login, c.loginKnown = user.GetLogin(), true
	case hasStatus(err, http.StatusForbidden) || hasStatus(err, http.StatusUnauthorized) || hasStatus(err, http.StatusNotFound):
		c.loginKnown = true // an installation token: no user to narrow by
	}
	return c.login
}

// FindRun looks for the run that another shard of the same check
// dispatched: the run of req's workflow, event and branch, created since
// since, whose name carries req.CorrelationID as a whole (the workflow
// repeats its CorrelationInput in its run-name). It lists the runs every
// discovery interval until one shows up, and fails rather than guess when
// several carry the ID. When ctx ends first, or a wait GitHub asks for
// would outlast ctx's deadline, the error wraps ErrNoRun and the reason
// (ctx.Err() or ErrDeadline).
func (c *Client) FindRun(ctx context.Context, req Request, since time.Time) (Run, error) {
	if req.CorrelationID == "" || req.CorrelationInput == "" {
		return Run{}, configError(CorrelationInput, nil, "a shard that does not dispatch finds the run by its correlation ID, and none was given; name the workflow input the ID is sent in")
	}
	d, err := c.prepare(ctx, req)
	if err != nil {
		return Run{}, err
	}
	notFound := func(why error) error {
		return fmt.Errorf("no run of %s carrying %q showed up (%w); check that the shard that dispatches ran, and that the workflow repeats input %q in its run-name: %w",
			d.subject(), d.correlationID, why, req.CorrelationInput, ErrNoRun)
	}
	announced := false
	for {
		listed, err := c.listRunsSince(ctx, d, since.Add(-ClockSkew))
		switch {
		case ctx.Err() != nil:
			return Run{}, notFound(ctx.Err())
		case errors.Is(err, ErrDeadline):
			return Run{}, notFound(err)
		case err != nil:
			return Run{}, err
		}
		var ours []Run
		for _, r := range listed {
			if d.carriesCorrelation(r) && r.Event == d.event() {
				ours = append(ours, r)
			}
		}
		switch len(ours) {
		case 1:
			ours[0].Identified = ByCorrelation
			return c.found(d, ours[0])
		case 0:
		default:
			return Run{}, (&search{d: d}).ambiguous(ours, true)
		}
		if !announced {
			announced = true
			c.logf("waiting for the run of %s that carries %q, dispatched by another shard", d.subject(), d.correlationID)
		}
		if err := c.sleep(ctx, jitter(c.discoveryInterval)); err != nil {
			return Run{}, notFound(err)
		}
	}
}
