package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/net/http/httpguts"
)

// PreflightInterval is how often Preflight tries a target that has not
// answered yet.
const PreflightInterval = time.Second

// Preflight sends each target one request, built as the load builds it,
// and returns an error naming the first target that did not succeed within
// wait: a 2xx or 3xx answer. A request that cannot be built fails it at
// once, as trying again builds the same request. Trying again for a while lets a service
// container finish starting; failing here stops a run against a dead or
// misaddressed API before any load or deploy.
func Preflight(ctx context.Context, targets []Target, timeout, wait time.Duration) error {
	return preflight(ctx, targets, timeout, wait, false)
}

// Reach is Preflight for requests whose answers are not known in advance,
// such as recorded ones, which may have been a 404 when they were
// recorded: any answer under 500 shows the API is there, except 401 and
// 403, which say the auth inputs are wrong.
func Reach(ctx context.Context, targets []Target, timeout, wait time.Duration) error {
	return preflight(ctx, targets, timeout, wait, true)
}

func preflight(ctx context.Context, targets []Target, timeout, wait time.Duration, anyAnswer bool) error {
	client := &http.Client{Timeout: timeout}
	deadline := time.Now().Add(wait)
	for _, t := range targets {
		var tries tries
		for {
			err := preflightOnce(ctx, client, t, anyAnswer)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var refused *refusal
			var unbuilt *UnbuiltError
			if errors.As(err, &refused) || errors.As(err, &unbuilt) {
				return fmt.Errorf("target %q: %w", t.Name, err)
			}
			tries.add(err)
			if time.Now().Add(PreflightInterval).After(deadline) {
				return tries.failure(t.Name, wait)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(PreflightInterval):
			}
		}
	}
	return nil
}

// tries sums up the failed tries of one target.
type tries struct {
	n, answered int
	last        error
	status      string // the status every answered try got; "" when they differed
}

func (t *tries) add(err error) {
	t.n++
	t.last = err
	var a *answer
	if !errors.As(err, &a) {
		return
	}
	t.answered++
	if t.answered == 1 {
		t.status = a.status
	} else if t.status != a.status {
		t.status = ""
	}
}

// failure says how the target failed the pre-flight: what it answered
// when it answered every try the same, else that it did not answer or did
// not succeed, and the last try's error.
func (t *tries) failure(name string, wait time.Duration) error {
	var a *answer
	switch {
	case t.answered == t.n && t.status != "" && errors.As(t.last, &a):
		every := "every try"
		if t.n > 1 {
			every = fmt.Sprintf("all %d tries", t.n)
		}
		return fmt.Errorf("target %q: %s %s answered %s to %s in %s", name, a.method, a.url, a.status, every, wait)
	case t.answered == 0:
		return fmt.Errorf("target %q did not answer within %s: %w", name, wait, t.last)
	}
	return fmt.Errorf("target %q did not succeed within %s (%d of %d tries answered); the last: %w", name, wait, t.answered, t.n, t.last)
}

// answer is an answer that was not a success, which trying again may
// change.
type answer struct{ method, url, status string }

func (a *answer) Error() string { return fmt.Sprintf("%s %s answered %s", a.method, a.url, a.status) }

// UnbuiltError is a request that could not be built, or that net/http
// would refuse to send: a template or a signature that failed, a header
// value with a control character. It says nothing of the API.
type UnbuiltError struct{ Err error }

func (e *UnbuiltError) Error() string { return "could not build the request: " + e.Err.Error() }
func (e *UnbuiltError) Unwrap() error { return e.Err }

// InvalidHeaderByte returns the index of the first byte of value that no
// request can carry in a header (net/http refuses to send it: see
// httpguts.ValidHeaderFieldValue), or -1 when there is none.
func InvalidHeaderByte(value string) int {
	if httpguts.ValidHeaderFieldValue(value) {
		return -1
	}
	for i := range len(value) {
		if !httpguts.ValidHeaderFieldValue(value[i : i+1]) {
			return i
		}
	}
	return -1
}

// unsendable says why net/http would refuse to send req's headers, without
// quoting a value, which may be a secret; nil when it would send them.
func unsendable(req *http.Request) error {
	for name, values := range req.Header {
		if !httpguts.ValidHeaderFieldName(name) {
			return fmt.Errorf("header name %q is not a token", name)
		}
		for _, v := range values {
			if i := InvalidHeaderByte(v); i >= 0 {
				return fmt.Errorf("header %q contains a control character, %#02x, at byte %d of its value", name, v[i], i+1)
			}
		}
	}
	return nil
}

func preflightOnce(ctx context.Context, client *http.Client, t Target, anyAnswer bool) error {
	vt := vegeta.Target{Method: t.Method, URL: t.URL, Header: t.Header, Body: t.Body}
	if t.Render != nil {
		if err := t.Render(&vt); err != nil {
			return &UnbuiltError{err}
		}
	}
	req, err := vt.Request()
	if err != nil {
		return &UnbuiltError{err}
	}
	if err := unsendable(req); err != nil {
		return &UnbuiltError{err}
	}
	req = req.WithContext(ctx)
	if len(vt.Body) > 0 {
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(vt.Body)), nil }
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 400:
		return nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return &refusal{fmt.Sprintf("%s %s answered %s; check the auth inputs (bearer-token, hmac-secret, jwt-*, oauth-*)", vt.Method, req.URL.Redacted(), resp.Status)}
	case anyAnswer && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooEarly && code != http.StatusTooManyRequests:
		return nil
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooEarly && code != http.StatusTooManyRequests:
		return &refusal{fmt.Sprintf("%s %s answered %s", vt.Method, req.URL.Redacted(), resp.Status)}
	}
	return &answer{method: vt.Method, url: req.URL.Redacted(), status: resp.Status}
}

// refusal is an answer that trying again will not change: the request
// itself is wrong.
type refusal struct{ message string }

func (r *refusal) Error() string { return r.message }
