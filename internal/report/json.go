package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/stats"
)

// JSONVersion is the version of the JSON report's layout; it changes when
// fields come, change meaning or go away. 3 added regression and
// window_start_s; 4 added connections[].endpoints, and a connection mode's
// longest_downtime_s became the longest of one endpoint.
const JSONVersion = 4

// jsonReport is the JSON report. Times ending in _s are seconds since the
// load started; latencies ending in _ms are milliseconds.
type jsonReport struct {
	Version      int              `json:"version"`
	Verdict      string           `json:"verdict"`
	Reasons      []string         `json:"reasons"`
	Inconclusive string           `json:"inconclusive,omitempty"`
	Recovered    bool             `json:"recovered"`
	Findings     []jsonFinding    `json:"findings"`
	StartedAt    time.Time        `json:"started_at"`
	ElapsedS     float64          `json:"elapsed_s"`
	Requests     int64            `json:"requests"`
	Failures     int64            `json:"failures"`
	ErrorRate    float64          `json:"error_rate"`
	LatencyMS    jsonLatency      `json:"latency_ms"`
	Thresholds   []jsonThreshold  `json:"thresholds"`
	Regression   *jsonRegression  `json:"regression"`
	Downtime     jsonDowntime     `json:"downtime"`
	Degraded     []jsonDegraded   `json:"degraded"`
	Modes        []jsonMode       `json:"connections"`
	Phases       []jsonPhase      `json:"phases"`
	Targets      []jsonTarget     `json:"targets"`
	Codes        map[string]int64 `json:"status_codes"`
	Errors       []jsonError      `json:"errors"`
	Versions     []jsonVersion    `json:"versions"`
	Generator    jsonGenerator    `json:"generator"`
	Deploy       *jsonDeploy      `json:"deploy"`
	Timeline     []jsonSecond     `json:"timeline"`
	Replay       *jsonReplay      `json:"replay,omitempty"`
	Compare      *jsonCompare     `json:"compare,omitempty"`
	// Shard, in a shard's report, is what the merge job reads.
	Shard *shardFile `json:"shard,omitempty"`
}

type jsonLatency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

type jsonThreshold struct {
	Expression string   `json:"expression"`
	Source     string   `json:"source"`
	Limit      float64  `json:"limit"`
	Observed   *float64 `json:"observed"` // null when it could not be measured
	Pass       bool     `json:"pass"`
	// WindowStartS is when the worst window of a windowed threshold
	// began; absent for the others.
	WindowStartS *float64 `json:"window_start_s,omitempty"`
}

// jsonDowntime is the longest span in which one endpoint got no
// successful answer, and the whole API's windows (no endpoint answering).
type jsonDowntime struct {
	LongestS      float64     `json:"longest_s"`
	Target        string      `json:"target"`
	FirstFailureS *float64    `json:"first_failure_s"`
	LastFailureS  *float64    `json:"last_failure_s"`
	Outage        jsonWindows `json:"outage"`
}

// jsonWindows sums up the windows of one stream of requests.
type jsonWindows struct {
	LongestS float64      `json:"longest_s"`
	TotalS   float64      `json:"total_s"`
	Windows  int64        `json:"windows"`
	Open     bool         `json:"open"`
	Listed   []jsonWindow `json:"listed"`
}

type jsonFinding struct {
	Endpoints []string `json:"endpoints"`
	All       bool     `json:"all_endpoints"`
	StartS    float64  `json:"start_s"`
	EndS      float64  `json:"end_s"`
	DurationS float64  `json:"duration_s"`
	Failures  int64    `json:"failures"`
	Classes   []string `json:"classes"`
	Codes     []uint16 `json:"status_codes"`
	Recovered bool     `json:"recovered"`
	Steps     []string `json:"deploy_steps"`
	Sentence  string   `json:"sentence"`
}

type jsonWindow struct {
	StartS    float64  `json:"start_s"`
	EndS      float64  `json:"end_s"`
	DurationS float64  `json:"duration_s"`
	Failures  int64    `json:"failures"`
	Classes   []string `json:"classes"`
	Codes     []uint16 `json:"status_codes"`
	Open      bool     `json:"open"`
	Steps     []string `json:"deploy_steps,omitempty"`
}

type jsonDegraded struct {
	StartS    float64 `json:"start_s"`
	EndS      float64 `json:"end_s"`
	Requests  int64   `json:"requests"`
	Failures  int64   `json:"failures"`
	WorstRate float64 `json:"worst_rate"`
}

