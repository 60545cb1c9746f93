package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sethvargo/go-githubactions"
	vegeta "github.com/tsenart/vegeta/v12/lib"

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

// resultsFile keeps every result in vegeta's own encoding, so that vegeta
// report and vegeta plot read it. A nil *resultsFile keeps nothing.
type resultsFile struct {
	file *os.File
	buf  *bufio.Writer
	enc  vegeta.Encoder
	err  error
}

func openResults(path string) (*resultsFile, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("input \"results-file\": %w", err)
	}
	buf := bufio.NewWriter(f)
	return &resultsFile{file: f, buf: buf, enc: vegeta.NewEncoder(buf)}, nil
}

func (r *resultsFile) add(res *vegeta.Result) {
	if r == nil || r.err != nil {
		return
	}
	// Response headers may carry cookies or tokens, and bodies may be
	// large; vegeta's reports need neither.
	kept := *res
	kept.Headers, kept.Body = nil, nil
	r.err = r.enc.Encode(&kept)
}

// Close flushes the file and reports the first error; it may be called
// twice.
func (r *resultsFile) Close() error {
	if r == nil || r.file == nil {
		return nil
	}
	if err := r.buf.Flush(); r.err == nil {
		r.err = err
	}
	if err := r.file.Close(); r.err == nil {
		r.err = err
	}
	r.file = nil
	return r.err
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
