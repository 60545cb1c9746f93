package deploytest

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The subsets of GitHub's REST API descriptions that extract_openapi.go cut
// out: the operations the deploy client uses, with every component they
// refer to.
//
//go:embed testdata/openapi/api.github.com.json testdata/openapi/ghes-3.19.json
var descriptionFiles embed.FS

// Description is the part of one of GitHub's published REST API
// descriptions (github/rest-api-description) that the Server serves. Check
// holds a request and its answer to it.
type Description struct {
	// Name is the description's file, such as "api.github.com.json".
	Name string
	ops  []*operation
	// errorBody validates an error answer whose status the operation does
	// not document (401, 429, 5xx ...): GitHub's basic-error.
	errorBody *jsonschema.Schema
}

type operation struct {
	method   string
	template string
	pattern  *regexp.Regexp
	path     []*parameter // in the order of pattern's groups
	query    map[string]*parameter
	// body is the request body's schema, nil when the operation takes none;
	// bodyFields are its documented top-level properties.
	body       *jsonschema.Schema
	bodyFields []string
	responses  map[string]*jsonschema.Schema // by status; nil: no content
}

type parameter struct {
	name     string
	required bool
	schema   *jsonschema.Schema
}

var (
	descriptionsOnce sync.Once
	descriptions     map[string]*Description
	descriptionsErr  error
)

func loadDescriptions() {
	descriptions = map[string]*Description{}
	for _, name := range []string{"api.github.com.json", "ghes-3.19.json"} {
		d, err := loadDescription(name)
		if err != nil {
			descriptionsErr = fmt.Errorf("deploytest: loading %s: %w", name, err)
			return
		}
		descriptions[name] = d
	}
}

func description(name string) *Description {
	descriptionsOnce.Do(loadDescriptions)
	if descriptionsErr != nil {
		panic(descriptionsErr)
	}
	return descriptions[name]
}

// APIGitHubCom is the description of the REST API of github.com.
func APIGitHubCom() *Description { return description("api.github.com.json") }

// GHES is the description of GitHub Enterprise Server's REST API, of the
// newest release the vendored descriptions hold (3.19): like 3.20 and
// older, it predates return_run_details.
func GHES() *Description { return description("ghes-3.19.json") }

// loadDescription compiles the schemas of a vendored description. OpenAPI
// 3.0 schemas are JSON Schema draft 4 but for `nullable`, which is turned
// into an anyOf with null first.
func loadDescription(name string) (*Description, error) {
	raw, err := descriptionFiles.ReadFile("testdata/openapi/" + name)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	doc = withoutNullable(doc)
	base := "https://deploytest.invalid/" + name

	// Draft 4 asserts formats (date-time, uri, email). Query values are
	// spared date-time: the description gives `created` that format but
	// documents GitHub's search syntax (">=2024-01-02T03:04:05Z") for it.
	strict, loose := jsonschema.NewCompiler(), jsonschema.NewCompiler()
	loose.RegisterFormat(&jsonschema.Format{Name: "date-time", Validate: func(any) error { return nil }})
	for _, c := range []*jsonschema.Compiler{strict, loose} {
		c.DefaultDraft(jsonschema.Draft4)
		if err := c.AddResource(base, doc); err != nil {
			return nil, err
		}
	}
	root := doc.(map[string]any)
	d := &Description{Name: name}
	if d.errorBody, err = strict.Compile(base + "#/components/schemas/basic-error"); err != nil {
		return nil, err
	}

	paths, _ := root["paths"].(map[string]any)
	for _, template := range sortedKeys(paths) {
		item := paths[template].(map[string]any)
		for _, method := range []string{"get", "post", "put", "patch", "delete"} {
			op, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			loc := "#/paths/" + escapePointer(template) + "/" + method
			o, err := compileOperation(root, base, loc, template, method, item, op, strict, loose)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", strings.ToUpper(method), template, err)
			}
			d.ops = append(d.ops, o)
		}
	}
	return d, nil
}

