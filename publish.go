package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/uuid"

	"github.com/zerodowntime/deploy-load-check/internal/report"
)

// writeReport writes the JSON report to path.
func writeReport(path string, rep *report.Report) error {
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, rep); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// publish writes the job summary and the step outputs. Outside Actions the
// summary goes to stdout.
func publish(rep *report.Report, getenv func(string) string, stdout io.Writer) error {
	var markdown strings.Builder
	if err := report.WriteMarkdown(&markdown, rep); err != nil {
		return err
	}
	if path := getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := appendFile(path, markdown.String()); err != nil {
			return fmt.Errorf("write job summary: %w", err)
		}
	} else {
		fmt.Fprintf(stdout, "\n%s", markdown.String())
	}
	if path := getenv("GITHUB_OUTPUT"); path != "" {
		var outputs strings.Builder
		if err := writeOutputs(&outputs, rep.Outputs(), randomDelimiter); err != nil {
			return fmt.Errorf("write step outputs: %w", err)
		}
		if err := appendFile(path, outputs.String()); err != nil {
			return fmt.Errorf("write step outputs: %w", err)
		}
	}
	return nil
}

// writeOutputs writes outputs in the GITHUB_OUTPUT file's name<<DELIMITER
// form, each value between lines of a delimiter of its own that it does
// not hold, as @actions/core writes them. go-githubactions' SetOutput
// uses one fixed delimiter, which a value (a target's name) could hold,
// ending it early and setting outputs of its own.
func writeOutputs(w io.Writer, outputs []report.Output, delimiter func() string) error {
	for _, o := range outputs {
		if strings.ContainsAny(o.Name, "\r\n") || strings.Contains(o.Name, "<<") {
			return fmt.Errorf("output name %q is not one line without <<", o.Name)
		}
		delim := delimiter()
		for tries := 1; strings.Contains(o.Value, delim); tries++ {
			if tries == 10 {
				return fmt.Errorf("output %q: no delimiter its value does not hold", o.Name)
			}
			delim = delimiter()
		}
		if _, err := fmt.Fprintf(w, "%s<<%s\n%s\n%s\n", o.Name, delim, o.Value, delim); err != nil {
			return err
		}
	}
	return nil
}

// randomDelimiter is a delimiter no value can hold but by chance.
func randomDelimiter() string { return "ghadelimiter_" + uuid.NewString() }

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
