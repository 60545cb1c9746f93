package compare

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/zerodowntime/deploy-load-check/internal/redact"
)

// Bounds of a Tally and of its samples.
const (
	DefaultMaxEndpoints = 100
	DefaultMaxFields    = 20
	// SampleBody is how much of each body a sample keeps.
	SampleBody = 1024
)

// OtherEndpoint collects the comparisons of endpoints beyond a Tally's
// MaxEndpoints.
const OtherEndpoint = "other"

// Sample is a pair of answers as the summary shows them: bodies trimmed,
// credentials and known secrets masked, only the compared headers.
type Sample struct {
	Baseline  SampleAnswer `json:"baseline"`
	Candidate SampleAnswer `json:"candidate"`
}

// SampleAnswer is one side of a Sample.
type SampleAnswer struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   string            `json:"body"`
}

// Sample returns the two answers compared, trimmed and masked.
func (r Result) Sample() Sample {
	if r.baseline == nil || r.candidate == nil {
		return Sample{}
	}
	return Sample{Baseline: r.sampleAnswer(r.baseline), Candidate: r.sampleAnswer(r.candidate)}
}

func (r Result) sampleAnswer(a *Answer) SampleAnswer {
	s := SampleAnswer{Status: a.Status}
	for _, name := range r.headers {
		if v := a.Header.Values(name); len(v) > 0 {
			if s.Header == nil {
				s.Header = make(map[string]string, len(r.headers))
			}
			s.Header[name] = r.masker.Inline(joinValues(v))
			if redact.Secret(name) {
				s.Header[name] = redact.Mask
			}
		}
	}
	s.Body = r.masker.Inline(sampleBody(a))
	return s
}

func joinValues(v []string) string {
	out := v[0]
	for _, x := range v[1:] {
		out += ", " + x
	}
	return out
}

// sampleBody shows a body: JSON compactly with credential-named keys
// masked, text as it is, binary by its size; each trimmed.
func sampleBody(a *Answer) string {
	if len(a.Body) == 0 {
		return ""
	}
	if !a.Truncated {
		var v any
		dec := json.NewDecoder(bytes.NewReader(a.Body))
		dec.UseNumber()
		if err := dec.Decode(&v); err == nil && v != nil {
			if b, err := marshal(maskJSON(v)); err == nil {
				return trim(b, SampleBody)
			}
		}
	}
	// The head, trimmed on a character boundary, reads as text if the
	// body is text.
	text := trim(string(a.Body[:min(len(a.Body), SampleBody+utf8.UTFMax)]), SampleBody)
	if utf8.ValidString(text) {
		return text
	}
	return describeBody(a.Body)
}

// Tally counts comparisons per endpoint pattern and field, keeping one
// sample pair for each, and the noise that hid differences. The zero value
// works, with the default bounds; a Tally is safe for concurrent use.
type Tally struct {
	MaxEndpoints int // DefaultMaxEndpoints when 0
	MaxFields    int // per endpoint; DefaultMaxFields when 0

	mu         sync.Mutex
	compared   uint64
	mismatched uint64
	endpoints  map[string]*endpointTally
	noise      map[Noise]uint64 // Ignored zero in the key
}

type endpointTally struct {
	compared, mismatched, otherFields uint64
	fields                            map[string]*Field
}

// Summary is what the comparisons found, ready for a table.
type Summary struct {
	Compared     uint64     `json:"compared"`
	Mismatched   uint64     `json:"mismatched"`
	MismatchRate float64    `json:"mismatch_rate"`
	Endpoints    []Endpoint `json:"endpoints"` // most mismatches first
	Noise        []Noise    `json:"noise"`     // most ignored first
}

// Endpoint is one endpoint pattern's comparisons.
type Endpoint struct {
	Pattern    string  `json:"pattern"`
	Compared   uint64  `json:"compared"`
	Mismatched uint64  `json:"mismatched"`
	Fields     []Field `json:"fields,omitempty"` // most frequent first
	// OtherFields counts answers that differed in fields beyond the
	// tally's MaxFields.
	OtherFields uint64 `json:"other_fields,omitempty"`
}