func compileOperation(root map[string]any, base, loc, template, method string, item, op map[string]any, strict, loose *jsonschema.Compiler) (*operation, error) {
	o := &operation{method: strings.ToUpper(method), template: template, query: map[string]*parameter{}, responses: map[string]*jsonschema.Schema{}}

	// Parameters of the path item, then of the operation, which win.
	type located struct {
		obj map[string]any
		loc string
	}
	var params []located
	for _, source := range []struct {
		list []any
		loc  string
	}{{listOf(item["parameters"]), "#/paths/" + escapePointer(template) + "/parameters"}, {listOf(op["parameters"]), loc + "/parameters"}} {
		for i, p := range source.list {
			obj, at := resolve(root, p.(map[string]any), fmt.Sprintf("%s/%d", source.loc, i))
			params = append(params, located{obj, at})
		}
	}
	pathParams := map[string]*parameter{}
	multi := map[string]bool{}
	for _, p := range params {
		schema, err := loose.Compile(base + p.loc + "/schema")
		if err != nil {
			return nil, err
		}
		param := &parameter{name: p.obj["name"].(string), required: p.obj["required"] == true, schema: schema}
		switch p.obj["in"] {
		case "path":
			pathParams[param.name] = param
			multi[param.name] = p.obj["x-multi-segment"] == true
		case "query":
			o.query[param.name] = param
		}
	}
	var pattern strings.Builder
	pattern.WriteString("^")
	for rest := template; rest != ""; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			pattern.WriteString(regexp.QuoteMeta(rest))
			break
		}
		end := strings.IndexByte(rest[open:], '}') + open
		pattern.WriteString(regexp.QuoteMeta(rest[:open]))
		name := rest[open+1 : end]
		param, ok := pathParams[name]
		if !ok {
			return nil, fmt.Errorf("path parameter %q is not described", name)
		}
		o.path = append(o.path, param)
		if multi[name] {
			pattern.WriteString("(.+)")
		} else {
			pattern.WriteString("([^/]+)")
		}
		rest = rest[end+1:]
	}
	pattern.WriteString("$")
	o.pattern = regexp.MustCompile(pattern.String())

	if rb, ok := op["requestBody"].(map[string]any); ok {
		rb, at := resolve(root, rb, loc+"/requestBody")
		content, _ := rb["content"].(map[string]any)
		if mt, ok := content["application/json"].(map[string]any); ok {
			schema, err := strict.Compile(base + at + "/content/application~1json/schema")
			if err != nil {
				return nil, err
			}
			o.body = schema
			obj, _ := resolve(root, mt["schema"].(map[string]any), "")
			o.bodyFields = sortedKeys(objectOf(obj["properties"]))
		}
	}

	responses, _ := op["responses"].(map[string]any)
	for _, status := range sortedKeys(responses) {
		resp, at := resolve(root, responses[status].(map[string]any), loc+"/responses/"+status)
		content, _ := resp["content"].(map[string]any)
		if _, ok := content["application/json"].(map[string]any); !ok {
			o.responses[status] = nil
			continue
		}
		schema, err := strict.Compile(base + at + "/content/application~1json/schema")
		if err != nil {
			return nil, err
		}
		o.responses[status] = schema
	}
	return o, nil
}

// Check returns how a call strays from the description: an undocumented
// method, path, query parameter or body field, a value that does not fit
// its schema, or an answer that does not validate against the documented
// response. A request body the Server refused with 400 or 422, as GitHub
// refuses what it does not know (a GHES that predates a field), is not
// held against the request.
func (d *Description) Check(c Call) []error {
	var problems []error
	path := strings.SplitN(c.Path, "?", 2)[0]
	var (
		op     *operation
		values []string
	)
	for _, candidate := range d.ops {
		if candidate.method != c.Method {
			continue
		}
		if m := candidate.pattern.FindStringSubmatch(path); m != nil {
			op, values = candidate, m[1:]
			break
		}
	}
	if op == nil {
		return []error{errors.New("no operation of the description has this method and path")}
	}
	for i, p := range op.path {
		value, err := url.PathUnescape(values[i])
		if err != nil {
			value = values[i]
		}
		if err := validateValue(p.schema, value); err != nil {
			problems = append(problems, fmt.Errorf("path parameter %s=%q: %v", p.name, value, err))
		}
	}
	query, err := url.ParseQuery(c.Query)
	if err != nil {
		problems = append(problems, fmt.Errorf("query %q: %v", c.Query, err))
	}
	for _, name := range sortedKeys(query) {
		p, ok := op.query[name]
		if !ok {
			problems = append(problems, fmt.Errorf("query parameter %q is not documented for %s %s", name, op.method, op.template))
			continue
		}
		for _, v := range query[name] {
			if err := validateValue(p.schema, v); err != nil {
				problems = append(problems, fmt.Errorf("query parameter %s=%q: %v", name, v, err))
			}
		}
	}
	refused := c.Status == http.StatusBadRequest || c.Status == http.StatusUnprocessableEntity
	if bodyProblems := op.checkBody(c.Body); len(bodyProblems) > 0 && !refused {
		problems = append(problems, bodyProblems...)
	}
	return append(problems, d.checkAnswer(op, c)...)
}

