package check

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/glob"
	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// Merge judges a check whose load was split over the jobs of a matrix,
// from the report files of its shards (cfg.Merge): no load is sent and
// nothing dispatched. Every threshold is judged on the merged figures; a
// shard whose generator fell behind fails the check as it would alone. A
// set of reports that is not one whole check (shards missing, from
// another check, or recorded with other thresholds) is a *config.Error.
func Merge(cfg *config.Config, deps Deps) (*report.Report, error) {
	if deps.Log == nil {
		deps.Log = io.Discard
	}
	shards, err := readShards(cfg.Merge)
	if err != nil {
		return nil, err
	}
	parts := make([]*stats.Part, len(shards))
	for i, sh := range shards {
		parts[i] = sh.Part
	}
	summary, err := stats.Merge(parts, cfg.DegradedErrorRate)
	if err != nil {
		return nil, &config.Error{Input: "merge", Err: fmt.Errorf("%q: %w", cfg.Merge, err)}
	}
	names := make([]string, len(summary.Targets))
	for i, t := range summary.Targets {
		names[i] = t.Name
	}
	groups := shards[0].Shard.Groups
	if err := knownNames(cfg.Thresholds, names, groups); err != nil {
		return nil, err
	}
	judge := newJudge(cfg, names, groups)
	if missing := judge.missing(summary); len(missing) > 0 {
		return nil, &config.Error{Input: "thresholds", Err: fmt.Errorf("the shards did not keep what %s judges; give the shards the same thresholds and max-regression as the merge job", quoteAll(missing))}
	}
	rep := &report.Report{Summary: summary, FailOnShortfall: cfg.FailOnShortfall, Health: mergedHealth(shards)}
	rep.Title = fmt.Sprintf("merge of %d shards", len(shards))
	for _, sh := range shards {
		rep.Shards = append(rep.Shards, report.ShardRun{Shard: sh.Shard, Health: sh.Health, Requests: sh.Part.Overall.Requests,
			Failures: sh.Part.Overall.Failures, RunID: runID(sh.Deploy)})
	}
	rep.Deploy = mergedDeploy(shards, summary.Start)
	rep.Checks = judge.checks(summary)
	rep.Regression = judge.regression(summary)
	rep.Inconclusive, rep.Unjudged = judge.inconclusive(summary, rep.Checks, rep.Regression)
	fmt.Fprintf(deps.Log, "merge: %d shards, %d requests\n", len(shards), summary.Overall.Requests)
	return rep, nil
}

// readShards reads the reports the glob names ("**" standing for any
// number of directories): one whole check, every shard once.
func readShards(pattern string) ([]*report.ShardReport, error) {
	bad := func(format string, args ...any) error {
		return &config.Error{Input: "merge", Err: fmt.Errorf(format, args...)}
	}
	files, err := glob.Files(pattern)
	if err != nil || len(files) == 0 {
		return nil, bad("%q matches no file", pattern)
	}
	var shards []*report.ShardReport
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			return nil, bad("%q: %v", file, err)
		}
		sh, err := report.ReadShard(f)
		f.Close()
		if err != nil {
			return nil, bad("%q: %v", file, err)
		}
		shards = append(shards, sh)
	}
	slices.SortFunc(shards, func(a, b *report.ShardReport) int { return cmp.Compare(a.Shard.Index, b.Shard.Index) })
	first := shards[0].Shard
	for i, sh := range shards {
		switch {
		case sh.Shard.Key != first.Key:
			return nil, bad("%q holds shards of two checks, keys %q and %q; give each check's merge its own pattern", pattern, first.Key, sh.Shard.Key)
		case sh.Shard.Count != first.Count:
			return nil, bad("%q holds shards of %d and of %d; one check's shards share their N", pattern, first.Count, sh.Shard.Count)
		case sh.Shard.Index != i+1:
			return nil, bad("%q lacks shard %d of %d (or holds one twice); upload every shard's report, each under its own name", pattern, i+1, first.Count)
		}
	}
	if len(shards) != first.Count {
		return nil, bad("%q holds %d of the %d shards' reports; upload every shard's report, each under its own name", pattern, len(shards), first.Count)
	}
	return shards, nil
}

// knownNames checks that the thresholds name the shards' targets and
// groups.
func knownNames(thresholds []verdict.Threshold, names []string, groups map[string][]int) error {
	for _, t := range thresholds {
		if t.Target != "" && !slices.Contains(names, t.Target) {
			return &config.Error{Input: "thresholds", Err: fmt.Errorf("%q: the shards have no target named %q; their targets are %s", t.String(), t.Target, quoteAll(names))}
		}
		if _, ok := groups[t.Group]; t.Group != "" && !ok {
			return &config.Error{Input: "thresholds", Err: fmt.Errorf("%q: the shards put no target in a group named %q", t.String(), t.Group)}
		}
	}
	return nil
}

func quoteAll(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(quoted, ", ")
}

// mergedHealth is the shards' generators together: the whole rate, what
// they sent and scheduled, their worst lag.
func mergedHealth(shards []*report.ShardReport) load.Health {
	var h load.Health
	for _, sh := range shards {
		s := sh.Health
		h.Planned += s.Planned
		h.Sent += s.Sent
		h.Late += s.Late
		h.LagP50 = max(h.LagP50, s.LagP50)
		h.LagP99 = max(h.LagP99, s.LagP99)
		h.LagMax = max(h.LagMax, s.LagMax)
		h.Elapsed = max(h.Elapsed, s.Elapsed)
		h.SilentRetries += s.SilentRetries
		h.BuildErrors += s.BuildErrors
		h.BuildError = cmp.Or(h.BuildError, s.BuildError)
		h.Workers += s.Workers
	}
	if r := shards[0].Health.Rate; r.Freq > 0 {
		h.Rate = r
		h.Rate.Per /= time.Duration(len(shards))
	}
	return h
}

// mergedDeploy is the deploy as the first shard, which dispatched it,
// followed it, on the merged timeline; a shard that followed another run
// is a problem.
func mergedDeploy(shards []*report.ShardReport, start time.Time) *report.Deploy {
	first := shards[0]
	if first.Deploy == nil {
		return nil
	}
	d := *first.Deploy
	shift := first.Part.Start.Sub(start)
	d.Dispatched += shift
	if d.Completed > 0 {
		d.Completed += shift
	}
	d.Steps = slices.Clone(d.Steps)
	for i := range d.Steps {
		d.Steps[i].Start += shift
		if d.Steps[i].End > 0 {
			d.Steps[i].End += shift
		}
	}
	var problems []string
	for _, sh := range shards[1:] {
		switch other := runID(sh.Deploy); {
		case sh.Deploy != nil && sh.Deploy.Problem != "":
			problems = append(problems, fmt.Sprintf("shard %d of %d: %s", sh.Shard.Index, sh.Shard.Count, sh.Deploy.Problem))
		case other != d.RunID:
			problems = append(problems, fmt.Sprintf("shard %d of %d followed run %d, not run %d that shard 1 dispatched", sh.Shard.Index, sh.Shard.Count, other, d.RunID))
		}
	}
	if len(problems) > 0 {
		if d.Problem != "" {
			problems = append([]string{d.Problem}, problems...)
		}
		d.Problem = strings.Join(problems, "; ")
	}
	return &d
}

func runID(d *report.Deploy) int64 {
	if d == nil {
		return 0
	}
	return d.RunID
}
