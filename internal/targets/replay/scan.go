package replay

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// ScanOptions shape a Scan.
type ScanOptions struct {
	// MaxPatterns bounds the endpoint patterns told apart;
	// DefaultMaxPatterns when 0.
	MaxPatterns int
	// Speed, when positive, measures the pace of a replay at that
	// multiple of the recorded pace, Rate pacing entries without a time
	// (see Timing).
	Speed float64
	Rate  vegeta.Rate
}

// Scan is what one pass over a replay file found, read before the file is
// replayed: the endpoint patterns a run's per-endpoint figures are kept
// under, the first request a pre-flight may send, and the busiest second
// of the recorded pace.
type Scan struct {
	// Stats are those of one pass.
	Stats Stats
	// Patterns are "METHOD /pattern" (see Patterns), in the order they
	// first appear, at most MaxPatterns of them.
	Patterns []string
	// Capped is true when some requests matched none of Patterns: they
	// count under Other.
	Capped bool
	// Safe is the first request with a method that changes nothing (GET,
	// HEAD or OPTIONS), for a pre-flight; nil when there is none.
	Safe *Request
	// PeakPace is the most hits due within one second of the recorded
	// pace at ScanOptions.Speed; 0 when Speed is not set.
	PeakPace int
	// Elapsed is how long the pass took.
	Elapsed time.Duration
}

// ScanFile reads the replay file at path once, to its end, as a Reader
// with opts reads it (Once is implied), in bounded memory. Like Open, it
// fails on a file that holds no request to send.
func ScanFile(path string, base *url.URL, so ScanOptions, opts ...Option) (*Scan, error) {
	began := time.Now()
	r, err := Open(path, base, append(opts[:len(opts):len(opts)], Once())...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	patterns := Patterns{MaxPatterns: so.MaxPatterns}
	seen := make(map[string]bool)
	scan := &Scan{}
	var pace *schedule
	if so.Speed > 0 {
		if so.Rate.Freq <= 0 || so.Rate.Per <= 0 {
			return nil, errors.New("replay scan: the rate for entries without a time must be positive")
		}
		pace = &schedule{speed: so.Speed, interval: so.Rate.Per / time.Duration(so.Rate.Freq)}
	}
	var second time.Duration = -1
	inSecond := 0
	for {
		var req Request
		err := r.Next(&req)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		p := patterns.Pattern(req.Method, req.URL)
		switch {
		case p == Other:
			scan.Capped = true
		case !seen[p]:
			seen[p] = true
			scan.Patterns = append(scan.Patterns, p)
		}
		if scan.Safe == nil && (req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodOptions) {
			safe := req
			scan.Safe = &safe
		}
		if pace != nil {
			// Due times never decrease, so the busiest second is counted
			// one second at a time.
			due := pace.place(&req).Truncate(time.Second)
			if due != second {
				second, inSecond = due, 0
			}
			inSecond++
			scan.PeakPace = max(scan.PeakPace, inSecond)
		}
	}
	scan.Stats = r.Stats()
	scan.Elapsed = time.Since(began)
	return scan, nil
}

// String says what the scan found, for a log line.
func (s *Scan) String() string {
	other := ""
	if s.Capped {
		other = " (and " + Other + ")"
	}
	return fmt.Sprintf("%d requests to send in %d endpoint patterns%s, read in %s", s.Stats.Requests, len(s.Patterns), other, s.Elapsed.Round(time.Millisecond))
}