func (o *operation) checkBody(body []byte) []error {
	if o.body == nil {
		if len(bytes.TrimSpace(body)) > 0 {
			return []error{fmt.Errorf("%s %s takes no body, but got %s", o.method, o.template, body)}
		}
		return nil
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return []error{fmt.Errorf("the body is not JSON: %v", err)}
	}
	var problems []error
	if err := o.body.Validate(v); err != nil {
		problems = append(problems, fmt.Errorf("the body does not fit the description: %v", err))
	}
	if obj, ok := v.(map[string]any); ok && len(o.bodyFields) > 0 {
		for _, field := range sortedKeys(obj) {
			if !slices.Contains(o.bodyFields, field) {
				problems = append(problems, fmt.Errorf("body field %q is not documented for %s %s", field, o.method, o.template))
			}
		}
	}
	return problems
}

func (d *Description) checkAnswer(o *operation, c Call) []error {
	switch {
	case c.Status == 0:
		return nil // the connection was dropped: no answer to check
	case c.Status == http.StatusNotModified:
		if len(c.Answer) > 0 {
			return []error{errors.New("a 304 answer has a body")}
		}
		return nil
	}
	schema, documented := o.responses[strconv.Itoa(c.Status)]
	if !documented {
		if def, ok := o.responses["default"]; ok {
			schema, documented = def, true
		}
	}
	switch {
	case !documented && c.Status >= 400:
		schema = d.errorBody
	case !documented:
		return []error{fmt.Errorf("status %d is not documented for %s %s", c.Status, o.method, o.template)}
	case schema == nil:
		if len(bytes.TrimSpace(c.Answer)) > 0 {
			return []error{fmt.Errorf("a %d answer of %s %s has no content, but got %s", c.Status, o.method, o.template, c.Answer)}
		}
		return nil
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(c.Answer))
	if err != nil {
		return []error{fmt.Errorf("the answer is not JSON: %v", err)}
	}
	if err := schema.Validate(v); err != nil {
		return []error{fmt.Errorf("the %d answer does not fit the description: %v", c.Status, err)}
	}
	return nil
}

// validateValue checks a path or query value, which arrives as text,
// against its schema: as a string, or as the number or boolean it spells.
func validateValue(schema *jsonschema.Schema, value string) error {
	err := schema.Validate(value)
	if err == nil {
		return nil
	}
	if _, numErr := strconv.ParseFloat(value, 64); numErr == nil {
		if schema.Validate(json.Number(value)) == nil {
			return nil
		}
	}
	if b, boolErr := strconv.ParseBool(value); boolErr == nil && (value == "true" || value == "false") {
		if schema.Validate(b) == nil {
			return nil
		}
	}
	return err
}

// withoutNullable rewrites OpenAPI 3.0's `nullable: true` as JSON Schema:
// the schema, or null.
func withoutNullable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, child := range v {
			out[k] = withoutNullable(child)
		}
		if out["nullable"] == true {
			delete(out, "nullable")
			return map[string]any{"anyOf": []any{map[string]any{"type": "null"}, out}}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, child := range v {
			out[i] = withoutNullable(child)
		}
		return out
	}
	return v
}

// resolve follows obj's $ref within the document, returning the object it
// names and its JSON pointer; an object without $ref is returned as is,
// with loc.
func resolve(root, obj map[string]any, loc string) (map[string]any, string) {
	for range 10 {
		ref, ok := obj["$ref"].(string)
		if !ok {
			return obj, loc
		}
		loc = ref
		var cur any = root
		for _, token := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			token = strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")
			cur = objectOf(cur)[token]
		}
		obj = objectOf(cur)
	}
	return obj, loc
}

// escapePointer escapes a token of a JSON pointer.
func escapePointer(token string) string {
	return strings.ReplaceAll(strings.ReplaceAll(token, "~", "~0"), "/", "~1")
}

func objectOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
