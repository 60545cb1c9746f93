package stats

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// maxVersions bounds the versions told apart; later ones count as "other".
const maxVersions = 32

// versions counts the answers of each version of the server, as told by a
// response header or a JSON field.
type versions []versionCount

type versionCount struct {
	name               string
	first, last        time.Duration
	requests, failures int64
}

// versionOf reads the version that answered res, from the header or the
// JSON field; "" when neither is there.
func versionOf(res *vegeta.Result, opts Options) string {
	if opts.VersionHeader != "" && res.Headers != nil {
		if v := res.Headers.Get(opts.VersionHeader); v != "" {
			return v
		}
	}
	if opts.VersionField == "" || len(res.Body) == 0 || res.Body[0] != '{' {
		return ""
	}
	var doc map[string]any
	if json.Unmarshal(res.Body, &doc) != nil {
		return ""
	}
	var value any = doc
	for _, key := range strings.Split(opts.VersionField, ".") {
		obj, ok := value.(map[string]any)
		if !ok {
			return ""
		}
		value = obj[key]
	}
	switch v := value.(type) {
	case string:
		return v
	case float64, bool:
		return fmt.Sprint(v)
	}
	return ""
}

// count counts an answer of the version called name, returning its index.
func (vs *versions) count(name string, sent time.Duration, ok bool) int8 {
	i := slices.IndexFunc(*vs, func(v versionCount) bool { return v.name == name })
	if i < 0 {
		if len(*vs) == maxVersions-1 {
			name = "other"
			i = slices.IndexFunc(*vs, func(v versionCount) bool { return v.name == name })
		}
		if i < 0 {
			*vs = append(*vs, versionCount{name: name, first: sent, last: sent})
			i = len(*vs) - 1
		}
	}
	v := &(*vs)[i]
	v.first, v.last = min(v.first, sent), max(v.last, sent)
	v.requests++
	if !ok {
		v.failures++
	}
	return int8(i)
}

// byFirstAnswer lists the versions in the order they first answered, and
// renumbers the timeline's version bits to match.
func (vs versions) byFirstAnswer(seconds []Second) []VersionSummary {
	order := make([]int, len(vs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(vs[a].first, vs[b].first) })
	renumber := make([]int, len(order))
	out := make([]VersionSummary, len(order))
	for to, from := range order {
		renumber[from] = to
		v := vs[from]
		out[to] = VersionSummary{Name: v.name, First: v.first, Last: v.last, Requests: v.requests, Failures: v.failures}
	}
	for i := range seconds {
		sec := &seconds[i]
		var bits uint32
		for from, to := range renumber {
			if sec.Versions&(1<<uint(from)) != 0 {
				bits |= 1 << uint(to)
			}
		}
		sec.Versions = bits
	}
	return out
}
