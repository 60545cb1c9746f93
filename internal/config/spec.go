package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Spec is the action's metadata (action.yml): the one place where inputs,
// their descriptions and defaults are written down. The binary embeds it, so
// the CLI's flags and defaults are the Action's.
type Spec struct {
	Name        string
	Description string
	Inputs      []InputSpec
	Outputs     []OutputSpec
}

// InputSpec is one declared input.
type InputSpec struct {
	Name        string
	Description string
	Default     string
	Required    bool
}

// OutputSpec is one declared output.
type OutputSpec struct {
	Name        string
	Description string
}

// ParseSpec reads action.yml, keeping the order in which inputs and outputs
// are declared.
func ParseSpec(actionYML []byte) (*Spec, error) {
	var doc struct {
		Name        string    `yaml:"name"`
		Description string    `yaml:"description"`
		Inputs      yaml.Node `yaml:"inputs"`
		Outputs     yaml.Node `yaml:"outputs"`
	}
	if err := yaml.Unmarshal(actionYML, &doc); err != nil {
		return nil, fmt.Errorf("action.yml: %w", err)
	}
	spec := &Spec{Name: doc.Name, Description: doc.Description}
	err := eachEntry(&doc.Inputs, func(name string, value *yaml.Node) error {
		var in struct {
			Description string `yaml:"description"`
			Default     string `yaml:"default"`
			Required    bool   `yaml:"required"`
		}
		if err := value.Decode(&in); err != nil {
			return fmt.Errorf("action.yml: input %q: %w", name, err)
		}
		spec.Inputs = append(spec.Inputs, InputSpec{Name: name, Description: in.Description, Default: in.Default, Required: in.Required})
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachEntry(&doc.Outputs, func(name string, value *yaml.Node) error {
		var out struct {
			Description string `yaml:"description"`
		}
		if err := value.Decode(&out); err != nil {
			return fmt.Errorf("action.yml: output %q: %w", name, err)
		}
		spec.Outputs = append(spec.Outputs, OutputSpec{Name: name, Description: out.Description})
		return nil
	})
	return spec, err
}

func eachEntry(mapping *yaml.Node, fn func(string, *yaml.Node) error) error {
	if mapping.Kind == 0 {
		return nil
	}
	if mapping.Kind != yaml.MappingNode {
		return fmt.Errorf("action.yml: line %d: want a mapping", mapping.Line)
	}
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if err := fn(mapping.Content[i].Value, mapping.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// Input returns the declared input called name.
func (s *Spec) Input(name string) (InputSpec, bool) {
	i := slices.IndexFunc(s.Inputs, func(in InputSpec) bool { return in.Name == name })
	if i < 0 {
		return InputSpec{}, false
	}
	return s.Inputs[i], true
}

// defaultValue evaluates a declared default outside Actions, where the runner
// does not expand ${{ github.X }}: each reads the GITHUB_X environment
// variable the runner would have used; any other expression reads empty.
func defaultValue(def string, getenv func(string) string) string {
	return expression.ReplaceAllStringFunc(def, func(expr string) string {
		inner := strings.TrimSpace(expr[3 : len(expr)-2])
		field, ok := strings.CutPrefix(inner, "github.")
		if !ok {
			return ""
		}
		return getenv("GITHUB_" + strings.ToUpper(field))
	})
}

// expression matches a ${{ ... }} expression of a default.
var expression = regexp.MustCompile(`\$\{\{[^}]*\}\}`)
