// Package verdict parses thresholds, checks a run against them and
// explains the outcome.
package verdict

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Metric is what a threshold limits.
type Metric uint8

// Metrics a threshold can name.
const (
	Quantile    Metric = iota + 1 // p(N): latency below which N% of requests completed
	Mean                          // avg: mean latency
	Median                        // med: p(50)
	Max                           // max: slowest request
	ErrorRate                     // error_rate: failed requests / requests
	Downtime                      // downtime: longest span without a successful request
	Min                           // min: fastest request
	Count                         // count: requests sent (k6's http_reqs count)
	RequestRate                   // request_rate: requests a second (k6's http_reqs rate)
)

// Op compares the observed value with the limit.
type Op string

// Comparison operators, as in k6 thresholds (k6's === is ==).
const (
	Less      Op = "<"
	LessEq    Op = "<="
	Greater   Op = ">"
	GreaterEq Op = ">="
	Equal     Op = "=="
	NotEqual  Op = "!="
)

// Threshold is one limit: Metric Op Limit.
type Threshold struct {
	Metric     Metric
	Percentile float64 // for Quantile: 0 <= Percentile <= 100 (p(0) is the fastest request)
	Op         Op
	// Limit is in seconds for latency and downtime, a fraction for
	// error_rate, requests for count and requests a second for
	// request_rate.
	Limit  float64
	Source string // where it came from: an input name, or "thresholds"
	Target string // the target it limits; "" for the whole run
	// Group, Phase and Successful narrow it further: to the targets of a
	// group, to one phase of the deploy timeline, to the latency of
	// successful requests (k6's {expected_response:true}).
	Group      string
	Phase      string
	Successful bool
	// Window, when set, judges the worst sliding window of that many whole
	// seconds rather than the whole run (or phase).
	Window time.Duration
}

// Scoped reports whether the threshold is limited to less than the whole
// run.
func (t Threshold) Scoped() bool {
	return t.Target != "" || t.Group != "" || t.Phase != "" || t.Successful
}

// Observed is what a run offers to be judged by.
type Observed interface {
	Quantile(q float64) time.Duration // q in [0, 1]; 0 is the fastest request
	Mean() time.Duration
	Max() time.Duration
	ErrorRate() float64
	Downtime() time.Duration
}

// Counted is an Observed that also knows how many requests it holds; count
// and request_rate thresholds are judged on it. Against an Observed without
// it they fail, as not measured.
type Counted interface {
	RequestCount() int64
	RequestRate() float64 // requests a second over the load
}

// Check is a threshold with the value observed and whether it held.
// Observed is NaN when the run did not measure the threshold's metric.
type Check struct {
	Threshold
	Observed float64
	Pass     bool
	// WindowStart is when the worst window began, since the start of the
	// load, for a threshold with a Window. WindowLength is how long it
	// was: the Window, or less when the run (or the phase the threshold
	// names) was shorter than the Window and was judged as one window, all
	// of it, as WholeSpan reports.
	WindowStart, WindowLength time.Duration
}

// WholeSpan reports whether a windowed threshold's run (or phase) was
// shorter than its window and was judged as one window, all of it.
func (c Check) WholeSpan() bool {
	return c.Window > 0 && c.WindowLength < c.Window && !math.IsNaN(c.Observed)
}

// Evaluate checks each threshold against what observe returns for it: the
// whole run, or the target, group or phase it is limited to (nil when the
// run has none such, which fails as not measured).
func Evaluate(thresholds []Threshold, observe func(Threshold) Observed) []Check {
	checks := make([]Check, 0, len(thresholds))
	for _, t := range thresholds {
		check := Check{Threshold: t, Observed: math.NaN()}
		if observed := observe(t); observed != nil {
			if t.Window > 0 {
				check.Observed, check.WindowStart, check.WindowLength = t.worstWindow(observed)
			} else {
				check.Observed = t.observe(observed)
			}
		}
		check.Pass = t.holds(check.Observed)
		checks = append(checks, check)
	}
	return checks
}

// Passed reports whether every check held.
func Passed(checks []Check) bool {
	for _, c := range checks {
		if !c.Pass {
			return false
		}
	}
	return true
}