type jsonMode struct {
	Name      string  `json:"name"`
	Requests  int64   `json:"requests"`
	Failures  int64   `json:"failures"`
	ErrorRate float64 `json:"error_rate"`
	P95MS     float64 `json:"p95_ms"`
	P99MS     float64 `json:"p99_ms"`
	// LongestS is the longest one endpoint's requests on this mode got
	// no successful answer.
	LongestS      float64 `json:"longest_downtime_s"`
	SilentRetries int64   `json:"silent_retries"`
	// Endpoints are each endpoint's share of the mode, in the order of
	// the targets.
	Endpoints []jsonModeEndpoint `json:"endpoints"`
}

type jsonModeEndpoint struct {
	Name          string  `json:"name"`
	Requests      int64   `json:"requests"`
	Failures      int64   `json:"failures"`
	ErrorRate     float64 `json:"error_rate"`
	LongestS      float64 `json:"longest_downtime_s"`
	SilentRetries int64   `json:"silent_retries"`
}

type jsonPhase struct {
	Name      string  `json:"name"`
	StartS    float64 `json:"start_s"`
	EndS      float64 `json:"end_s"`
	Requests  int64   `json:"requests"`
	Failures  int64   `json:"failures"`
	ErrorRate float64 `json:"error_rate"`
	P95MS     float64 `json:"p95_ms"`
	P99MS     float64 `json:"p99_ms"`
	DowntimeS float64 `json:"downtime_s"`
	OutageS   float64 `json:"outage_s"`
}

type jsonTarget struct {
	Name      string      `json:"name"`
	Requests  int64       `json:"requests"`
	Failures  int64       `json:"failures"`
	ErrorRate float64     `json:"error_rate"`
	LatencyMS jsonLatency `json:"latency_ms"`
	Downtime  jsonWindows `json:"downtime"`
}

type jsonError struct {
	Class   string `json:"class"`
	Meaning string `json:"meaning"`
	Count   int64  `json:"count"`
	Sample  string `json:"sample"`
}

type jsonVersion struct {
	Name     string  `json:"name"`
	FirstS   float64 `json:"first_answer_s"`
	LastS    float64 `json:"last_answer_s"`
	Requests int64   `json:"answers"`
	Failures int64   `json:"failed_answers"`
}

type jsonGenerator struct {
	RatePerS      float64 `json:"rate_per_s"`
	AchievedPerS  float64 `json:"achieved_per_s"`
	Scheduled     uint64  `json:"scheduled"`
	Sent          uint64  `json:"sent"`
	NotSent       uint64  `json:"not_sent"`
	Late          uint64  `json:"late"`
	LagP50MS      float64 `json:"send_lag_p50_ms"`
	LagP99MS      float64 `json:"send_lag_p99_ms"`
	LagMaxMS      float64 `json:"send_lag_max_ms"`
	Reliable      bool    `json:"reliable"`
	SilentRetries uint64  `json:"silent_retries"`
}

type jsonDeploy struct {
	Workflow          string     `json:"workflow"`
	RunID             int64      `json:"run_id"`
	Attempt           int        `json:"run_attempt"`
	URL               string     `json:"url"`
	Identified        string     `json:"identified"`
	Job               string     `json:"job,omitempty"`
	Status            string     `json:"status"`
	Conclusion        string     `json:"conclusion"`
	ConclusionMeaning string     `json:"conclusion_meaning,omitempty"`
	RateLimitWaits    int        `json:"rate_limit_waits"`
	RateLimitWaitedS  float64    `json:"rate_limit_waited_s"`
	DispatchedS       float64    `json:"dispatched_s"`
	CompletedS        *float64   `json:"completed_s"`
	DurationS         float64    `json:"duration_s"`
	Problem           string     `json:"problem,omitempty"`
	Steps             []jsonStep `json:"steps"`
}

type jsonStep struct {
	Job        string   `json:"job"`
	Name       string   `json:"name"`
	StartS     float64  `json:"start_s"`
	EndS       *float64 `json:"end_s"`
	Conclusion string   `json:"conclusion"`
}

type jsonSecond struct {
	TS            int              `json:"t_s"`
	Requests      int64            `json:"requests"`
	Failures      int64            `json:"failures"`
	Errors        map[string]int64 `json:"errors,omitempty"`
	SilentRetries int64            `json:"silent_retries,omitempty"`
	P50MS         float64          `json:"p50_ms"`
	P99MS         float64          `json:"p99_ms"`
	Versions      []string         `json:"versions,omitempty"`
}

