package targets

import (
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/load"
)

// Mix is what the requests are built from.
type Mix struct {
	Specs   []Spec
	Headers []Header // sent with every target, before its own
	Auth    []Auth   // applied in order to every request
	// Users is how many simulated users {{user}} and per-user tokens
	// spread requests over.
	Users int
}

// Targets turns the mix into the load's targets. A target without
// placeholders or auth is built once; the others are built per request,
// right before it is sent.
func (m *Mix) Targets() []load.Target {
	seq := &counter{}
	targets := make([]load.Target, len(m.Specs))
	for i := range m.Specs {
		spec := &m.Specs[i]
		sample := spec.URL.Render(&Vars{Now: time.Now()})
		t := load.Target{Name: spec.Name, Method: spec.Method, URL: sample, Weight: spec.Weight, Timeout: spec.Timeout}
		if m.static(spec) {
			t.Header = m.header(spec, &Vars{})
			if spec.Body != nil {
				t.Body = []byte(spec.Body.Render(&Vars{}))
			}
		} else {
			t.Render = m.renderer(spec, seq)
		}
		targets[i] = t
	}
	return targets
}

func (m *Mix) static(spec *Spec) bool {
	if len(m.Auth) > 0 || !spec.URL.Static() || (spec.Body != nil && !spec.Body.Static()) {
		return false
	}
	for _, h := range append(m.Headers[:len(m.Headers):len(m.Headers)], spec.Header...) {
		if !h.Value.Static() {
			return false
		}
	}
	return true
}

// header builds the headers, keeping their case as written (as vegeta does:
// some servers care).
func (m *Mix) header(spec *Spec, v *Vars) http.Header {
	h := make(http.Header, len(m.Headers)+len(spec.Header)+2)
	for _, list := range [][]Header{m.Headers, spec.Header} {
		for _, x := range list {
			h[x.Name] = append(h[x.Name], x.Value.Render(v))
		}
	}
	return h
}

func (m *Mix) renderer(spec *Spec, seq *counter) func(*vegeta.Target) error {
	users := uint64(max(1, m.Users))
	return func(t *vegeta.Target) error {
		n := seq.next()
		v := Vars{Seq: n, User: int(n % users), Now: time.Now()}
		t.Method = spec.Method
		t.URL = spec.URL.Render(&v)
		t.Header = m.header(spec, &v)
		t.Body = nil
		if spec.Body != nil {
			t.Body = []byte(spec.Body.Render(&v))
		}
		for _, a := range m.Auth {
			if err := a.apply(t, &v); err != nil {
				return err
			}
		}
		return nil
	}
}

// Decorate returns what adds the mix's headers and auth to a request built
// elsewhere, such as a replayed one: each of Headers replaces the
// request's header of the same name, then each Auth applies in order. It
// returns nil when the mix has neither. The func is safe for concurrent
// use.
func (m *Mix) Decorate() func(t *vegeta.Target) error {
	if len(m.Headers) == 0 && len(m.Auth) == 0 {
		return nil
	}
	seq := &counter{}
	users := uint64(max(1, m.Users))
	return func(t *vegeta.Target) error {
		n := seq.next()
		v := Vars{Seq: n, User: int(n % users), Now: time.Now()}
		if t.Header == nil {
			t.Header = make(http.Header, len(m.Headers)+2)
		}
		for _, h := range m.Headers {
			t.Header.Del(h.Name)
			delete(t.Header, h.Name)
		}
		for _, h := range m.Headers {
			t.Header[h.Name] = append(t.Header[h.Name], h.Value.Render(&v))
		}
		for _, a := range m.Auth {
			if err := a.apply(t, &v); err != nil {
				return err
			}
		}
		return nil
	}
}
