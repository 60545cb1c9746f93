package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Source answers the raw value of each input, from the first of: a
// command-line flag, the runner's INPUT_<NAME> variable (upper case, hyphens
// kept, as the Actions runner sets it), the default declared in action.yml.
//
// A flag or variable that is present is the value, even when it is empty:
// the runner sets a variable for every declared input, defaults filled in,
// so an empty one is an input the workflow set empty (max-downtime: "" for
// no limit). Only an absent one, as on a command line outside Actions,
// takes the declared default.
type Source struct {
	spec      *Spec
	flags     map[string]string
	lookupEnv func(string) (string, bool)
	asked     map[string]bool
	secret    func(string) // called with each secret value as it is read
	secrets   map[string]bool
	values    []string // secret values read, each once
}

// SecretValues returns the values of the secret inputs read so far that
// were set, each once.
func (s *Source) SecretValues() []string { return slices.Clone(s.values) }

// OnSecret registers fn to be called with the value of each secret input
// (SecretInputs) the moment it is read, so it can be masked before anything
// could print it. Multi-line values are also passed line by line.
func (s *Source) OnSecret(fn func(value string)) { s.secret = fn }

// NewSource parses args as flags named after the inputs (--rate 50/1s).
// Repeating a flag adds a line, for inputs that take one item per line. It
// returns the arguments left after the flags. lookupEnv answers a variable
// and whether it is set, as os.LookupEnv does.
func NewSource(spec *Spec, args []string, lookupEnv func(string) (string, bool), usage io.Writer) (*Source, []string, error) {
	src := &Source{spec: spec, flags: make(map[string]string), lookupEnv: lookupEnv, asked: make(map[string]bool), secrets: make(map[string]bool)}
	for _, name := range SecretInputs {
		src.secrets[name] = true
	}
	fs := flag.NewFlagSet("deploy-load-check", flag.ContinueOnError)
	// The flag package's own complaint is replaced by one line of ours;
	// the usage text is printed for -h only.
	fs.SetOutput(io.Discard)
	for _, in := range spec.Inputs {
		fs.Var(&lines{name: in.Name, into: src.flags}, in.Name, firstLine(in.Description))
	}
	fs.Usage = func() {}
	help := func() {
		fs.SetOutput(usage)
		fmt.Fprintf(usage, "Usage: deploy-load-check [flags]\n       deploy-load-check demo\n\n%s\n\nFlags mirror the action's inputs; unset ones take the INPUT_<NAME> variable or the default in action.yml:\n", firstLine(spec.Description))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help()
			return nil, nil, err
		}
		return nil, nil, &Error{Input: "flags", Err: flagError(err, args)}
	}
	return src, fs.Args(), nil
}

// flagError rewrites the flag package's errors to quote the flag as it
// was written in args (the flag package names it -rate, however many
// dashes it had) and say where to look.
func flagError(err error, args []string) error {
	msg := err.Error()
	for _, prefix := range []string{"flag provided but not defined: ", "flag needs an argument: "} {
		if name, ok := strings.CutPrefix(msg, prefix); ok {
			return fmt.Errorf("%s%q; the flags are the action's inputs, listed by -h", prefix, asWritten(name, args))
		}
	}
	return err
}

// asWritten finds the flag the flag package calls name (-rate) in args:
// --rate, -rate, or either with =value, which is left out.
func asWritten(name string, args []string) string {
	for _, arg := range args {
		if arg == "--" {
			break
		}
		written, _, _ := strings.Cut(arg, "=")
		if "-"+strings.TrimLeft(written, "-") == name && strings.HasPrefix(written, "-") {
			return written
		}
	}
	return name
}

// Get returns the raw value of the input called name, trimmed of the
// surrounding space the runner's YAML often leaves.
func (s *Source) Get(name string) string {
	s.asked[name] = true
	v := s.lookup(name)
	if s.secrets[name] && v != "" && !slices.Contains(s.values, v) {
		s.values = append(s.values, v)
	}
	if s.secrets[name] && v != "" && s.secret != nil {
		s.secret(v)
		if strings.Contains(v, "\n") {
			for _, line := range strings.Split(v, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					s.secret(line)
				}
			}
		}
	}
	return v
}

func (s *Source) lookup(name string) string {
	if v, ok := s.flags[name]; ok {
		return strings.TrimSpace(v)
	}
	if v, ok := s.lookupEnv(envName(name)); ok {
		return strings.TrimSpace(v)
	}
	if in, ok := s.spec.Input(name); ok {
		return strings.TrimSpace(defaultValue(in.Default, s.getenv))
	}
	return ""
}

// getenv answers a variable, empty when it is not set.
func (s *Source) getenv(key string) string {
	v, _ := s.lookupEnv(key)
	return v
}

// MapEnv looks variables up in env, as os.LookupEnv looks them up in the
// process's environment.
func MapEnv(env map[string]string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		v, ok := env[key]
		return v, ok
	}
}

// Asked reports whether Get was called for the input: every declared input
// must be read by Parse.
func (s *Source) Asked(name string) bool { return s.asked[name] }

// envName is the variable the runner sets for an input: INPUT_ and the name
// in upper case, hyphens kept, spaces as underscores.
func envName(input string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(input, " ", "_"))
}

// EnvName is exported for tests that start the binary as the runner does.
func EnvName(input string) string { return envName(input) }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// lines is a flag value that gathers repeated flags as lines.
type lines struct {
	name string
	into map[string]string
}

func (l *lines) String() string { return "" }

func (l *lines) Set(v string) error {
	if prev, ok := l.into[l.name]; ok {
		v = prev + "\n" + v
	}
	l.into[l.name] = v
	return nil
}