func (t Threshold) observe(o Observed) float64 {
	switch t.Metric {
	case Quantile:
		return o.Quantile(t.Percentile / 100).Seconds()
	case Median:
		return o.Quantile(0.5).Seconds()
	case Min:
		return o.Quantile(0).Seconds()
	case Mean:
		return o.Mean().Seconds()
	case Max:
		return o.Max().Seconds()
	case ErrorRate:
		return o.ErrorRate()
	case Downtime:
		return o.Downtime().Seconds()
	case Count, RequestRate:
		c, ok := o.(Counted)
		if !ok {
			return math.NaN()
		}
		if t.Metric == Count {
			return float64(c.RequestCount())
		}
		return c.RequestRate()
	}
	return math.NaN()
}

// holds compares; a value not measured (NaN) never holds.
func (t Threshold) holds(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch t.Op {
	case Less:
		return v < t.Limit
	case LessEq:
		return v <= t.Limit
	case Greater:
		return v > t.Limit
	case GreaterEq:
		return v >= t.Limit
	case Equal:
		return v == t.Limit
	case NotEqual:
		return v != t.Limit
	}
	return false
}

// Name is the metric as written in a threshold: p(95), error_rate, ...
func (t Threshold) Name() string {
	switch t.Metric {
	case Quantile:
		return "p(" + strconv.FormatFloat(t.Percentile, 'f', -1, 64) + ")"
	case Mean:
		return "avg"
	case Median:
		return "med"
	case Min:
		return "min"
	case Max:
		return "max"
	case ErrorRate:
		return "error_rate"
	case Downtime:
		return "downtime"
	case Count:
		return "count"
	case RequestRate:
		return "request_rate"
	}
	return "?"
}

// String writes the threshold back in the syntax the thresholds input
// reads, with its target, scope and window.
func (t Threshold) String() string {
	return t.Subject() + string(t.Op) + t.Format(t.Limit)
}

// Subject is what the threshold limits, as written: its target, metric,
// scope and window, such as "search: p(99){phase:deploy}[10s]".
func (t Threshold) Subject() string {
	subject := t.Name() + t.scopeText()
	if t.Target != "" {
		return t.Target + ": " + subject
	}
	return subject
}

// Format writes a value of the threshold's metric: a duration, a
// percentage, a number of requests or requests a second. A value not
// measured (NaN) is "not measured".
func (t Threshold) Format(v float64) string {
	if math.IsNaN(v) {
		return "not measured"
	}
	switch t.Metric {
	case ErrorRate:
		return FormatPercent(v)
	case Count:
		return formatNumber(v)
	case RequestRate:
		return formatNumber(math.Round(v*1000)/1000) + "/s"
	}
	return FormatSeconds(v)
}

