package stats

import "time"

// phases splits the run into the named phases of the deploy timeline
// (head, deploy, tail), each with its own aggregate and the longest overlap
// of a window without a success.
type phases []*phase

type phase struct {
	name      string
	start     time.Duration
	aggregate *Aggregate
	downtime  time.Duration // longest overlap of one endpoint's window
	outage    time.Duration // longest overlap of a whole-API window
}

func (ps *phases) start(name string, at time.Duration) {
	*ps = append(*ps, &phase{name: name, start: at, aggregate: newAggregateOfSuccesses()})
}

// at returns the phase in which a request sent at sent falls, or nil
// before the first phase.
func (ps phases) at(sent time.Duration) *phase {
	for i := len(ps) - 1; i >= 0; i-- {
		if sent >= ps[i].start {
			return ps[i]
		}
	}
	return nil
}

// index returns the index of the phase called name, -1 if none.
func (ps phases) index(name string) int {
	for i, p := range ps {
		if p.name == name {
			return i
		}
	}
	return -1
}

func (ps phases) end(i int) time.Duration {
	if i+1 < len(ps) {
		return ps[i+1].start
	}
	return time.Duration(1<<63 - 1)
}

// noteDowntime counts an endpoint's window toward the phases it overlaps.
func (ps phases) noteDowntime(w Window) {
	for i, p := range ps {
		p.downtime = max(p.downtime, min(w.End, ps.end(i))-max(w.Start, p.start))
	}
}

// noteOutage counts a whole-API window toward the phases it overlaps.
func (ps phases) noteOutage(w Window) {
	for i, p := range ps {
		p.outage = max(p.outage, min(w.End, ps.end(i))-max(w.Start, p.start))
	}
}

func (ps phases) summaries(elapsed time.Duration) []PhaseSummary {
	var out []PhaseSummary
	for i, p := range ps {
		out = append(out, PhaseSummary{Name: p.name, Start: p.start, End: min(ps.end(i), elapsed), Aggregate: p.aggregate, Downtime: p.downtime, Outage: p.outage})
	}
	return out
}
