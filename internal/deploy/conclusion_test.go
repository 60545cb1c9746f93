package deploy

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// documentedConclusions are the conclusions GitHub's REST API documents for
// workflow runs and jobs, and the check suite's startup_failure.
var documentedConclusions = []string{"success", "failure", "cancelled", "timed_out", "action_required", "stale", "startup_failure", "skipped", "neutral"}

func TestDescribeConclusionGivesEachItsOwnSentence(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	seen := map[string]string{}
	for _, c := range append(documentedConclusions, "", "exploded") {
		got := DescribeConclusion(c)
		fmt.Fprintf(&b, "%q: %s\n", c, got)
		if first := []rune(got)[0]; !unicode.IsLower(first) || strings.ContainsAny(got, "\n") {
			t.Errorf("DescribeConclusion(%q) = %q, want one lower-case line", c, got)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("conclusions %q and %q share the sentence %q", other, c, got)
		}
		seen[got] = c
	}
	if got := DescribeConclusion("exploded"); !strings.Contains(got, `"exploded"`) {
		t.Errorf("an undocumented conclusion is not quoted: %q", got)
	}
	golden := filepath.Join("testdata", "conclusions.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != b.String() {
		t.Errorf("the sentences changed; check them and run go test -update:\n%s\nwant:\n%s", b.String(), want)
	}
}
