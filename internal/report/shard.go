package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
)

// Sharded is the verdict of a shard's own job: it holds a share of the
// load and judges nothing; the merge job judges the whole.
const Sharded = "shard"

// Shard is a job's share of a check split over a job matrix.
type Shard struct {
	Index int    `json:"index"`
	Count int    `json:"count"`
	Key   string `json:"key"`
	// Groups are the target groups, by the targets' indexes, so that the
	// merge judges group thresholds as the shards recorded them.
	Groups map[string][]int `json:"groups,omitempty"`
}

// ShardRun is one shard as the merge job shows it.
type ShardRun struct {
	Shard
	Health             load.Health
	Requests, Failures int64
	RunID              int64
}

// shardFile is what a shard's report file carries for the merge, beside
// the report: its part of the figures, its generator's health and the
// deploy it followed.
type shardFile struct {
	Shard
	Part   *stats.Part `json:"part"`
	Health load.Health `json:"health"`
	Deploy *Deploy     `json:"deploy"`
}

// ShardReport is a shard's report file as the merge reads it.
type ShardReport struct {
	Shard  Shard
	Part   *stats.Part
	Health load.Health
	Deploy *Deploy
}

// writeShard writes a shard job's own summary: its share, and that the
// merge judges.
func (r *Report) writeShard(b *strings.Builder) {
	sh, s := r.Shard, r.Summary
	if r.Verdict() == Fail {
		fmt.Fprintf(b, "## ❌ Deploy load check — shard %d of %d: fail\n\n", sh.Index, sh.Count)
	} else {
		fmt.Fprintf(b, "## 🧩 Deploy load check — shard %d of %d\n\n", sh.Index, sh.Count)
	}
	fmt.Fprintf(b, "This job held share %d of %d (%s) on %s for %s: %s, %s failed · %s. Its report goes to the merge job, which judges the whole check; key `%s`.\n\n",
		sh.Index, sh.Count, rateText(r.Health.Rate), plural(int64(max(1, len(s.Targets))), "endpoint"), span(s.Elapsed),
		plural(s.Overall.Requests, "request"), count(s.Overall.Failures), r.origin(), code(sh.Key))
	if d := r.Deploy; d != nil {
		switch {
		case d.Problem != "":
			fmt.Fprintf(b, "- Deploy: %s\n", escape(d.Problem))
		case d.RunID != 0:
			fmt.Fprintf(b, "- Deploy: [run %d](%s), %s\n", d.RunID, d.URL, or(d.Conclusion, d.Status))
		}
	}
	told, left := r.told()
	for _, f := range told {
		fmt.Fprintf(b, "- %s (as this shard saw it).\n", r.markdownSentence(f))
	}
	if left > 0 {
		fmt.Fprintf(b, "- _and %s._\n", plural(int64(left), "shorter disruption"))
	}
	if problem := r.Health.Problem(); problem != "" {
		fmt.Fprintf(b, "\n> [!WARNING]\n> This shard's load generator cannot vouch for its figures: %s. The merge fails the check for it.\n", escape(problem))
	}
	b.WriteString("\n")
}

// maxShardRows bounds the rows of the shards' table above the
// thresholds, so that it keeps to the first screen whatever the matrix.
const maxShardRows = 3