// WriteJSON writes the JSON report; a shard's carries its part of the
// figures for the merge.
func WriteJSON(w io.Writer, r *Report) error {
	out := r.jsonReport()
	if r.Shard != nil {
		out.Shard = &shardFile{Shard: *r.Shard, Part: r.Summary.Part(), Health: r.Health, Deploy: r.Deploy}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Thresholds read as written: p(95)<300ms, not p(95)\u003c300ms.
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// ReadShard reads a shard's report file, as WriteJSON wrote it.
func ReadShard(rd io.Reader) (*ShardReport, error) {
	var file struct {
		Version int        `json:"version"`
		Shard   *shardFile `json:"shard"`
	}
	if err := json.NewDecoder(rd).Decode(&file); err != nil {
		return nil, err
	}
	if file.Shard == nil || file.Shard.Part == nil {
		return nil, errors.New("it is not a shard's report: it holds no \"shard\" part; run the shards with input shard: I/N")
	}
	if file.Version != JSONVersion {
		return nil, fmt.Errorf("its layout is version %d; this build reads %d: run the shards and the merge with the same version of the action", file.Version, JSONVersion)
	}
	return &ShardReport{Shard: file.Shard.Shard, Part: file.Shard.Part, Health: file.Shard.Health, Deploy: file.Shard.Deploy}, nil
}

func (r *Report) jsonReport() jsonReport {
	s := r.Summary
	out := jsonReport{
		Version:   JSONVersion,
		Verdict:   r.Verdict(),
		Reasons:   r.Reasons(),
		StartedAt: s.Start.UTC(),
		ElapsedS:  seconds(s.Elapsed),
		Requests:  s.Overall.Requests,
		Failures:  s.Overall.Failures,
		ErrorRate: s.Overall.ErrorRate(),
		LatencyMS: latencyMS(s.Overall.Latency()),
		Codes:     map[string]int64{},
	}
	if out.Reasons == nil {
		out.Reasons = []string{}
	}
	for _, c := range r.Checks {
		jt := jsonThreshold{Expression: c.String(), Source: c.Source, Limit: c.Limit, Pass: c.Pass}
		if !math.IsNaN(c.Observed) {
			observed := c.Observed
			jt.Observed = &observed
			if c.Window > 0 {
				start := seconds(c.WindowStart)
				jt.WindowStartS = &start
			}
		}
		out.Thresholds = append(out.Thresholds, jt)
	}
	out.Regression = r.jsonRegression()
	out.Recovered, out.Inconclusive = r.Recovered(), r.Inconclusive
	out.Downtime = jsonDowntime{LongestS: seconds(s.Downtime()), Outage: r.jsonWindows(s.Outage)}
	if worst := s.WorstTarget(); worst != nil {
		out.Downtime.Target = worst.Name
	}
	if s.Overall.Failures > 0 {
		first, last := seconds(s.FirstFailure), seconds(s.LastFailure)
		out.Downtime.FirstFailureS, out.Downtime.LastFailureS = &first, &last
	}
	out.Findings = []jsonFinding{}
	for _, f := range r.findings() {
		jf := jsonFinding{Endpoints: f.Targets, All: f.All, StartS: seconds(f.Start), EndS: seconds(f.End), DurationS: seconds(f.Duration()),
			Failures: f.Failures, Codes: f.Codes, Recovered: !f.Open, Steps: f.Steps, Sentence: r.sentence(f)}
		if jf.Endpoints == nil {
			jf.Endpoints = []string{}
		}
		if jf.Steps == nil {
			jf.Steps = []string{}
		}
		for _, c := range f.Classes {
			jf.Classes = append(jf.Classes, c.String())
		}
		out.Findings = append(out.Findings, jf)
	}
	for _, d := range s.Degraded {
		out.Degraded = append(out.Degraded, jsonDegraded{StartS: seconds(d.Start), EndS: seconds(d.End), Requests: d.Requests, Failures: d.Failures, WorstRate: d.WorstRate})
	}
	for i, m := range s.Modes {
		l := m.Latency()
		jm := jsonMode{Name: m.Name, Requests: m.Requests, Failures: m.Failures, ErrorRate: m.ErrorRate(),
			P95MS: ms(l.P95), P99MS: ms(l.P99), LongestS: seconds(m.Down.Longest), SilentRetries: m.SilentRetries, Endpoints: []jsonModeEndpoint{}}
		for _, t := range s.Targets {
			if i < len(t.Modes) {
				share := t.Modes[i]
				jm.Endpoints = append(jm.Endpoints, jsonModeEndpoint{Name: t.Name, Requests: share.Requests, Failures: share.Failures,
					ErrorRate: share.ErrorRate(), LongestS: seconds(share.Down.Longest), SilentRetries: share.SilentRetries})
			}
		}
		out.Modes = append(out.Modes, jm)
	}
	for _, p := range s.Phases {
		l := p.Latency()
		out.Phases = append(out.Phases, jsonPhase{Name: p.Name, StartS: seconds(p.Start), EndS: seconds(p.End), Requests: p.Requests, Failures: p.Failures,
			ErrorRate: p.ErrorRate(), P95MS: ms(l.P95), P99MS: ms(l.P99), DowntimeS: seconds(p.Downtime), OutageS: seconds(p.Outage)})
	}
	for _, t := range s.Targets {
		out.Targets = append(out.Targets, jsonTarget{Name: t.Name, Requests: t.Requests, Failures: t.Failures, ErrorRate: t.ErrorRate(),
			LatencyMS: latencyMS(t.Latency()), Downtime: r.jsonWindows(t.Down)})
	}
	for _, c := range s.Codes {
		out.Codes[strconv.Itoa(int(c.Code))] = c.Count
	}
	for _, e := range s.Errors {
		out.Errors = append(out.Errors, jsonError{Class: e.Class.String(), Meaning: e.Class.Meaning(), Count: e.Count, Sample: sample(e.Sample)})
	}
	for _, v := range s.Versions {
		out.Versions = append(out.Versions, jsonVersion{Name: v.Name, FirstS: seconds(v.First), LastS: seconds(v.Last), Requests: v.Requests, Failures: v.Failures})
	}
	h := r.Health
	out.Generator = jsonGenerator{
		RatePerS: float64(h.Rate.Freq) / h.Rate.Per.Seconds(), AchievedPerS: h.AchievedRate(),
		Scheduled: h.Planned, Sent: h.Sent, NotSent: h.Unsent(), Late: h.Late,
		LagP50MS: ms(h.LagP50), LagP99MS: ms(h.LagP99), LagMaxMS: ms(h.LagMax),
		Reliable: h.Reliable(), SilentRetries: h.SilentRetries,
	}
	if d := r.Deploy; d != nil {
		jd := &jsonDeploy{Workflow: d.Workflow, RunID: d.RunID, Attempt: d.Attempt, URL: d.URL, Identified: d.Identified, Job: d.Job,
			Status: d.Status, Conclusion: d.Conclusion, ConclusionMeaning: d.ConclusionMeaning,
			RateLimitWaits: d.RateLimitWaits, RateLimitWaitedS: seconds(d.RateLimitWaited),
			DispatchedS: seconds(d.Dispatched), DurationS: seconds(d.Duration), Problem: d.Problem, Steps: []jsonStep{}}
		if d.Completed > 0 {
			c := seconds(d.Completed)
			jd.CompletedS = &c
		}
		for _, st := range d.Steps {
			js := jsonStep{Job: st.Job, Name: st.Name, StartS: seconds(st.Start), Conclusion: st.Conclusion}
			if st.End > 0 {
				e := seconds(st.End)
				js.EndS = &e
			}
			jd.Steps = append(jd.Steps, js)
		}
		out.Deploy = jd
	}
	out.Replay, out.Compare = r.jsonReplay(), r.jsonCompare()
	for i, sec := range s.Seconds {
		js := jsonSecond{TS: i, Requests: sec.Requests, Failures: sec.Failures, SilentRetries: sec.SilentRetries, P50MS: ms(sec.P50), P99MS: ms(sec.P99)}
		for c, n := range sec.ByClass {
			if n > 0 {
				if js.Errors == nil {
					js.Errors = map[string]int64{}
				}
				js.Errors[stats.Class(c).String()] = n
			}
		}
		for v, version := range s.Versions {
			if sec.Versions&(1<<uint(v)) != 0 {
				js.Versions = append(js.Versions, version.Name)
			}
		}
		out.Timeline = append(out.Timeline, js)
	}
	return out
}

func latencyMS(l stats.Latency) jsonLatency {
	return jsonLatency{P50: ms(l.P50), P90: ms(l.P90), P95: ms(l.P95), P99: ms(l.P99), Max: ms(l.Max), Mean: ms(l.Mean)}
}

func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}

func ms(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}

func (r *Report) jsonWindows(w stats.Windows) jsonWindows {
	out := jsonWindows{LongestS: seconds(w.Longest), TotalS: seconds(w.Total), Windows: w.Count, Open: w.Open, Listed: []jsonWindow{}}
	for _, win := range w.List {
		jw := jsonWindow{StartS: seconds(win.Start), EndS: seconds(win.End), DurationS: seconds(win.Duration()), Failures: win.Failures,
			Codes: win.Codes, Open: win.Open, Steps: r.Deploy.stepsAt(win.Start)}
		for _, c := range win.Classes {
			jw.Classes = append(jw.Classes, c.String())
		}
		out.Listed = append(out.Listed, jw)
	}
	return out
}
