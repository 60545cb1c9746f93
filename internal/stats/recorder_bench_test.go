package stats

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The benchmarks below time Recorder.Record, the per-result cost of the
// stats stream, on the shapes a run produces. One vegeta.Result is reused
// so that only the recorder's own allocations are counted. Run them with
//
//	go test -run '^$' -bench . -benchmem ./internal/stats

var benchStart = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// benchInterval is the send interval of the simulated run: 4,000/s.
const benchInterval = 250 * time.Microsecond

func benchResult(seq uint64) *vegeta.Result {
	return &vegeta.Result{
		Seq:       seq,
		Timestamp: benchStart.Add(time.Duration(seq) * benchInterval),
		Latency:   800 * time.Microsecond,
		Code:      200,
		Method:    "GET",
		URL:       "http://127.0.0.1:8080/health",
	}
}

// BenchmarkRecordInOrder is the common case: successes that complete in
// the order they were sent.
func BenchmarkRecordInOrder(b *testing.B) {
	r := NewRecorder(benchStart, []string{"GET /health"}, Options{})
	res := benchResult(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		res.Seq = uint64(i)
		res.Timestamp = benchStart.Add(time.Duration(i) * benchInterval)
		res.Latency = time.Duration(500+i%1000) * time.Microsecond
		r.Record(res, Hit{Target: 0})
	}
}

// BenchmarkRecordOutOfOrder has results complete up to 64 places away from
// their send order, as with requests of mixed latency in flight together:
// the reordering heap holds up to 64 outcomes.
func BenchmarkRecordOutOfOrder(b *testing.B) {
	const window = 64
	perm := make([]uint64, 1<<16)
	for i := range perm {
		perm[i] = uint64(i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for block := 0; block < len(perm); block += window {
		rng.Shuffle(window, func(i, j int) { perm[block+i], perm[block+j] = perm[block+j], perm[block+i] })
	}
	r := NewRecorder(benchStart, []string{"GET /health"}, Options{})
	res := benchResult(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// Blocks of the permutation, offset so sequence numbers keep growing.
		seq := uint64(i/len(perm)*len(perm)) + perm[i%len(perm)]
		res.Seq = seq
		res.Timestamp = benchStart.Add(time.Duration(seq) * benchInterval)
		r.Record(res, Hit{Target: 0})
	}
}

// BenchmarkRecordThreeTargetsFreshShare spreads results over three
// targets, one in ten on a fresh connection, as the defaults do.
func BenchmarkRecordThreeTargetsFreshShare(b *testing.B) {
	r := NewRecorder(benchStart, []string{"GET /a", "GET /b", "POST /c"}, Options{})
	res := benchResult(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		res.Seq = uint64(i)
		res.Timestamp = benchStart.Add(time.Duration(i) * benchInterval)
		r.Record(res, Hit{Target: i % 3, Fresh: i%10 == 0})
	}
}

// BenchmarkRecordVersionHeader reads the server version from every
// response, as with --version-header.
func BenchmarkRecordVersionHeader(b *testing.B) {
	r := NewRecorder(benchStart, []string{"GET /health"}, Options{VersionHeader: "X-Version"})
	res := benchResult(0)
	res.Headers = http.Header{"X-Version": []string{"v1.2.3"}, "Content-Type": []string{"text/plain"}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		res.Seq = uint64(i)
		res.Timestamp = benchStart.Add(time.Duration(i) * benchInterval)
		r.Record(res, Hit{Target: 0})
	}
}

// BenchmarkRecordOutage is a run where one request in four is refused in
// streaks of 50, so windows open and close all the time and every failure
// is classified from its error text.
func BenchmarkRecordOutage(b *testing.B) {
	r := NewRecorder(benchStart, []string{"GET /health"}, Options{})
	const refused = `Get "http://127.0.0.1:8080/health": dial tcp 127.0.0.1:8080: connect: connection refused`
	res := benchResult(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		res.Seq = uint64(i)
		res.Timestamp = benchStart.Add(time.Duration(i) * benchInterval)
		if i%200 < 50 {
			res.Code, res.Error = 0, refused
		} else {
			res.Code, res.Error = 200, ""
		}
		r.Record(res, Hit{Target: 0})
	}
}

// BenchmarkRecordParallel calls Record from every P at once. The generator
// calls it from one goroutine, so this is not the production shape; it
// bounds what the recorder's single mutex would cost if results were ever
// recorded from the workers.
func BenchmarkRecordParallel(b *testing.B) {
	r := NewRecorder(benchStart, []string{"GET /health"}, Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		res := benchResult(0)
		for pb.Next() {
			r.Record(res, Hit{Target: 0})
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	cases := []struct {
		name    string
		code    uint16
		errText string
	}{
		{"success", 200, ""},
		{"5xx", 503, "503 Service Unavailable"},
		{"refused", 0, `Get "http://127.0.0.1:8080/health": dial tcp 127.0.0.1:8080: connect: connection refused`},
		{"eof", 0, `Get "http://127.0.0.1:8080/health": EOF`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Classify(c.code, c.errText)
			}
		})
	}
}