func formatNumber(v float64) string {
	if math.Abs(v) < 1e21 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// FormatPercent writes a fraction as a percentage with up to three decimals.
func FormatPercent(f float64) string {
	return strconv.FormatFloat(math.Round(f*100*1000)/1000, 'f', -1, 64) + "%"
}

// FormatSeconds writes seconds as a readable duration: 412µs, 412.3ms,
// 1.25s, 2m5s, 0s. A value that rounds up to the next unit takes it (999.96ms
// is 1s).
func FormatSeconds(s float64) string {
	if s <= 0 || math.IsNaN(s) {
		return "0s"
	}
	if us := math.Round(s * 1e6); us < 1000 {
		return strconv.FormatFloat(us, 'f', -1, 64) + "µs"
	}
	if ms := math.Round(s*1e4) / 10; ms < 1000 {
		return strconv.FormatFloat(ms, 'f', -1, 64) + "ms"
	}
	if sec := math.Round(s*100) / 100; sec < 60 {
		return strconv.FormatFloat(sec, 'f', -1, 64) + "s"
	}
	// time.Duration holds about 292 years; longer is shown as that.
	ns := s * float64(time.Second)
	if ns >= math.MaxInt64 {
		return time.Duration(math.MaxInt64).String()
	}
	return time.Duration(ns).Round(time.Second).String()
}

// The thresholds syntax, k6's with this check's own metrics beside k6's:
//
//	line       = [prefix ":"] (expression | "[" expression {"," expression} [","] "]") [","]
//	prefix     = target-name | k6-metric [scope]
//	expression = aggregation [scope] [window] op value
//	scope      = "{" key ":" value {"," key ":" value} "}"
//	window     = "[" duration "]"
//	op         = "<" | "<=" | ">" | ">=" | "==" | "===" | "!="
//
// An expression in a list may be quoted, as k6 writes it ('p(95)<500').
// Scopes and windows are read into a scope, which scope.apply checks
// against the run's targets, groups and phases; a tag this check does not
// give its requests is refused with what to write instead.

// ParseLine reads one line of the thresholds input into its thresholds:
//
//	p(95)<400ms
//	search: p(95)<300ms
//	p(99){phase:deploy}[10s]<1s
//	http_req_duration: ['p(95)<500', 'p(99)<1500']
//	http_req_failed{group:browse}: rate<0.01
//
// names are the targets, groups and phases a line may limit itself to. A
// list gives one threshold per expression; k6's empty list gives none.
func ParseLine(line string, names Names) ([]Threshold, error) {
	text := strings.TrimSpace(line)
	targets := names.Targets
	pre, rhs, err := splitPrefix(text, targets, names.Any)
	if err != nil {
		return nil, err
	}
	items, err := splitList(rhs)
	if err != nil {
		return nil, err
	}
	out := make([]Threshold, 0, len(items))
	for _, item := range items {
		t, err := parseExpression(item, pre, names)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Parse reads one threshold expression such as p(95)<400ms,
// error_rate<0.5%, downtime<=1s or k6's p(95)<500 (milliseconds). Spaces
// are allowed around the operator. It limits the whole run.
func Parse(s string) (Threshold, error) {
	return parseExpression(strings.TrimSpace(s), prefix{}, Names{})
}

// prefix is what comes before a line's colon: a target, or a k6 metric
// with its scope.
type prefix struct {
	target string // a target's name
	metric string // a k6 metric name
	scope  scope
}

// k6Metrics are the k6 metrics this check measures, and what each is here.
var k6Metrics = map[string]string{
	"http_req_duration": "trend",
	"http_req_failed":   "rate",
	"http_reqs":         "counter",
}

// k6Unmeasured are k6's built-in metrics this check has no counterpart for,
// with what to write instead.
var k6Unmeasured = map[string]string{
	"http_req_blocked":         "this check times whole requests; write http_req_duration",
	"http_req_connecting":      "this check times whole requests; write http_req_duration",
	"http_req_tls_handshaking": "this check times whole requests; write http_req_duration",
	"http_req_sending":         "this check times whole requests; write http_req_duration",
	"http_req_waiting":         "this check times whole requests; write http_req_duration",
	"http_req_receiving":       "this check times whole requests; write http_req_duration",
	"iteration_duration":       "this check sends single requests, not iterations; write http_req_duration",
	"iterations":               "this check sends single requests, not iterations; write http_reqs",
	"dropped_iterations":       "this check sends single requests; a generator that falls behind fails the check by itself (fail-on-load-shortfall)",
	"checks":                   "this check has no k6 checks; a failed request is a non-2xx/3xx answer or no answer, limited by http_req_failed",
	"vus":                      "this check holds a constant rate, not virtual users",
	"vus_max":                  "this check holds a constant rate, not virtual users",
	"data_sent":                "bytes are not measured",
	"data_received":            "bytes are not measured",
	"group_duration":           "groups are not timed",
}

var errNoComparison = errors.New("no comparison; want METRIC OP VALUE such as p(95)<400ms, error_rate<1% or downtime<=1s")

// splitPrefix cuts a line into what comes before its colon and the rest.
// A target's name, which may hold colons and braces, is matched whole
// first; otherwise the colon is the first one outside brackets and quotes.
func splitPrefix(text string, targets []string, anyTarget bool) (prefix, string, error) {
	best := ""
	for _, name := range targets {
		if len(name) > len(best) && strings.HasPrefix(text, name) {
			if rest := strings.TrimLeft(text[len(name):], " \t"); strings.HasPrefix(rest, ":") {
				best = name
			}
		}
	}
	if best != "" {
		rest := strings.TrimLeft(text[len(best):], " \t")
		return prefix{target: best}, strings.TrimSpace(rest[1:]), nil
	}
	var key string
	switch {
	case text != "" && (text[0] == '\'' || text[0] == '"'):
		// A quoted key, as k6 writes "http_req_duration{name:x}": [...];
		// a quoted line without a colon after it is one quoted expression.
		end := strings.IndexByte(text[1:], text[0])
		if end < 0 {
			return prefix{}, "", fmt.Errorf("%q has no closing %c", text, text[0])
		}
		rest := strings.TrimLeft(text[end+2:], " \t")
		if !strings.HasPrefix(rest, ":") {
			return prefix{}, text, nil
		}
		key, text = text[1:end+1], strings.TrimSpace(rest[1:])
	default:
		i := topLevelIndex(text, ":")
		if i < 0 {
			return prefix{}, text, nil
		}
		key, text = strings.TrimSpace(text[:i]), strings.TrimSpace(text[i+1:])
	}
	pre, err := readPrefix(key, targets, anyTarget)
	return pre, text, err
}

// readPrefix reads a prefix that is not a target's whole name: a k6 metric
// name with an optional scope, as k6 reads it (the scope runs from the
// first { to the last }), or a target's name with a scope.
func readPrefix(key string, targets []string, anyTarget bool) (prefix, error) {
	name, inner, hasScope, err := cutScope(key)
	if err != nil {
		return prefix{}, err
	}
	var pre prefix
	switch {
	case k6Metrics[name] != "":
		pre.metric = name
	case slices.Contains(targets, name):
		pre.target = name
	case anyTarget && k6Unmeasured[name] == "":
		pre.target = name
	case k6Unmeasured[name] != "":
		return prefix{}, fmt.Errorf("k6 metric %q is not measured: %s", name, k6Unmeasured[name])
	default:
		return prefix{}, fmt.Errorf("no target or metric is named %q; the targets are %s, and the k6 metrics read here are http_req_duration, http_req_failed and http_reqs", name, quoteAll(targets))
	}
	if hasScope {
		if pre.scope.tags, err = readTags(inner); err != nil {
			return prefix{}, err
		}
	}
	return pre, nil
}

// cutScope splits NAME{tags} as k6's ParseMetricName does.
func cutScope(s string) (name, inner string, ok bool, err error) {
	open, end := strings.IndexByte(s, '{'), strings.LastIndexByte(s, '}')
	switch {
	case open < 0 && end < 0:
		return s, "", false, nil
	case open < 0 || end < 0 || end < open:
		return "", "", false, fmt.Errorf("%q has unmatched braces; want NAME{key:value}", s)
	case end != len(s)-1:
		return "", "", false, fmt.Errorf("%q has text after its }; want NAME{key:value}", s)
	}
	return strings.TrimSpace(s[:open]), s[open+1 : end], true, nil
}

func quoteAll(names []string) string {
	if len(names) == 0 {
		return "none yet"
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	return strings.Join(quoted, ", ")
}

// topLevelIndex finds the first of chars outside scopes ({}), windows
// ([]) and quotes. When those do not pair up, it finds the first of chars
// anywhere, so that a message can still point at the operator or colon.
func topLevelIndex(s, chars string) int {
	depth := 0
	var quote byte
	first := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if first < 0 && strings.IndexByte(chars, c) >= 0 {
			first = i
		}
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case depth == 0 && strings.IndexByte(chars, c) >= 0:
			return i
		}
	}
	if depth != 0 || quote != 0 {
		return first
	}
	return -1
}

// splitList reads the right of a line: one expression, or k6's list of
// them, each maybe quoted. A trailing comma, as in a JavaScript object, is
// allowed.
func splitList(rhs string) ([]string, error) {
	rhs = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rhs), ","))
	if strings.HasPrefix(rhs, "{") {
		return nil, fmt.Errorf("%q: k6's {threshold, abortOnFail} form is not read, as this check judges once, when the load is over; write the expression alone, such as 'p(99)<1500'", rhs)
	}
	if !strings.HasPrefix(rhs, "[") {
		item, err := unquote(rhs)
		if err != nil {
			return nil, err
		}
		return []string{item}, nil
	}
	if !strings.HasSuffix(rhs, "]") {
		return nil, fmt.Errorf("the list %q is not closed; write the whole list on one line, such as ['p(95)<500', 'p(99)<1500']", rhs)
	}
	var items []string
	rest := rhs[1 : len(rhs)-1]
	for strings.TrimSpace(rest) != "" {
		i := topLevelIndex(rest, ",")
		if i < 0 {
			i = len(rest)
		}
		item := strings.TrimSpace(rest[:i])
		if strings.HasPrefix(item, "{") {
			return nil, fmt.Errorf("%q: k6's {threshold, abortOnFail} form is not read, as this check judges once, when the load is over; write the expression alone, such as 'p(99)<1500'", item)
		}
		if item == "" {
			return nil, fmt.Errorf("the list %q has an empty item", rhs)
		}
		item, err := unquote(item)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		rest = rest[min(i+1, len(rest)):]
	}
	return items, nil
}

