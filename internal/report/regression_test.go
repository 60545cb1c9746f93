package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

func TestAWindowTooShortToCompareStillShowsItsErrorRate(t *testing.T) {
	t.Parallel()
	rep := slowerAfterDeploy(t)
	b, err := verdict.NewBaseline(verdict.WithMaxRegression(0.2))
	if err != nil {
		t.Fatal(err)
	}
	g := rep.Regression
	head := verdict.Sample{Name: "head", Requests: g.Tail.Errors.BaselineRequests}
	g.Tail.Errors = b.Errors(head, verdict.Sample{Name: "tail", Requests: 10, Failures: 3})
	if g.Tail.Errors.Decision != verdict.Inconclusive {
		t.Fatalf("decision %s, want the tail too short to compare", g.Tail.Errors.Decision)
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if row := "| tail | 10 | 30.00% |"; !strings.Contains(md.String(), row) {
		t.Errorf("the before / during / after table lacks %q:\n%s", row, md.String())
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Regression struct {
			Tail struct {
				Errors struct {
					WindowRate float64 `json:"window_rate"`
					Decision   string  `json:"decision"`
				} `json:"errors"`
			} `json:"tail"`
		} `json:"regression"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if e := got.Regression.Tail.Errors; e.WindowRate != 0.3 || e.Decision != "inconclusive" {
		t.Errorf("regression.tail.errors %+v, want window_rate 0.3, inconclusive", e)
	}
}

func TestAWindowNotComparedIsNullInTheJSONReport(t *testing.T) {
	t.Parallel()
	rep := slowerAfterDeploy(t)
	rep.Regression.Deploy = Shift{}
	var js bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Regression map[string]json.RawMessage `json:"regression"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if d := string(got.Regression["deploy"]); d != "null" {
		t.Errorf("regression.deploy = %s, want null", d)
	}
	if tail := string(got.Regression["tail"]); !strings.Contains(tail, `"decision": "regression"`) {
		t.Errorf("regression.tail = %s, want the tail's regression", tail)
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if row := "| deploy | — | — | — | — | — | — | not compared | — |"; !strings.Contains(md.String(), row) {
		t.Errorf("the before / during / after table lacks %q:\n%s", row, md.String())
	}
}