// writeShards lists a merge's shards above the merged figures, open: the
// rate each held, its requests and failures, and whether its generator
// kept its schedule, which decides whether the merge may count its share.
// Up to maxShardRows shards get a row each; beyond, the shards that could
// not vouch for their figures do, first, and the rest share the last row.
// The headline says the load was split; the Shards section below lists
// every shard.
func (r *Report) writeShards(b *strings.Builder) {
	if len(r.Shards) == 0 {
		return
	}
	b.WriteString("| shard | rate held | requests | failed | generator |\n|---|---|---|---|---|\n")
	rows, rest := r.Shards, []ShardRun(nil)
	if len(r.Shards) > maxShardRows {
		rows = nil
		for _, sh := range r.Shards {
			if !sh.Health.Reliable() && len(rows) < maxShardRows-1 {
				rows = append(rows, sh)
			} else {
				rest = append(rest, sh)
			}
		}
	}
	for _, sh := range rows {
		h := sh.Health
		fmt.Fprintf(b, "| %d of %d | %s of %s | %s | %s | %s |\n", sh.Index, sh.Count, perSecond(h.AchievedRate()), rateText(h.Rate),
			count(sh.Requests), count(sh.Failures), generatorState(h))
	}
	if len(rest) > 0 {
		var achieved, asked float64
		var requests, failures, behind int64
		for _, sh := range rest {
			h := sh.Health
			achieved += h.AchievedRate()
			if h.Rate.Per > 0 {
				asked += float64(h.Rate.Freq) / h.Rate.Per.Seconds()
			}
			requests, failures = requests+sh.Requests, failures+sh.Failures
			if !h.Reliable() {
				behind++
			}
		}
		who := fmt.Sprintf("the other %d", len(rest))
		if len(rows) == 0 {
			who = fmt.Sprintf("all %d", len(rest))
		}
		state := "✓ each kept its schedule"
		if behind > 0 {
			state = fmt.Sprintf("**✗ %d of them could not vouch for their figures**", behind)
		}
		fmt.Fprintf(b, "| %s | %s of %s | %s | %s | %s |\n", who, perSecond(achieved), perSecond(asked), count(requests), count(failures), state)
	}
	b.WriteString("\n")
}

// writeShardDetails lists every shard of a merge with its generator's
// figures, and how the merge counts.
func (r *Report) writeShardDetails(b *strings.Builder, open bool) {
	if len(r.Shards) == 0 {
		return
	}
	title := fmt.Sprintf("Shards: %d, each with its load generator's figures", len(r.Shards))
	if slices.ContainsFunc(r.Shards, func(sh ShardRun) bool { return !sh.Health.Reliable() }) {
		title += ": <b>a shard's load generator could not vouch for its figures</b>"
	}
	details(b, title, open)
	b.WriteString("| shard | rate asked | rate sent | held | requests | failed | send lag p99 | generator |\n|---|---|---|---|---|---|---|---|\n")
	for _, sh := range r.Shards {
		h := sh.Health
		state := "kept its schedule"
		if problem := h.Problem(); problem != "" {
			state = "**" + escape(problem) + "**"
		}
		fmt.Fprintf(b, "| %d of %d | %s | %s | %s | %s | %s | %s | %s |\n", sh.Index, sh.Count, rateText(h.Rate), perSecond(h.AchievedRate()),
			percent(h.Held()), count(sh.Requests), count(sh.Failures), latency(h.LagP99), state)
	}
	b.WriteString("\nHistograms, counts and seconds are merged exactly; an endpoint counts as down only where every shard that asked it got no answer, from the last answer any shard got to the next.\n\n")
	endDetails(b)
}

// generatorState says in a few words whether a generator kept its
// schedule; the reasons say how it did not.
func generatorState(h load.Health) string {
	var problems []string
	if h.FellBehind() {
		problems = append(problems, "fell behind")
	}
	if h.BuildErrors > 0 {
		problems = append(problems, "requests not built")
	}
	if len(problems) == 0 {
		return "✓ kept its schedule"
	}
	return "**✗ " + andList(problems) + "**"
}

// shardReasons names the shards whose generator fell behind: each fails
// the check as it would alone.
func (r *Report) shardReasons() []string {
	var out []string
	for _, sh := range r.Shards {
		if problem := sh.Health.Problem(); problem != "" && r.FailOnShortfall {
			out = append(out, fmt.Sprintf("shard %d of %d cannot vouch for its share: %s", sh.Index, sh.Count, problem))
		}
	}
	return out
}
