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
)

// PreflightInterval is how often Preflight tries a target that has not
// answered yet.
const PreflightInterval = time.Second

// Preflight sends each target one request, built as the load builds it,
// and returns an error naming the first target that did not succeed within
// wait: a 2xx or 3xx answer. Trying again for a while lets a service
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
		for {
			err := preflightOnce(ctx, client, t, anyAnswer)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var refused *refusal
			if errors.As(err, &refused) {
				return fmt.Errorf("target %q: %w", t.Name, err)
			}
			if time.Now().Add(PreflightInterval).After(deadline) {
				return fmt.Errorf("target %q did not answer within %s: %w", t.Name, wait, err)
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

func preflightOnce(ctx context.Context, client *http.Client, t Target, anyAnswer bool) error {
	vt := vegeta.Target{Method: t.Method, URL: t.URL, Header: t.Header, Body: t.Body}
	if t.Render != nil {
		if err := t.Render(&vt); err != nil {
			return err
		}
	}
	req, err := vt.Request()
	if err != nil {
		return err
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
	return fmt.Errorf("%s %s answered %s", vt.Method, req.URL.Redacted(), resp.Status)
}

// refusal is an answer that trying again will not change: the request
// itself is wrong.
type refusal struct{ message string }

func (r *refusal) Error() string { return r.message }
