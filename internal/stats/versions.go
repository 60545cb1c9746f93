package stats

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/redact"
)

// maxVersions bounds the versions told apart; later ones count as "other".
const maxVersions = 32

// versions counts the answers of each version of the server, as told by a
// response header or a JSON field.
type versions struct {
	list []versionCount
	name versionNamer
}

type versionCount struct {
	name string // as the summary shows it: secrets masked, cut short
	// read is the version as last read, so that the next answer of the
	// same version is counted without being masked again. It stays here.
	read               string
	first, last        time.Duration
	requests, failures int64
}

// maxVersionName is the longest a version's name is shown, in bytes: a
// version names a build, and a field that holds a whole body or a token
// is not one.
const maxVersionName = 64

// versionNamer turns a version as read into its name in the summary. The
// header or the field may carry something else than a version: an API that
// echoes the request's Authorization header, with version-field set to
// where it echoes it, must not put the token in the summary.
type versionNamer struct {
	masker *redact.Masker
	secret bool // the header or a key of the field names a credential
}

func newVersionNamer(opts Options) versionNamer {
	n := versionNamer{masker: redact.NewMasker(opts.Secrets...)}
	if opts.VersionHeader != "" && redact.Secret(opts.VersionHeader) {
		n.secret = true
	}
	for key := range strings.SplitSeq(opts.VersionField, ".") {
		n.secret = n.secret || key != "" && redact.Secret(key)
	}
	return n
}

// authSchemes are the schemes of an Authorization header's value; what
// follows one is a credential.
var authSchemes = []string{"bearer ", "basic ", "digest ", "token ", "negotiate "}

// of returns the name a version read as read is shown by: the known
// secrets and credential-looking pairs masked (redact.Masker.Inline), the
// credential after an authorization scheme masked, and at most
// maxVersionName bytes long.
func (n versionNamer) of(read string) string {
	if n.secret {
		return redact.Mask
	}
	name := n.masker.Inline(read)
	for _, scheme := range authSchemes {
		if len(name) > len(scheme) && strings.EqualFold(name[:len(scheme)], scheme) {
			name = name[:len(scheme)] + redact.Mask
			break
		}
	}
	if len(name) > maxVersionName {
		cut := maxVersionName
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + "…"
	}
	return name
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

// count counts an answer of the version read, returning its index.
func (vs *versions) count(read string, sent time.Duration, ok bool) int8 {
	i := slices.IndexFunc(vs.list, func(v versionCount) bool { return v.read == read })
	if i < 0 {
		name := vs.name.of(read)
		i = slices.IndexFunc(vs.list, func(v versionCount) bool { return v.name == name })
		if i < 0 && len(vs.list) == maxVersions-1 {
			name = "other"
			i = slices.IndexFunc(vs.list, func(v versionCount) bool { return v.name == name })
		}
		if i < 0 {
			vs.list = append(vs.list, versionCount{name: name, first: sent, last: sent})
			i = len(vs.list) - 1
		}
		vs.list[i].read = read
	}
	v := &vs.list[i]
	v.first, v.last = min(v.first, sent), max(v.last, sent)
	v.requests++
	if !ok {
		v.failures++
	}
	return int8(i)
}

// byFirstAnswer lists the versions in the order they first answered, and
// renumbers the timeline's version bits to match.
func (vs *versions) byFirstAnswer(seconds []Second) []VersionSummary {
	order := make([]int, len(vs.list))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(vs.list[a].first, vs.list[b].first) })
	renumber := make([]int, len(order))
	out := make([]VersionSummary, len(order))
	for to, from := range order {
		renumber[from] = to
		v := vs.list[from]
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
