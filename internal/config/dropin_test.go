package config

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

var update = flag.Bool("update", false, "rewrite the vegeta and ours sections of testdata/vegeta")

// The cases in testdata/vegeta are vegeta's own: its lib/targets_test.go
// cases and its README's examples (each names its source), and the
// questions users bring. Each holds the targets, what the real vegeta
// v12.13.0 reads from them (checked here against vegeta's own parser), and,
// when this check reads them differently on purpose, what it reads and why,
// with the README line that lists the difference.
//
// A reading is vegeta's JSON target encoding, one line a request, sorted
// (repeated targets are merged here into one with a weight: the requests
// and their shares are the same), or "error: " and the start of vegeta's
// message or a part of this check's.

func TestVegetaTargetsReadAsVegetaReadsThem(t *testing.T) {
	t.Parallel()
	readme := readmeSection(t, "Coming from vegeta")
	paths, err := filepath.Glob("testdata/vegeta/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no cases in testdata/vegeta: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			c := readCase(t, path)
			dir := t.TempDir()
			for name, data := range c.files {
				if name != "targets" && name != "targets.json" && name != "headers" && name != "vegeta" && name != "ours" {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			text, isJSON := c.files["targets"], false
			if j, ok := c.files["targets.json"]; ok {
				text, isJSON = j, true
			}
			if c.meta["Newline"] == "none" {
				text = strings.TrimSuffix(text, "\n")
			}
			text = strings.ReplaceAll(text, "$DIR", dir)
			headers := c.files["headers"]
			theirs, ours := readAsVegeta(text, isJSON, headers), readAsThisCheck(text, headers)
			theirs, ours = strings.ReplaceAll(theirs, dir, "$DIR"), strings.ReplaceAll(ours, dir, "$DIR")
			if *update {
				c.files["vegeta"] = theirs
				if c.meta["Difference"] != "" || strings.HasPrefix(ours, "error: ") {
					c.files["ours"] = ours
				}
				writeCase(t, path, c)
				return
			}
			if !sameReading(theirs, c.files["vegeta"]) {
				t.Fatalf("vegeta reads\n%s\nthe case says\n%s", theirs, c.files["vegeta"])
			}
			want, listed := c.files["ours"]
			if !listed {
				want = c.files["vegeta"]
			}
			if !sameReading(ours, want) {
				t.Errorf("this check reads\n%s\nwant\n%s", ours, want)
			}
			difference := c.meta["Difference"]
			differs := strings.HasPrefix(ours, "error: ") != strings.HasPrefix(theirs, "error: ") || !strings.HasPrefix(ours, "error: ") && ours != theirs
			switch {
			case differs && difference == "":
				t.Errorf("this check reads it differently from vegeta, and the case does not say why:\n%s\nvegeta:\n%s", ours, theirs)
			case !differs && difference != "":
				t.Errorf("the case lists a difference (%s), but both read it the same", difference)
			case difference != "" && (c.meta["README"] == "" || !strings.Contains(readme, c.meta["README"])):
				t.Errorf("README's \"Coming from vegeta\" does not list the difference %q", c.meta["README"])
			}
		})
	}
}

// readAsVegeta reads text with vegeta's own targeters, as vegeta attack
// does with a -header flag for each line of headers (its name kept as
// written, as vegeta's flag keeps it) and without -body.
func readAsVegeta(text string, isJSON bool, headers string) string {
	var header http.Header
	for _, line := range strings.Split(headers, "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok {
			if header == nil {
				header = http.Header{}
			}
			name = strings.TrimSpace(name)
			header[name] = append(header[name], strings.TrimSpace(value))
		}
	}
	next := vegeta.NewHTTPTargeter(strings.NewReader(text), nil, header)
	if isJSON {
		next = vegeta.NewJSONTargeter(strings.NewReader(text), nil, header)
	}
	list, err := vegeta.ReadAllTargets(next)
	if err != nil {
		return "error: " + err.Error()
	}
	return encode(list)
}

