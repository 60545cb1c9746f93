package replay

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestTimingFollowsTheRecordedPace(t *testing.T) {
	t.Parallel()
	const log = `1.2.3.4 - - [23/Nov/2026:12:00:00 +0000] "GET /a HTTP/1.1" 200 1
1.2.3.4 - - [23/Nov/2026:12:00:01 +0000] "GET /b HTTP/1.1" 200 1
1.2.3.4 - - [23/Nov/2026:12:00:01 +0000] "POST /skipped HTTP/1.1" 200 1
1.2.3.4 - - [23/Nov/2026:12:00:00 +0000] "GET /written-late HTTP/1.1" 200 1
1.2.3.4 - - [23/Nov/2026:12:00:04 +0000] "GET /c HTTP/1.1" 200 1
`
	rate := vegeta.Rate{Freq: 10, Per: time.Second} // 100ms between untimed hits
	tests := []struct {
		name  string
		speed float64
		want  []time.Duration
	}{
		{"at the recorded pace", 1, []time.Duration{0, 1 * time.Second, 1 * time.Second, 4 * time.Second,
			// second pass: one rate interval after the last hit
			4100 * time.Millisecond, 5100 * time.Millisecond, 5100 * time.Millisecond, 8100 * time.Millisecond}},
		{"twice as fast", 2, []time.Duration{0, 500 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second,
			2100 * time.Millisecond, 2600 * time.Millisecond, 2600 * time.Millisecond, 4100 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := Open(writeFile(t, "timed.log", log), staging)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			timing, err := NewTiming(r, tt.speed, rate)
			if err != nil {
				t.Fatal(err)
			}
			var got []time.Duration
			for n := range uint64(len(tt.want)) {
				// As vegeta's attack calls it: several times for a hit.
				wait, stop := timing.Pace(0, n)
				again, _ := timing.Pace(wait, n)
				if stop || again != 0 {
					t.Fatalf("Pace(0, %d) = %v, %t; Pace(%v, %d) = %v; want a wait, then none", n, wait, stop, wait, n, again)
				}
				got = append(got, wait)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("due times (-want +got):\n%s", diff)
			}
			if due, ok := timing.DueAt(1); !ok || due != tt.want[1] {
				t.Errorf("DueAt(1) = %v, %t; want %v", due, ok, tt.want[1])
			}
		})
	}
}

func TestUntimedEntriesArePacedByRate(t *testing.T) {
	t.Parallel()
	lines := strings.Repeat(`{"path": "/x"}`+"\n", 3)
	r, err := Open(writeFile(t, "untimed.jsonl", lines), staging, Once())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	timing, err := NewTiming(r, 1, vegeta.Rate{Freq: 4, Per: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Duration
	for n := uint64(0); ; n++ {
		wait, stop := timing.Pace(0, n)
		if stop {
			break
		}
		got = append(got, wait)
	}
	if diff := cmp.Diff([]time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond}, got); diff != "" {
		t.Errorf("due times (-want +got), then the end of the file:\n%s", diff)
	}
	if err := timing.Err(); err != nil {
		t.Errorf("Err() = %v at the end of a file read once, want nil", err)
	}
	if rate := timing.Rate(0); rate != 4 {
		t.Errorf("Rate = %v, want 4", rate)
	}
}

func TestTimingRefusesBadSettings(t *testing.T) {
	t.Parallel()
	r, err := Open(writeFile(t, "one.jsonl", `{"path": "/x"}`), staging)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := NewTiming(r, 0, vegeta.Rate{Freq: 1, Per: time.Second}); err == nil {
		t.Error("NewTiming with speed 0 succeeded")
	}
	if _, err := NewTiming(r, 1, vegeta.Rate{}); err == nil {
		t.Error("NewTiming without a rate succeeded")
	}
}
