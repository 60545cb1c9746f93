// Command runnerenv prints the INPUT_* variables the Actions runner gives a
// container action's step: one for every input in action.yml, named
// INPUT_ and the input's name in upper case with spaces turned to
// underscores and hyphens kept, holding the step's with: value or else the
// input's default, with ${{ github.NAME }} expressions in defaults filled
// from the github context. .ci/container.sh passes them to the container.
//
// usage: runnerenv -action action.yml -with with.yml [-github NAME=VALUE]...
//
// with.yml holds the step's with: block as a mapping. Each variable is
// printed as NAME=VALUE followed by a NUL byte, since values may span lines.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "runnerenv:", err)
		os.Exit(2)
	}
}

// contextFlag collects -github NAME=VALUE pairs.
type contextFlag map[string]string

func (c contextFlag) String() string { return fmt.Sprint(map[string]string(c)) }

func (c contextFlag) Set(pair string) error {
	name, value, ok := strings.Cut(pair, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q is not NAME=VALUE", pair)
	}
	c[name] = value
	return nil
}

func run(args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("runnerenv", flag.ContinueOnError)
	actionPath := flags.String("action", "action.yml", "the action's metadata file")
	withPath := flags.String("with", "", "YAML mapping of the step's with: inputs")
	github := contextFlag{}
	flags.Var(github, "github", "a github context value for defaults, as NAME=VALUE (repeatable)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *withPath == "" {
		return errors.New("-with is required")
	}
	var action struct {
		Inputs yaml.Node `yaml:"inputs"`
	}
	if err := readYAML(*actionPath, &action); err != nil {
		return err
	}
	declared, order, err := actionInputs(&action.Inputs)
	if err != nil {
		return fmt.Errorf("%s: %w", *actionPath, err)
	}
	var with yaml.Node
	if err := readYAML(*withPath, &with); err != nil {
		return err
	}
	given, err := scalarMapping(&with)
	if err != nil {
		return fmt.Errorf("%s: %w", *withPath, err)
	}
	var unknown []string
	for name := range given {
		if _, ok := declared[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("%s: inputs %q are not declared in %s", *withPath, unknown, *actionPath)
	}
	for _, name := range order {
		value, ok := given[name]
		if !ok {
			if value, err = fillDefault(declared[name], github); err != nil {
				return fmt.Errorf("%s: input %q: %w", *actionPath, name, err)
			}
		}
		key := "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
		if _, err := fmt.Fprintf(stdout, "%s=%s\x00", key, value); err != nil {
			return err
		}
	}
	return nil
}

func readYAML(path string, into any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// actionInputs returns each input's default (empty when it has none) and
// the inputs' order in the file.
func actionInputs(inputs *yaml.Node) (map[string]string, []string, error) {
	if inputs.Kind != yaml.MappingNode {
		return nil, nil, errors.New("inputs is not a mapping")
	}
	defaults := make(map[string]string)
	var order []string
	for i := 0; i+1 < len(inputs.Content); i += 2 {
		name := inputs.Content[i].Value
		var input struct {
			Default string `yaml:"default"`
		}
		if err := inputs.Content[i+1].Decode(&input); err != nil {
			return nil, nil, fmt.Errorf("input %q: %w", name, err)
		}
		defaults[name] = input.Default
		order = append(order, name)
	}
	return defaults, order, nil
}

// scalarMapping reads a with: block; the runner passes every value as the
// string written, so 20 stays "20" and true stays "true".
func scalarMapping(doc *yaml.Node) (map[string]string, error) {
	values := make(map[string]string)
	if doc.Kind == 0 {
		return values, nil
	}
	node := doc
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	if node.Kind != yaml.MappingNode {
		return nil, errors.New("not a mapping of inputs")
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		name, value := node.Content[i].Value, node.Content[i+1]
		if value.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("input %q is not a string", name)
		}
		values[name] = value.Value
	}
	return values, nil
}

var expression = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// fillDefault evaluates the ${{ github.NAME }} expressions a default may
// hold, the only ones action.yml defaults use here; any other is an error
// rather than a silently wrong value.
func fillDefault(def string, github map[string]string) (string, error) {
	var err error
	filled := expression.ReplaceAllStringFunc(def, func(match string) string {
		expr := expression.FindStringSubmatch(match)[1]
		name, ok := strings.CutPrefix(expr, "github.")
		value, known := github[name]
		if !ok || !known {
			err = fmt.Errorf("default %q: no value for %q; give it with -github", def, expr)
		}
		return value
	})
	return filled, err
}
