//go:build ignore

// extract_openapi cuts the operations the deploy client uses out of GitHub's
// published REST API descriptions, with every component they refer to, and
// writes them to testdata/openapi, where the stand-in's conformance checks
// read them.
//
// The descriptions come from the npm package @octokit/openapi, which ships
// github/rest-api-description's files (with an x-octokit extension that is
// dropped here):
//
//	npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz
//	go run extract_openapi.go -from package/generated -version 23.0.2
//
// Examples are dropped too: they are large and nothing checks against them.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// operations are the requests the deploy client sends, as method and path
// template of the description.
var operations = []struct{ method, path string }{
	{"get", "/user"},
	{"get", "/repos/{owner}/{repo}"},
	{"get", "/repos/{owner}/{repo}/git/ref/{ref}"},
	{"post", "/repos/{owner}/{repo}/dispatches"},
	{"get", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}"},
	{"post", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"},
	{"get", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs"},
	{"get", "/repos/{owner}/{repo}/actions/runs"},
	{"get", "/repos/{owner}/{repo}/actions/runs/{run_id}"},
	{"get", "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}"},
	{"get", "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs"},
	{"get", "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs"},
	{"post", "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel"},
}

// descriptions maps the file names of the package to the names written.
var descriptions = map[string]string{
	"api.github.com.json": "api.github.com.json",
	"ghes-3.19.json":      "ghes-3.19.json",
}

func main() {
	from := flag.String("from", "package/generated", "directory holding the full descriptions")
	to := flag.String("to", "testdata/openapi", "directory to write the subsets to")
	version := flag.String("version", "", "version of @octokit/openapi the descriptions come from, for the record")
	flag.Parse()
	if err := os.MkdirAll(*to, 0o755); err != nil {
		log.Fatal(err)
	}
	for in, out := range descriptions {
		if err := extract(filepath.Join(*from, in), filepath.Join(*to, out), *version); err != nil {
			log.Fatalf("%s: %v", in, err)
		}
	}
}

func extract(in, out, version string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var full map[string]any
	if err := json.Unmarshal(raw, &full); err != nil {
		return err
	}
	paths, _ := full["paths"].(map[string]any)
	components, _ := full["components"].(map[string]any)

	subset := map[string]any{}
	for _, op := range operations {
		item, ok := paths[op.path].(map[string]any)
		if !ok {
			return fmt.Errorf("no path %s", op.path)
		}
		operation, ok := item[op.method]
		if !ok {
			return fmt.Errorf("no %s %s", op.method, op.path)
		}
		kept, _ := subset[op.path].(map[string]any)
		if kept == nil {
			kept = map[string]any{}
			if params, ok := item["parameters"]; ok {
				kept["parameters"] = params
			}
			subset[op.path] = kept
		}
		kept[op.method] = operation
	}
	clean(subset)

	// Follow $refs until no new component turns up.
	used := map[string]any{}
	queue := refs(subset)
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		section, name, ok := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
		if !ok {
			return fmt.Errorf("unexpected $ref %q", ref)
		}
		group, _ := used[section].(map[string]any)
		if group == nil {
			group = map[string]any{}
			used[section] = group
		}
		if _, done := group[name]; done {
			continue
		}
		all, _ := components[section].(map[string]any)
		component, ok := all[name]
		if !ok {
			return fmt.Errorf("dangling $ref %q", ref)
		}
		clean(component)
		group[name] = component
		queue = append(queue, refs(component)...)
	}

	info, _ := full["info"].(map[string]any)
	doc := map[string]any{
		"openapi": full["openapi"],
		"info": map[string]any{
			"title":            "GitHub v3 REST API: the operations deploy-load-check uses",
			"description":      "A subset of github/rest-api-description, as shipped by the npm package @octokit/openapi " + version + ", cut by internal/deploy/deploytest/extract_openapi.go. Examples are dropped.",
			"version":          info["version"],
			"license":          info["license"],
			"x-github-plan":    info["x-github-plan"],
			"x-github-release": info["x-github-release"],
		},
		"servers":    full["servers"],
		"paths":      subset,
		"components": used,
	}
	if info["x-github-release"] == nil {
		delete(doc["info"].(map[string]any), "x-github-release")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// clean drops what the checks do not read and what is not GitHub's own.
func clean(v any) {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "examples")
		delete(v, "x-octokit")
		for _, child := range v {
			clean(child)
		}
	case []any:
		for _, child := range v {
			clean(child)
		}
	}
}

// refs lists the $ref targets within v, in a stable order.
func refs(v any) []string {
	var found []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				found = append(found, ref)
			}
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				walk(v[k])
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(v)
	return found
}
