package main

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
)

// action.yml is the contract with users: these tests hold the outputs the
// action sets and the README's tables to it, by name.

func TestTheOutputsAreTheOnesActionYMLDeclares(t *testing.T) {
	t.Parallel()
	spec, err := config.ParseSpec(actionYML)
	if err != nil {
		t.Fatal(err)
	}
	var declared, set []string
	for _, o := range spec.Outputs {
		declared = append(declared, o.Name)
	}
	start := time.Now()
	rep := &report.Report{Summary: stats.NewRecorder(start, []string{"GET /"}, stats.Options{}).Close(start), Deploy: &report.Deploy{}}
	for _, o := range rep.Outputs() {
		set = append(set, o.Name)
	}
	slices.Sort(declared)
	slices.Sort(set)
	if diff := cmp.Diff(declared, set); diff != "" {
		t.Errorf("outputs set (+) against action.yml's (-):\n%s", diff)
	}
}

func TestTheREADMETablesMatchActionYML(t *testing.T) {
	t.Parallel()
	spec, err := config.ParseSpec(actionYML)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)

	inputs := tableRows(t, readme, "## Inputs")
	var want, got []string
	for _, in := range spec.Inputs {
		want = append(want, in.Name+" = "+in.Default)
	}
	for _, row := range inputs {
		if len(row) < 2 {
			t.Fatalf("inputs table row %q has no default column", row)
		}
		def := strings.Trim(row[1], "`")
		if def == "—" {
			def = ""
		}
		got = append(got, strings.Trim(row[0], "`")+" = "+def)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("README's inputs table (+) against action.yml's inputs and defaults (-), in order:\n%s", diff)
	}

	want, got = nil, nil
	for _, out := range spec.Outputs {
		want = append(want, out.Name)
	}
	for _, row := range tableRows(t, readme, "## Outputs") {
		got = append(got, strings.Trim(row[0], "`"))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("README's outputs table (+) against action.yml's outputs (-), in order:\n%s", diff)
	}
}

// tableRows returns the cells of the first table after heading, without
// its header and rule.
func tableRows(t *testing.T, markdown, heading string) [][]string {
	t.Helper()
	_, after, ok := strings.Cut(markdown, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README has no %q section", heading)
	}
	var rows [][]string
	inTable := false
	for _, line := range strings.Split(after, "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	if len(rows) < 3 {
		t.Fatalf("README's %q section has no table", heading)
	}
	return rows[2:]
}