// unquote strips the quotes of a JavaScript or JSON string without
// escapes, as k6 threshold expressions are written.
func unquote(s string) (string, error) {
	if s == "" || !strings.ContainsRune("'\"`", rune(s[0])) {
		return s, nil
	}
	if len(s) < 2 || s[len(s)-1] != s[0] || strings.IndexByte(s[1:len(s)-1], s[0]) >= 0 {
		return "", fmt.Errorf("%q is not a quoted expression; want one such as 'p(95)<500'", s)
	}
	return strings.TrimSpace(s[1 : len(s)-1]), nil
}

// Operators, longest first so that <= is not read as <.
var operators = []struct {
	text string
	op   Op
}{{"===", Equal}, {"==", Equal}, {"!=", NotEqual}, {"<=", LessEq}, {">=", GreaterEq}, {"<", Less}, {">", Greater}}

// parseExpression reads AGGREGATION[scope][window] OP VALUE in the context
// of the line's prefix.
func parseExpression(text string, pre prefix, names Names) (Threshold, error) {
	i := topLevelIndex(text, "<>=!")
	if i < 0 {
		return Threshold{}, errNoComparison
	}
	var op Op
	var opText string
	for _, o := range operators {
		if strings.HasPrefix(text[i:], o.text) {
			op, opText = o.op, o.text
			break
		}
	}
	left, value := strings.TrimSpace(text[:i]), strings.TrimSpace(text[i+len(opText):])
	if op == "" || strings.ContainsAny(value, "<>=!") {
		return Threshold{}, fmt.Errorf("malformed operator in %q; want one of <, <=, >, >=, ==, !=", text)
	}
	if left == "" {
		return Threshold{}, fmt.Errorf("%q has no metric before %q; want METRIC OP VALUE such as p(95)<400ms", text, opText)
	}
	agg, sc, err := readAggregation(left)
	if err != nil {
		return Threshold{}, err
	}
	t := Threshold{Op: op, Target: pre.target}
	if err := pre.metricOf(agg, &t); err != nil {
		return Threshold{}, err
	}
	if value == "" {
		return Threshold{}, fmt.Errorf("no value after %q", opText)
	}
	if t.Limit, err = readLimit(t.Metric, pre.metric, value); err != nil {
		return Threshold{}, err
	}
	sc.tags = append(slices.Clip(pre.scope.tags), sc.tags...)
	if err := sc.apply(&t, names); err != nil {
		return Threshold{}, err
	}
	return t, nil
}

