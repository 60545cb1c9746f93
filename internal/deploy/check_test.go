package deploy

import (
	"errors"
	"strings"
	"testing"

	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

func TestCheckPassesAGoodSetupWithoutDispatching(t *testing.T) {
	t.Parallel()
	srv := deploytest.NewServer(t, deploytest.WithToken(testToken), deploytest.WithRefs("release"))
	c := newTestClient(t, srv)
	for _, ref := range []string{"", "main", "release", "refs/heads/release"} {
		req := deployRequest()
		req.Ref = ref
		if err := c.Check(testContext(t), req); err != nil {
			t.Errorf("Check with ref %q: %v", ref, err)
		}
	}
	if n := srv.Count(deploytest.EndpointWorkflowDispatch); n != 0 {
		t.Errorf("Check dispatched %d times", n)
	}
}

func TestCheckFindsADisabledWorkflow(t *testing.T) {
	t.Parallel()
	for _, state := range []string{"disabled_manually", "disabled_inactivity", "disabled_fork"} {
		t.Run(state, func(t *testing.T) {
			t.Parallel()
			wf := deploytest.DeployWorkflow()
			wf.State = state
			srv := deploytest.NewServer(t, deploytest.WithWorkflows(wf))
			c := newTestClient(t, srv)

			err := c.Check(testContext(t), deployRequest())
			var cerr *ConfigError
			if !errors.As(err, &cerr) || cerr.Setting != Workflow {
				t.Fatalf("Check error = %v, want a ConfigError about the workflow", err)
			}
			if want := `workflow "deploy-staging.yml" in "acme/shop" is disabled (state "` + state + `")`; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
			checkNamesNoInput(t, err)
			if n := srv.Count(deploytest.EndpointWorkflowDispatch); n != 0 {
				t.Errorf("dispatched %d times", n)
			}
		})
	}
}

func TestCheckFindsTheMistakeBeforeTheDispatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(*Request)
		token   string
		setting Setting
		want    string
	}{
		{"an unknown ref", func(r *Request) { r.Ref = "nope" }, testToken, Ref, `"nope" is neither a branch nor a tag`},
		{"an unknown workflow", func(r *Request) { r.Workflow = "nope.yml" }, testToken, Workflow, `workflow "nope.yml" was not found`},
		{"a bad token", func(*Request) {}, "ghs_wrong", Token, `the token is invalid or expired`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := deploytest.NewServer(t, deploytest.WithToken(testToken))
			c, err := New(tt.token, srv.URL, WithHTTPClient(srv.Client()))
			if err != nil {
				t.Fatal(err)
			}
			req := deployRequest()
			tt.edit(&req)
			err = c.Check(testContext(t), req)
			var cerr *ConfigError
			if !errors.As(err, &cerr) || !errors.Is(err, ErrConfig) {
				t.Fatalf("Check error = %v, want a *ConfigError", err)
			}
			if cerr.Setting != tt.setting {
				t.Errorf("error names setting %v, want %v", cerr.Setting, tt.setting)
			}
			checkNamesNoInput(t, err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("error %q shows the token", err)
			}
			if n := srv.Count(deploytest.EndpointWorkflowDispatch); n != 0 {
				t.Errorf("dispatched %d times", n)
			}
		})
	}
}
