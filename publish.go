package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/uuid"

	"github.com/zerodowntime/deploy-load-check/internal/config"
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
	if err := writeSummary(markdown.String(), getenv, stdout); err != nil {
		return err
	}
	return appendOutputs(rep.Outputs(), getenv)
}

// cancelledSummary is the job summary of a check cancelled before any load.
const cancelledSummary = "## ⏹️ Deploy load check — cancelled\n\n" +
	"The job was cancelled before any load: no load was sent and no deploy was dispatched, so there are no figures to judge.\n"

// publishCancelled writes the job summary and the step outputs of a check
// cancelled before any load: verdict cancelled, requests 0, the others
// empty.
func publishCancelled(getenv func(string) string, stdout io.Writer) error {
	if err := writeSummary(cancelledSummary, getenv, stdout); err != nil {
		return err
	}
	spec, err := config.ParseSpec(actionYML)
	if err != nil {
		return err
	}
	values := map[string]string{"verdict": report.Cancelled, "requests": "0"}
	outputs := make([]report.Output, len(spec.Outputs))
	for i, o := range spec.Outputs {
		outputs[i] = report.Output{Name: o.Name, Value: values[o.Name]}
	}
	return appendOutputs(outputs, getenv)
}

// writeSummary appends markdown to the job summary; outside Actions it
// goes to stdout.
func writeSummary(markdown string, getenv func(string) string, stdout io.Writer) error {
	path := getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		fmt.Fprintf(stdout, "\n%s", markdown)
		return nil
	}
	if err := appendFile(path, markdown); err != nil {
		return fmt.Errorf("write job summary: %w", err)
	}
	return nil
}

// appendOutputs sets the step outputs, in Actions.
func appendOutputs(outputs []report.Output, getenv func(string) string) error {
	path := getenv("GITHUB_OUTPUT")
	if path == "" {
		return nil
	}
	var text strings.Builder
	if err := writeOutputs(&text, outputs, randomDelimiter); err != nil {
		return fmt.Errorf("write step outputs: %w", err)
	}
	if err := appendFile(path, text.String()); err != nil {
		return fmt.Errorf("write step outputs: %w", err)
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