// readAggregation splits AGGREGATION{tags}[window] into its parts.
func readAggregation(left string) (string, scope, error) {
	var sc scope
	agg := left
	if end := strings.IndexAny(left, "{["); end >= 0 {
		agg = strings.TrimSpace(left[:end])
		tail := strings.TrimSpace(left[end:])
		if open := strings.LastIndexByte(tail, '['); open >= 0 && strings.HasSuffix(tail, "]") {
			sc.window, sc.hasWindow = strings.TrimSpace(tail[open+1:len(tail)-1]), true
			tail = strings.TrimSpace(tail[:open])
		}
		if tail != "" {
			inner, ok := strings.CutPrefix(tail, "{")
			if inner, ok = strings.CutSuffix(inner, "}"); !ok || strings.ContainsAny(inner, "{}[]") {
				return "", scope{}, fmt.Errorf("%q: want AGGREGATION{key:value}[window], such as p(99){target:search}", left)
			}
			tags, err := readTags(inner)
			if err != nil {
				return "", scope{}, err
			}
			sc.tags = tags
		}
	}
	if agg == "" {
		return "", scope{}, fmt.Errorf("%q has no metric before its scope; want METRIC{key:value} such as p(99){target:search}", left)
	}
	return agg, sc, nil
}

// percentileShorthand reads p95 or p99.9, a percentile written without
// k6's parentheses, and returns the number.
func percentileShorthand(agg string) (string, bool) {
	n, ok := strings.CutPrefix(strings.ToLower(agg), "p")
	if _, err := strconv.ParseFloat(n, 64); !ok || err != nil || n == "" || !strings.ContainsAny(n[:1], "0123456789") {
		return "", false
	}
	return n, true
}