// readAsThisCheck reads text as the targets input is read, with headers as
// the headers input, and renders each request as it would be sent, once
// for each unit of its weight.
func readAsThisCheck(text, headers string) string {
	loaded, err := ParseTargets(text, headers)
	if err != nil {
		return "error: " + err.Error()
	}
	var list []vegeta.Target
	for _, lt := range loaded {
		vt := vegeta.Target{Method: lt.Method, URL: lt.URL, Header: lt.Header, Body: lt.Body}
		if lt.Render != nil {
			vt = vegeta.Target{Header: http.Header{}}
			if err := lt.Render(&vt); err != nil {
				return "error: " + err.Error()
			}
		}
		for range max(1, lt.Weight) {
			list = append(list, vt)
		}
	}
	return encode(list)
}

// encode writes targets in vegeta's JSON target format, header names
// sorted, one line each, the lines sorted.
func encode(list []vegeta.Target) string {
	type jsonTarget struct {
		Method string      `json:"method"`
		URL    string      `json:"url"`
		Body   []byte      `json:"body,omitempty"`
		Header http.Header `json:"header,omitempty"`
	}
	var lines []string
	for _, vt := range list {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(jsonTarget{vt.Method, vt.URL, vt.Body, vt.Header}); err != nil {
			return "error: encoding: " + err.Error()
		}
		lines = append(lines, strings.TrimSuffix(buf.String(), "\n"))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

// sameReading compares a reading with a case's: requests exactly, an error
// by the start of vegeta's message or a part of this check's.
func sameReading(got, want string) bool {
	if w, ok := strings.CutPrefix(strings.TrimSpace(want), "error: "); ok {
		g, isErr := strings.CutPrefix(got, "error: ")
		return isErr && strings.Contains(g, w)
	}
	return got == want
}

// testCase is a txtar archive: Key: value lines, then files under
// "-- name --" lines.
type testCase struct {
	header string // the comment, as written
	meta   map[string]string
	files  map[string]string
	order  []string
}

func readCase(t *testing.T, path string) *testCase {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCase{meta: map[string]string{}, files: map[string]string{}}
	var current *strings.Builder
	var key string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "-- "); ok && strings.HasSuffix(name, " --") {
			if current != nil {
				c.files[c.order[len(c.order)-1]] = current.String()
			}
			name = strings.TrimSuffix(name, " --")
			c.order = append(c.order, name)
			current = &strings.Builder{}
			continue
		}
		if current != nil {
			current.WriteString(line + "\n")
			continue
		}
		c.header += line + "\n"
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.Contains(k, " ") {
			key = k
			c.meta[key] = v
		} else if strings.TrimSpace(line) != "" && key != "" {
			c.meta[key] += " " + strings.TrimSpace(line)
		}
	}
	if current != nil {
		c.files[c.order[len(c.order)-1]] = current.String()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

func writeCase(t *testing.T, path string, c *testCase) {
	t.Helper()
	var b strings.Builder
	b.WriteString(c.header)
	names := slices.Clone(c.order)
	for _, name := range []string{"vegeta", "ours"} {
		if _, ok := c.files[name]; ok && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	for _, name := range names {
		data := c.files[name]
		if data != "" && !strings.HasSuffix(data, "\n") {
			data += "\n"
		}
		fmt.Fprintf(&b, "-- %s --\n%s", name, data)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readmeSection returns the README's section under the heading named, its
// lines joined with single spaces.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "# "+heading+"\n")
	if start < 0 {
		t.Fatalf("README has no section %q", heading)
	}
	rest := text[start+len(heading)+3:]
	if end := strings.Index(rest, "\n##"); end >= 0 {
		rest = rest[:end]
	}
	return strings.Join(strings.Fields(rest), " ")
}

// The rows of testdata/k6/thresholds.md are k6's own threshold parser and
// validation test cases and examples (each names its source), written as a
// line of the thresholds input. Each says what k6 reads, what this check
// reads and, where the two differ, why, with the README line that lists
// the difference. Where both accept a line they must mean the same: k6's
// reading is turned into this check's by k6's rules (trend values are
// milliseconds, a rate is a fraction, http_reqs' rate is a second's).
func TestK6ThresholdsReadAsK6ReadsThem(t *testing.T) {
	t.Parallel()
	readme := readmeSection(t, "Coming from k6")
	raw, err := os.ReadFile("testdata/k6/thresholds.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(string(raw), "\n") {
		cells := tableCells(line)
		if len(cells) != 5 || cells[0] == "source" || strings.HasPrefix(cells[0], "---") {
			continue
		}
		rows++
		source, input, k6, ours, why := cells[0], cells[1], cells[2], cells[3], cells[4]
		got, err := ParseThresholds(input, verdict.Names{Targets: []string{"search"}})
		var reading string
		if err != nil {
			reading = "error: " + err.Error()
		} else {
			var shown []string
			for _, th := range got {
				shown = append(shown, th.String())
			}
			reading = strings.Join(shown, "; ")
			if len(got) == 0 {
				reading = "none"
			}
		}
		if !sameReading(reading, ours) {
			t.Errorf("%s: %s: this check reads %q, the table says %q", source, input, reading, ours)
			continue
		}
		k6Accepts := !strings.HasPrefix(k6, "error")
		switch {
		case k6Accepts != (err == nil) && why == "":
			t.Errorf("%s: %s: k6 reads %q, this check %q, and the table does not say why", source, input, k6, reading)
		case why != "" && !strings.Contains(readme, strings.Trim(why, "`")):
			t.Errorf("%s: %s: README's \"Coming from k6\" does not list %q", source, input, why)
		case k6Accepts && err == nil:
			want, werr := fromK6(input, k6)
			if werr != nil {
				t.Errorf("%s: %s: %v", source, input, werr)
			} else if !sameThresholds(got, want) {
				t.Errorf("%s: %s: this check reads %v; k6's reading %q is %v here", source, input, got, k6, want)
			}
		}
	}
	if rows < 40 {
		t.Errorf("testdata/k6/thresholds.md has %d rows; the table is not being read", rows)
	}
}

// tableCells splits a Markdown table row, unquoting `code`.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
		return nil
	}
	cells := strings.Split(line[1:len(line)-1], " | ")
	for i, c := range cells {
		c = strings.TrimSpace(c)
		if strings.HasPrefix(c, "`") && strings.HasSuffix(c, "`") && len(c) > 1 {
			c = c[1 : len(c)-1]
		}
		cells[i] = strings.ReplaceAll(c, `\|`, "|")
	}
	return cells
}

// fromK6 turns k6's reading of a line ("p(95) < 500, p(99) < 1500": each
// expression's aggregation, operator and value) into this check's
// thresholds by k6's rules for the line's metric.
func fromK6(input, reading string) ([]verdict.Threshold, error) {
	key, _, _ := strings.Cut(input, ": ")
	metric, scopeText, _ := strings.Cut(strings.Trim(key, `'" `), "{")
	var out []verdict.Threshold
	if reading == "none" {
		return nil, nil
	}
	for _, expr := range strings.Split(reading, ", ") {
		fields := strings.Fields(expr)
		if len(fields) != 3 {
			return nil, fmt.Errorf("k6 reading %q: want AGGREGATION OP VALUE", expr)
		}
		agg, op, text := fields[0], fields[1], fields[2]
		value, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, err
		}
		th := verdict.Threshold{Op: verdict.Op(op), Source: "thresholds"}
		if op == "===" {
			th.Op = verdict.Equal
		}
		if target, ok := strings.CutPrefix(strings.TrimSuffix(scopeText, "}"), "target:"); ok {
			th.Target = target
		}
		switch metric {
		case "http_req_duration": // a trend of milliseconds
			th.Limit = value / 1000
			switch {
			case strings.HasPrefix(agg, "p("):
				th.Metric = verdict.Quantile
				if th.Percentile, err = strconv.ParseFloat(strings.Trim(agg, "p()"), 64); err != nil {
					return nil, err
				}
			default:
				th.Metric = map[string]verdict.Metric{"avg": verdict.Mean, "med": verdict.Median, "min": verdict.Min, "max": verdict.Max}[agg]
			}
		case "http_req_failed": // a rate: the fraction of requests that failed
			th.Metric, th.Limit = verdict.ErrorRate, value
		case "http_reqs": // a counter: count, and rate a second
			th.Metric, th.Limit = map[string]verdict.Metric{"count": verdict.Count, "rate": verdict.RequestRate}[agg], value
		default:
			return nil, fmt.Errorf("k6 metric %q has no counterpart here, yet the line is read", metric)
		}
		out = append(out, th)
	}
	return out, nil
}

func sameThresholds(got, want []verdict.Threshold) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Metric != w.Metric || g.Percentile != w.Percentile || g.Op != w.Op || g.Target != w.Target || g.Source != w.Source {
			return false
		}
		if d := g.Limit - w.Limit; d > 1e-9 || d < -1e-9 {
			return false
		}
	}
	return true
}

