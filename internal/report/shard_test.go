package report

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// shardHealth is the health of one of three shards of 60/s: 20/s for
// 30 s, every request sent, send lag p99 lagP99.
func shardHealth(lagP99 time.Duration) load.Health {
	h := load.Health{Rate: vegeta.Rate{Freq: 20, Per: time.Second}, Elapsed: 30 * time.Second, Planned: 600, Sent: 600,
		LagP50: 300 * time.Microsecond, LagP99: lagP99, LagMax: 2 * lagP99}
	if lagP99 > load.MaxLagP99 {
		h.Late = 40
	}
	return h
}

// mergedShards is the merge of a deploy's three shards of 20/s each, the
// second of which fell behind: 1% of its requests left 250 ms late.
func mergedShards(t *testing.T) *Report {
	t.Helper()
	rep := deployScenario(nil).report(t)
	rep.Title = "merge of 3 shards"
	rep.Health.LagP99, rep.Health.LagMax, rep.Health.Late = 250*time.Millisecond, 500*time.Millisecond, 40
	for i, lag := range []time.Duration{900 * time.Microsecond, 250 * time.Millisecond, 800 * time.Microsecond} {
		rep.Shards = append(rep.Shards, ShardRun{Shard: Shard{Index: i + 1, Count: 3, Key: "8123456789-1"}, Health: shardHealth(lag),
			Requests: 600, RunID: rep.Deploy.RunID})
	}
	return rep
}

// shardJob is the second of three shards of a deploy, as its own job
// sees it: 20/s, with the deploy it followed.
func shardJob(t *testing.T) *Report {
	t.Helper()
	sc := deployScenario(nil)
	sc.interval = time.Second / 20
	rep := sc.report(t)
	rep.Shard = &Shard{Index: 2, Count: 3, Key: "8123456789-1"}
	return rep
}

// TestShardSummariesMatchGolden pins a merge's summary and a shard job's
// own.
func TestShardSummariesMatchGolden(t *testing.T) {
	t.Parallel()
	for name, report := range map[string]func(*testing.T) *Report{"shard-merge": mergedShards, "shard-job": shardJob} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			if err := WriteMarkdown(&b, report(t)); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "summary-"+name+".golden.md"), b.String())
		})
	}
}

