package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// repoWorkflows returns the repository's own workflow files.
func repoWorkflows(t *testing.T) []string {
	t.Helper()
	var paths []string
	for _, pattern := range []string{"../../.github/workflows/*.yml", "../../.github/workflows/*.yaml"} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, matches...)
	}
	if len(paths) == 0 {
		t.Fatal("no workflows in .github/workflows")
	}
	return paths
}

func TestWorkflowsMatchTheSchema(t *testing.T) {
	t.Parallel()
	for _, path := range repoWorkflows(t) {
		validateAgainstSchema(t, path, "github-workflow.json")
	}
}

// validateAgainstSchema checks a YAML file against one of the JSON schemas
// vendored in testdata/schemas (SchemaStore's github-action.json and
// github-workflow.json).
func validateAgainstSchema(t *testing.T, yamlPath, schemaName string) {
	t.Helper()
	schemaPath, err := filepath.Abs(filepath.Join("testdata", "schemas", schemaName))
	if err != nil {
		t.Fatal(err)
	}
	schema, err := jsonschema.NewCompiler().Compile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(yamlPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", yamlPath, err)
	}
	// Round-trip through JSON so the validator sees JSON types.
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("%s: %v", yamlPath, err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(js)))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Errorf("%s does not match %s: %v", yamlPath, schemaName, err)
	}
}

// TestWorkflowsUseTheActionWithDeclaredInputs keeps the repository's own use
// of the action (uses: ./) in step with action.yml, and makes sure one of
// them runs it as a PR check.
func TestWorkflowsUseTheActionWithDeclaredInputs(t *testing.T) {
	t.Parallel()
	spec := readSpec(t)
	prChecks := 0
	for _, path := range repoWorkflows(t) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var workflow struct {
			Jobs map[string]struct {
				Steps []struct {
					ID   string            `yaml:"id"`
					Uses string            `yaml:"uses"`
					With map[string]string `yaml:"with"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(raw, &workflow); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for jobName, job := range workflow.Jobs {
			for i, step := range job.Steps {
				if step.Uses != "./" {
					continue
				}
				where := fmt.Sprintf("%s: job %s step %d", filepath.Base(path), jobName, i+1)
				if step.ID == "" {
					t.Errorf("%s uses the action without an id; its outputs cannot be checked", where)
				}
				for name := range step.With {
					if _, ok := spec.Input(name); !ok {
						t.Errorf("%s sets input %q, which action.yml does not declare", where, name)
					}
				}
				for _, in := range spec.Inputs {
					if in.Required && strings.TrimSpace(step.With[in.Name]) == "" {
						t.Errorf("%s leaves required input %q unset", where, in.Name)
					}
				}
				if step.With["workflow"] == "" && step.With["event-type"] == "" {
					prChecks++
				}
			}
		}
	}
	if prChecks == 0 {
		t.Error("no workflow runs the action (uses: ./) as a PR check")
	}
}