// FuzzTargetsAgainstVegeta reads vegeta's HTTP format with vegeta's parser
// and with this check's, and fails on a difference that README's "Coming
// from vegeta" does not list. Explore with
//
//	go test -run '^$' -fuzz '^FuzzTargetsAgainstVegeta$' -fuzztime 60s ./internal/config/
func FuzzTargetsAgainstVegeta(f *testing.F) {
	paths, _ := filepath.Glob("testdata/vegeta/*.txtar")
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if _, rest, ok := strings.Cut(string(raw), "-- targets --\n"); ok {
			text, _, _ := strings.Cut(rest, "\n-- ")
			f.Add(text)
		}
	}
	f.Add("GET http://h/\nX-A: 1\n\nPOST http://h/x\n# c\nContent-Type: a/b\n")
	f.Add("A http://0#")
	f.Add("A http://0\nhttp://0")
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Contains(text, "@") || strings.Contains(text, "{") {
			t.Skip("bodies read the disk; placeholders and JSON are other formats")
		}
		theirs, ours := readAsVegeta(text, false, ""), readAsThisCheck(text, "")
		theirsErr, oursErr := strings.HasPrefix(theirs, "error: "), strings.HasPrefix(ours, "error: ")
		switch {
		case theirsErr && oursErr:
		case !theirsErr && !oursErr:
			if ours != theirs && !methodLineInTarget(text) && !strings.Contains(text, "#") {
				t.Errorf("vegeta reads\n%s\nthis check reads\n%s", theirs, ours)
			}
		case theirsErr:
			// This check reads more than vegeta: bare URLs, several
			// spaces after the method, a #fragment (vegeta's
			// ParseRequestURI takes # for part of the host or path).
			if !bareURLLine(text) && !spacedTargetLine(text) && !strings.Contains(text, "#") {
				t.Errorf("vegeta refuses it (%s), this check reads\n%s", theirs, ours)
			}
		default:
			for _, listed := range []string{
				"carries credentials", "has no host", "is not an http or https URL", "has no scheme",
				"is not a URL", "has a bad port", "is not a token", "control character", "no space in the URL",
				"with a space between them", "is a JSON target among", "want METHOD URL", // the METHOD URL line rule
				"@name", "weight", "timeout", "@template", "group", "the name", // annotations
			} {
				if strings.Contains(ours, listed) {
					return
				}
			}
			t.Errorf("vegeta reads\n%s\nthis check refuses it, for a reason README does not list: %s", theirs, ours)
		}
	})
}

// methodLineInTarget reports whether a METHOD URL line follows a header or
// comment line of a target, or a bare URL line follows a target's line:
// vegeta reads either as a header.
func methodLineInTarget(text string) bool {
	inTarget, afterFirst := false, false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		bare := strings.HasPrefix(line, "http://") || strings.HasPrefix(line, "https://")
		starts := vegetaMethodLine(line) || bare
		switch {
		case line == "":
			inTarget, afterFirst = false, false
		case inTarget && (afterFirst && starts || bare):
			return true
		case inTarget:
			afterFirst = true
		case starts:
			inTarget = true
		}
	}
	return false
}

func vegetaMethodLine(line string) bool {
	i := 0
	for i < len(line) && line[i] >= 'A' && line[i] <= 'Z' {
		i++
	}
	return i > 0 && i < len(line) && strings.ContainsRune(" \t\n\v\f\r", rune(line[i]))
}

func bareURLLine(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "http://") || strings.HasPrefix(line, "https://") {
			return true
		}
	}
	return false
}

func spacedTargetLine(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if method, rest, ok := strings.Cut(line, " "); ok && vegetaMethodLine(method+" ") && strings.HasPrefix(rest, " ") {
			return true
		}
	}
	return false
}