// metricOf sets the metric (and percentile) of aggregation agg, read in
// the context of the prefix's k6 metric.
func (pre prefix) metricOf(agg string, t *Threshold) error {
	latency := map[string]Metric{"avg": Mean, "med": Median, "min": Min, "max": Max}
	if p, ok := strings.CutPrefix(agg, "p("); ok && strings.HasSuffix(p, ")") {
		p = p[:len(p)-1]
		n, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange) || math.IsNaN(n):
			return fmt.Errorf("%q is not a percentile; want p(N) with N a number from 0 to 100, such as p(99.9)", p)
		case n < 0 || n > 100 || err != nil:
			return fmt.Errorf("percentile %q is out of range; want p(N) with 0 <= N <= 100, such as p(99.9)", p)
		}
		t.Metric, t.Percentile = Quantile, n+0 // + 0 turns -0 into 0
	} else if m, ok := latency[agg]; ok {
		t.Metric = m
	}
	kind := k6Metrics[pre.metric]
	switch {
	case t.Metric != 0 && (kind == "" || kind == "trend"):
		return nil
	case kind == "":
		switch agg {
		case "error_rate":
			t.Metric = ErrorRate
		case "downtime":
			t.Metric = Downtime
		case "count":
			t.Metric = Count
		case "request_rate":
			t.Metric = RequestRate
		case "rate":
			return errors.New("\"rate\" of what? write http_req_failed: rate<0.01 (or error_rate<1%) for failed requests, or http_reqs: rate>50 for requests a second")
		case "value":
			return errors.New("\"value\" is k6's gauge aggregation, and this check has no gauges; want p(N), avg, med, min, max, count, request_rate, error_rate or downtime")
		default:
			if p, ok := percentileShorthand(agg); ok {
				return fmt.Errorf("unknown metric %q; a percentile is written p(%s), as in k6", agg, p)
			}
			return fmt.Errorf("unknown metric %q; want p(N), avg, med, min, max, count, request_rate, error_rate or downtime, or a k6 metric such as http_req_duration: p(95)<500", agg)
		}
		return nil
	case kind == "trend":
		if p, ok := percentileShorthand(agg); ok {
			return fmt.Errorf("%s takes p(N), not %q; a percentile is written p(%s), as in k6", pre.metric, agg, p)
		}
		return fmt.Errorf("%s takes p(N), avg, med, min or max, not %q, as in k6; for the number of requests write http_reqs: count>N, for failures http_req_failed: rate<0.01", pre.metric, agg)
	case kind == "rate" && agg == "rate":
		t.Metric = ErrorRate
		return nil
	case kind == "rate":
		return fmt.Errorf("http_req_failed takes rate, not %q, as in k6; write http_req_failed: rate<0.01", agg)
	case kind == "counter" && agg == "count":
		t.Metric = Count
		return nil
	case kind == "counter" && agg == "rate":
		t.Metric = RequestRate
		return nil
	}
	t.Metric, t.Percentile = 0, 0
	return fmt.Errorf("http_reqs takes count or rate, not %q, as in k6; write http_reqs: count>100 or http_reqs: rate>50", agg)
}

