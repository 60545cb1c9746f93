package targets

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mailru/easyjson/jlexer"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// ParseJSONLines reads vegeta's JSON target format, one object a line:
// method, url, header (name to list of values) and body (base64), read by
// vegeta's own decoder, so that a line reads here as it reads in vegeta.
// Beside them a line may carry this check's name, weight, timeout,
// template (true turns on placeholders) and group. Any other field is
// refused: vegeta's schema forbids them, and its decoder would drop a
// misspelt "header" without a word.
func ParseJSONLines(text, file string) ([]Spec, error) {
	data := text
	if !strings.HasSuffix(data, "\n") {
		// vegeta's decoder drops a last line without its newline.
		data += "\n"
	}
	next := vegeta.NewJSONTargeter(strings.NewReader(data), nil, nil)
	var specs []Spec
	// The decoder reads the same lines as this loop: split at \n, trimmed,
	// blank ones skipped. Each of its targets is this loop's line.
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		where := fmt.Sprintf("line %d", n+1)
		if file != "" {
			where = file + " " + where
		}
		var vt vegeta.Target
		if err := next(&vt); err != nil {
			return nil, fmt.Errorf("%s: %w", where, jsonError(line, err))
		}
		spec, err := jsonSpec(line, &vt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		spec.Where = where
		specs = append(specs, spec)
	}
	return specs, nil
}

func jsonError(line string, err error) error {
	switch {
	case errors.Is(err, vegeta.ErrNoMethod):
		return fmt.Errorf("%s has no method; vegeta's JSON targets need \"method\" and \"url\"", clip(line))
	case errors.Is(err, vegeta.ErrNoURL):
		return fmt.Errorf("%s has no url; vegeta's JSON targets need \"method\" and \"url\"", clip(line))
	}
	return fmt.Errorf("%s is not a JSON target: %s", clip(line), oneLine(err))
}

// oneLine writes a decoder's message, which may quote the line's bytes,
// with control characters escaped.
func oneLine(err error) string {
	msg := err.Error()
	if !strings.ContainsFunc(msg, isControl) {
		return msg
	}
	quoted := strconv.Quote(msg)
	return quoted[1 : len(quoted)-1]
}

// clip quotes a line, cut short when long.
func clip(line string) string {
	const most = 120
	if len(line) <= most {
		return fmt.Sprintf("%q", line)
	}
	return fmt.Sprintf("%q...", line[:most])
}

func jsonSpec(line string, vt *vegeta.Target) (Spec, error) {
	x, err := readExtras(line)
	if err != nil {
		return Spec{}, err
	}
	spec := Spec{Name: x.name, Method: vt.Method, Template: x.template, Group: x.group}
	if !validMethod(vt.Method) {
		return Spec{}, fmt.Errorf("method %q is not a token (letters, digits and !#$%%&'*+-.^_`|~); no request could carry it", vt.Method)
	}
	if spec.URL, err = parseURL(vt.URL, x.template); err != nil {
		return Spec{}, err
	}
	names := make([]string, 0, len(vt.Header))
	for name := range vt.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, value := range vt.Header[name] {
			h, err := header(name, value, x.template)
			if err != nil {
				return Spec{}, err
			}
			spec.Header = append(spec.Header, h)
		}
	}
	if len(vt.Body) > 0 {
		if spec.Body, err = content(string(vt.Body), InBody, x.template); err != nil {
			return Spec{}, fmt.Errorf("body: %w", err)
		}
	}
	if x.weight != nil {
		if *x.weight < 1 || *x.weight > MaxWeight {
			return Spec{}, fmt.Errorf("weight %d: want a whole number from 1 to %d", *x.weight, MaxWeight)
		}
		spec.Weight = *x.weight
	}
	if x.timeout != "" {
		if spec.Timeout, err = parseTimeout(x.timeout); err != nil {
			return Spec{}, err
		}
	}
	if x.group != "" {
		if spec.Group, err = parseGroup(x.group); err != nil {
			return Spec{}, err
		}
	}
	return spec, nil
}

// jsonExtras are the fields this check reads beside vegeta's.
type jsonExtras struct {
	name     string
	weight   *int
	timeout  string
	template bool
	group    string
}

var extraTypes = map[string]string{"name": "a string", "weight": "a whole number", "timeout": "a duration string such as \"2s\"", "template": "true or false", "group": "a string"}

// readExtras walks a line vegeta's decoder accepted with the same lexer,
// for the fields vegeta skips.
func readExtras(line string) (jsonExtras, error) {
	var x jsonExtras
	in := jlexer.Lexer{Data: []byte(line)}
	in.Delim('{')
	for in.Ok() && !in.IsDelim('}') {
		key := in.String()
		in.WantColon()
		if in.IsNull() {
			// As vegeta's decoder: a null field is not there.
			in.Skip()
			in.WantComma()
			continue
		}
		switch key {
		case "method", "url", "header", "body":
			in.SkipRecursive()
		case "name":
			x.name = in.String()
		case "weight":
			w := in.Int()
			x.weight = &w
		case "timeout":
			x.timeout = in.String()
		case "template":
			x.template = in.Bool()
		case "group":
			x.group = in.String()
		default:
			return x, fmt.Errorf("unknown field %q; vegeta's fields are method, url, header and body, and this check adds name, weight, timeout, template and group", key)
		}
		if !in.Ok() {
			return x, fmt.Errorf("field %q: want %s", key, extraTypes[key])
		}
		in.WantComma()
	}
	in.Delim('}')
	in.Consumed()
	if err := in.Error(); err != nil {
		return x, fmt.Errorf("%s is not a JSON target: %s", clip(line), oneLine(err))
	}
	return x, nil
}