func TestAShardThatFellBehindFailsTheMergeAndIsNamed(t *testing.T) {
	t.Parallel()
	rep := mergedShards(t)
	if !verdict.Passed(rep.Checks) || rep.Deploy.Failed() || len(rep.findings()) > 0 {
		t.Fatal("the merged figures fail on their own: the test would not tell the shard's part")
	}
	if got := rep.Verdict(); got != Fail {
		t.Errorf("verdict %s, want fail", got)
	}
	const reason = "shard 2 of 3 cannot vouch for its share: 1% of its requests left more than 250.0 ms late (the limit is 100.0 ms)"
	if got := rep.Reasons(); !slices.Contains(got, reason) {
		t.Errorf("reasons %q lack %q", got, reason)
	}
	for _, r := range rep.Reasons() {
		if strings.Contains(r, "shard 1 of 3") || strings.Contains(r, "shard 3 of 3") {
			t.Errorf("a shard that kept its schedule is blamed: %q", r)
		}
	}
	if got := rep.Headline(); !strings.HasPrefix(got, "fail: "+reason) {
		t.Errorf("headline %q, want the shard first", got)
	}

	t.Run("and the summary names it above the thresholds, open", func(t *testing.T) {
		var b strings.Builder
		if err := WriteMarkdown(&b, rep); err != nil {
			t.Fatal(err)
		}
		md := b.String()
		if !strings.Contains(md, "under 60/s split over 3 shards on 3 endpoints") {
			t.Errorf("the headline does not say the load was split:\n%s", md)
		}
		table, thresholds := strings.Index(md, "| shard | rate held |"), strings.Index(md, "**Thresholds**")
		if table < 0 || thresholds < 0 || table > thresholds {
			t.Fatalf("the shards' table is not above the thresholds:\n%s", md)
		}
		if details := strings.Index(md, "<details"); details >= 0 && details < table {
			t.Errorf("the shards' table is in a collapsed section:\n%s", md)
		}
		for _, row := range []string{
			"| 1 of 3 | 20/s of 20/s | 600 | 0 | ✓ kept its schedule |",
			"| 2 of 3 | 20/s of 20/s | 600 | 0 | **✗ fell behind** |",
			"| 3 of 3 | 20/s of 20/s | 600 | 0 | ✓ kept its schedule |",
		} {
			if !strings.Contains(md[table:thresholds], row) {
				t.Errorf("the shards' table lacks the row %q:\n%s", row, md)
			}
		}
		// The table explains the failure: the rest is collapsed, the
		// requests chart included, so the first screen holds it.
		if strings.Contains(md, "<details open>") || strings.Index(md, `title "Requests per second"`) < strings.Index(md, "<details><summary>Requests each second") {
			t.Errorf("a section is open below the shards' table:\n%s", md)
		}
		if !strings.Contains(md, "<details><summary>Shards: 3, each with its load generator's figures: <b>") {
			t.Errorf("the shards' own section does not say in its title that a shard fell behind:\n%s", md)
		}
	})

	t.Run("and keeps to a few rows in a large matrix", func(t *testing.T) {
		const header = "| shard | rate held | requests | failed | generator |\n|---|---|---|---|---|\n"
		tests := []struct {
			name   string
			behind []int // the shards, from 1, whose generator fell behind
			want   string
		}{
			{"every shard kept its schedule", nil, header +
				"| all 8 | 160/s of 160/s | 4,800 | 28 | ✓ each kept its schedule |\n"},
			{"one fell behind", []int{6}, header +
				"| 6 of 8 | 20/s of 20/s | 600 | 5 | **✗ fell behind** |\n" +
				"| the other 7 | 140/s of 140/s | 4,200 | 23 | ✓ each kept its schedule |\n"},
			{"more fell behind than there are rows", []int{2, 4, 7}, header +
				"| 2 of 8 | 20/s of 20/s | 600 | 1 | **✗ fell behind** |\n" +
				"| 4 of 8 | 20/s of 20/s | 600 | 3 | **✗ fell behind** |\n" +
				"| the other 6 | 120/s of 120/s | 3,600 | 24 | **✗ 1 of them could not vouch for their figures** |\n"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rep := mergedShards(t)
				rep.Shards = nil
				for i := range 8 {
					lag := 900 * time.Microsecond
					if slices.Contains(tt.behind, i+1) {
						lag = 250 * time.Millisecond
					}
					rep.Shards = append(rep.Shards, ShardRun{Shard: Shard{Index: i + 1, Count: 8}, Health: shardHealth(lag), Requests: 600, Failures: int64(i)})
				}
				var b strings.Builder
				if err := WriteMarkdown(&b, rep); err != nil {
					t.Fatal(err)
				}
				md := b.String()
				table := md[strings.Index(md, "| shard | rate held |"):strings.Index(md, "**Thresholds**")]
				if table != tt.want+"\n" {
					t.Errorf("the shards' table is\n%s\nwant\n%s", table, tt.want)
				}
				if got := strings.Count(md, "| 8 of 8 |"); got != 1 {
					t.Errorf("shard 8 is listed %d times, want once, in the Shards section", got)
				}
			})
		}
	})

	t.Run("unless fail-on-shortfall is off", func(t *testing.T) {
		rep := mergedShards(t)
		rep.FailOnShortfall = false
		if got := rep.Verdict(); got != Pass {
			t.Errorf("verdict %s, want pass (reasons %q)", got, rep.Reasons())
		}
	})

	t.Run("and one that could not build requests is named as well", func(t *testing.T) {
		rep := mergedShards(t)
		rep.Shards[1].Health = shardHealth(900 * time.Microsecond)
		rep.Shards[2].Health.BuildErrors, rep.Shards[2].Health.BuildError = 3, "template: no such file"
		if got := rep.Verdict(); got != Fail {
			t.Errorf("verdict %s, want fail", got)
		}
		if got := rep.Reasons(); len(got) != 1 || !strings.HasPrefix(got[0], "shard 3 of 3 cannot vouch for its share: 3 requests could not be built") {
			t.Errorf("reasons %q, want shard 3 alone", got)
		}
	})
}

func TestAShardJobSaysItJudgesNothing(t *testing.T) {
	t.Parallel()
	rep := shardJob(t)
	if got := rep.Verdict(); got != Sharded {
		t.Errorf("verdict %s, want %s", got, Sharded)
	}
	if got, want := rep.Headline(), "shard 2 of 3: 600 requests, 0 failed; the merge job judges the check"; got != want {
		t.Errorf("headline %q, want %q", got, want)
	}
	var b strings.Builder
	if err := WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	if md := b.String(); strings.Contains(md, "**Thresholds**") || !strings.Contains(md, "This job held share 2 of 3 (20/s)") {
		t.Errorf("a shard's summary judges, or does not say its share:\n%s", md)
	}
}