// Field is one field that differed at an endpoint: its path with every
// index as [*], in how many answers it differed, and the first of them.
type Field struct {
	Field      string     `json:"field"`
	Kind       Kind       `json:"kind"`
	Mismatched uint64     `json:"mismatched"`
	Example    Difference `json:"example"`
	Sample     Sample     `json:"sample"`
}

// Noise is a rule that hid differences at an endpoint.
type Noise struct {
	Pattern string `json:"pattern"`
	Rule    string `json:"rule"`
	Learnt  bool   `json:"learnt"`
	// From says what listed a rule not learnt (see Ignore.From).
	From    string `json:"from,omitempty"`
	Ignored uint64 `json:"ignored"` // answers in which it hid a difference
}

func (t *Tally) limits() (endpoints, fields int) {
	return cmp.Or(t.MaxEndpoints, DefaultMaxEndpoints), cmp.Or(t.MaxFields, DefaultMaxFields)
}

// Add counts one comparison at an endpoint pattern.
func (t *Tally) Add(pattern string, r Result) {
	maxEndpoints, maxFields := t.limits()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.endpoints == nil {
		t.endpoints = make(map[string]*endpointTally)
		t.noise = make(map[Noise]uint64)
	}
	e, ok := t.endpoints[pattern]
	if !ok {
		if len(t.endpoints) >= maxEndpoints {
			pattern = OtherEndpoint
			e = t.endpoints[pattern]
		}
		if e == nil {
			e = &endpointTally{fields: make(map[string]*Field)}
			t.endpoints[pattern] = e
		}
	}
	t.compared++
	e.compared++
	for _, ig := range r.Ignored {
		key := Noise{Pattern: pattern, Rule: ig.Rule, Learnt: ig.Learnt, From: ig.From}
		if _, known := t.noise[key]; known || len(t.noise) < maxEndpoints*MaxNoisePerPattern {
			t.noise[key]++
		}
	}
	if !r.Differ() {
		return
	}
	t.mismatched++
	e.mismatched++
	counted := make(map[string]bool, len(r.Differences))
	other := false
	for _, d := range r.Differences {
		name := generalField(d.Field)
		if counted[name] {
			continue
		}
		counted[name] = true
		f, ok := e.fields[name]
		if !ok {
			if len(e.fields) >= maxFields {
				other = true
				continue
			}
			f = &Field{Field: name, Kind: d.Kind, Example: d, Sample: r.Sample()}
			e.fields[name] = f
		}
		f.Mismatched++
	}
	if other {
		e.otherFields++
	}
}

// generalField writes a difference's path with every index as [*].
func generalField(field string) string {
	if len(field) == 0 || field[0] != '$' {
		return field
	}
	p, err := parsePath(field)
	if err != nil {
		return field
	}
	return p.general().String()
}

// Summary returns the counts so far.
func (t *Tally) Summary() Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Summary{Compared: t.compared, Mismatched: t.mismatched, Endpoints: []Endpoint{}, Noise: []Noise{}}
	if t.compared > 0 {
		s.MismatchRate = float64(t.mismatched) / float64(t.compared)
	}
	for pattern, e := range t.endpoints {
		ep := Endpoint{Pattern: pattern, Compared: e.compared, Mismatched: e.mismatched, OtherFields: e.otherFields}
		for _, f := range e.fields {
			ep.Fields = append(ep.Fields, *f)
		}
		slices.SortFunc(ep.Fields, func(a, b Field) int {
			return cmp.Or(cmp.Compare(b.Mismatched, a.Mismatched), cmp.Compare(a.Field, b.Field))
		})
		s.Endpoints = append(s.Endpoints, ep)
	}
	slices.SortFunc(s.Endpoints, func(a, b Endpoint) int {
		return cmp.Or(cmp.Compare(b.Mismatched, a.Mismatched), cmp.Compare(b.Compared, a.Compared), cmp.Compare(a.Pattern, b.Pattern))
	})
	for key, n := range t.noise {
		key.Ignored = n
		s.Noise = append(s.Noise, key)
	}
	slices.SortFunc(s.Noise, func(a, b Noise) int {
		return cmp.Or(cmp.Compare(b.Ignored, a.Ignored), cmp.Compare(a.Pattern, b.Pattern), cmp.Compare(a.Rule, b.Rule))
	})
	return s
}
