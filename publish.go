package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sethvargo/go-githubactions"

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
func publish(rep *report.Report, gh *githubactions.Action, getenv func(string) string, stdout io.Writer) error {
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
	if getenv("GITHUB_OUTPUT") != "" {
		// go-githubactions panics when it cannot write the file; the check
		// above and appendFile's error below cover the usual causes.
		if err := appendFile(getenv("GITHUB_OUTPUT"), ""); err != nil {
			return fmt.Errorf("write step outputs: %w", err)
		}
		for _, o := range rep.Outputs() {
			gh.SetOutput(o.Name, o.Value)
		}
	}
	return nil
}

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