// readLimit reads the value of a threshold on metric m; k6 names the k6
// metric of the line, if any.
func readLimit(m Metric, k6 string, value string) (float64, error) {
	switch m {
	case ErrorRate:
		if k6 == "" {
			return ParseFraction(value)
		}
		// k6 writes a rate as a fraction, where 1 is all requests.
		if strings.HasSuffix(value, "%") {
			return ParseFraction(value)
		}
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
			return 0, fmt.Errorf("%q is not a rate; want a fraction from 0 to 1 such as 0.01, or a percentage such as 1%%", value)
		}
		return f + 0, nil
	case Count, RequestRate:
		text := value
		if m == RequestRate {
			text = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(text, "/s"), "/1s"))
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			if m == Count {
				return 0, fmt.Errorf("%q is not a number of requests; want a number of 0 or more such as 100", value)
			}
			return 0, fmt.Errorf("%q is not a request rate; want requests a second such as 50 or 50/s", value)
		}
		return f + 0, nil
	}
	d, err := parseMillis(value)
	if err != nil {
		return 0, err
	}
	return d.Seconds(), nil
}

// parseMillis reads a duration with a unit, or a bare number of
// milliseconds as k6 writes them.
func parseMillis(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			return 0, fmt.Errorf("%q is not a duration; want milliseconds such as 500, or a duration such as 400ms or 1.5s", s)
		case d < 0:
			return 0, fmt.Errorf("%q is negative; want a duration of 0 or more", s)
		}
		return d, nil
	}
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fmt.Errorf("%q is not a duration; want milliseconds such as 500, or a duration such as 400ms or 1.5s", s)
	case f < 0:
		return 0, fmt.Errorf("%q is negative; want a duration of 0 or more", s)
	case f*float64(time.Millisecond) >= math.MaxInt64:
		return 0, fmt.Errorf("%q milliseconds is too long; want at most %s", s, time.Duration(math.MaxInt64))
	}
	return time.Duration(f * float64(time.Millisecond)), nil
}

// scope is what a threshold is limited to, as written: k6 tags and a
// window.
type scope struct {
	tags      []tag
	window    string
	hasWindow bool
}

type tag struct{ key, value string }

// readTags reads k6's key:value,key:value; a value may hold colons.
func readTags(inner string) ([]tag, error) {
	var tags []tag
	for _, part := range strings.Split(inner, ",") {
		key, value, _ := strings.Cut(part, ":")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if key == "" || value == "" {
			return nil, fmt.Errorf("tag %q: want key:value, such as {target:search}", strings.TrimSpace(part))
		}
		tags = append(tags, tag{key, value})
	}
	return tags, nil
}

// ParseFraction reads a rate as a percentage ("0.5%") or a fraction
// ("0.005"), between 0 and 100% inclusive.
func ParseFraction(s string) (float64, error) {
	text := strings.TrimSpace(s)
	scale := 1.0
	if num, ok := strings.CutSuffix(text, "%"); ok {
		text, scale = strings.TrimSpace(num), 100
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a rate; want a percentage such as 0.5%% or a fraction such as 0.005", s)
	}
	if scale == 1 && f == 1 {
		return 0, fmt.Errorf("%q is ambiguous; write 100%% for all requests, or 1%% for one in a hundred", s)
	}
	f /= scale
	if f < 0 || f > 1 {
		return 0, fmt.Errorf("%q is out of range; want 0%% to 100%% (a fraction from 0 to 1)", s)
	}
	return f + 0, nil // + 0 turns -0 into 0
}

// ParseLatency reads a non-negative duration with a unit, such as 400ms or 1.5s.
func ParseLatency(s string) (time.Duration, error) {
	text := strings.TrimSpace(s)
	d, err := time.ParseDuration(text)
	if err != nil {
		if _, numErr := strconv.ParseFloat(text, 64); numErr == nil {
			return 0, fmt.Errorf("%q has no unit; want a duration such as 400ms or 1.5s", s)
		}
		return 0, fmt.Errorf("%q is not a duration; want a duration such as 400ms or 1.5s", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative; want a duration of 0s or more", s)
	}
	return d, nil
}
