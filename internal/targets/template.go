package targets

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Template is text with {{...}} placeholders filled at send time:
//
//	{{uuid}}              a random UUID
//	{{seq}}               a number that grows by one per request, from 0
//	{{user}}              the simulated user sending it: user-0 ... user-(users-1)
//	{{now}}               the time, RFC 3339 in UTC
//	{{unix}}              the time in Unix seconds
//	{{unix_ms}}           the time in Unix milliseconds
//	{{randint 1 100}}     a random whole number from 1 to 100
//	{{pick red,green}}    one of the listed values, at random
//	{{pick_line terms.txt}} one line of a file, at random
//
// In URLs a filled value is query-escaped; in headers it may not hold a
// line break; in bodies it goes in as it is.
type Template struct {
	raw     string
	parts   []part
	context Context
}

// Context says where a template is used, which decides how values are
// escaped.
type Context uint8

// Where a template may be used.
const (
	InURL Context = iota
	InHeader
	InBody
)

// part is a literal (fill == nil) or a placeholder.
type part struct {
	literal string
	fill    func(v *Vars) string
	perUser bool // the value depends on the user alone
}

// Vars are what one request's placeholders are filled from.
type Vars struct {
	Seq  uint64
	User int
	Now  time.Time
}

// Literal is text sent as it is, {{ included: a template without
// placeholders.
func Literal(text string) *Template {
	t := &Template{raw: text}
	t.literal(text)
	return t
}

// Parse reads a template. Text without {{ is a template that renders
// itself.
func Parse(text string, ctx Context) (*Template, error) {
	t := &Template{raw: text, context: ctx}
	rest := text
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			t.literal(rest)
			return t, nil
		}
		t.literal(rest[:open])
		end := strings.Index(rest[open:], "}}")
		if end < 0 {
			return nil, fmt.Errorf("%q has {{ without }}", text)
		}
		expr := strings.TrimSpace(rest[open+2 : open+end])
		p, err := placeholder(expr)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", text, err)
		}
		t.parts = append(t.parts, p)
		rest = rest[open+end+2:]
	}
}

func (t *Template) literal(s string) {
	if s != "" {
		t.parts = append(t.parts, part{literal: s})
	}
}

// Static reports whether the template has no placeholders.
func (t *Template) Static() bool {
	for _, p := range t.parts {
		if p.fill != nil {
			return false
		}
	}
	return true
}

// PerUser reports whether the template's value depends on nothing but the
// simulated user, so it can be computed once per user.
func (t *Template) PerUser() bool {
	for _, p := range t.parts {
		if p.fill != nil && !p.perUser {
			return false
		}
	}
	return true
}

// String returns the template as written.
func (t *Template) String() string { return t.raw }

// Render fills the placeholders.
func (t *Template) Render(v *Vars) string {
	switch {
	case len(t.parts) == 0:
		return ""
	case len(t.parts) == 1 && t.parts[0].fill == nil:
		return t.parts[0].literal
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.fill == nil {
			b.WriteString(p.literal)
			continue
		}
		value := p.fill(v)
		switch t.context {
		case InURL:
			value = url.QueryEscape(value)
		case InHeader:
			value = strings.NewReplacer("\r", " ", "\n", " ").Replace(value)
		}
		b.WriteString(value)
	}
	return b.String()
}

var errPlaceholder = errors.New("want one of uuid, seq, user, now, unix, unix_ms, randint A B, pick a,b,c, pick_line FILE")

func placeholder(expr string) (part, error) {
	name, arg, _ := strings.Cut(expr, " ")
	arg = strings.TrimSpace(arg)
	noArg := func(p part) (part, error) {
		if arg != "" {
			return part{}, fmt.Errorf("{{%s}} takes no argument", name)
		}
		return p, nil
	}
	switch name {
	case "uuid":
		return noArg(part{fill: func(*Vars) string { return uuid.NewString() }})
	case "seq":
		return noArg(part{fill: func(v *Vars) string { return strconv.FormatUint(v.Seq, 10) }})
	case "user":
		return noArg(part{fill: func(v *Vars) string { return "user-" + strconv.Itoa(v.User) }, perUser: true})
	case "now":
		return noArg(part{fill: func(v *Vars) string { return v.Now.UTC().Format(time.RFC3339) }})
	case "unix":
		return noArg(part{fill: func(v *Vars) string { return strconv.FormatInt(v.Now.Unix(), 10) }})
	case "unix_ms":
		return noArg(part{fill: func(v *Vars) string { return strconv.FormatInt(v.Now.UnixMilli(), 10) }})
	case "randint":
		lo, hi, err := bounds(arg)
		if err != nil {
			return part{}, err
		}
		return part{fill: func(*Vars) string { return strconv.FormatInt(lo+rand.Int64N(hi-lo+1), 10) }}, nil
	case "pick":
		values := strings.Split(arg, ",")
		for i := range values {
			values[i] = strings.TrimSpace(values[i])
		}
		if arg == "" {
			return part{}, errors.New("{{pick}} needs values, such as {{pick red,green,blue}}")
		}
		return part{fill: func(*Vars) string { return values[rand.IntN(len(values))] }}, nil
	case "pick_line":
		values, err := readLines(arg)
		if err != nil {
			return part{}, err
		}
		return part{fill: func(*Vars) string { return values[rand.IntN(len(values))] }}, nil
	}
	return part{}, fmt.Errorf("unknown placeholder {{%s}}; %w", expr, errPlaceholder)
}

func bounds(arg string) (lo, hi int64, err error) {
	fields := strings.Fields(arg)
	if len(fields) == 2 {
		lo, err1 := strconv.ParseInt(fields[0], 10, 64)
		hi, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 == nil && err2 == nil && lo <= hi && hi-lo < 1<<62 {
			return lo, hi, nil
		}
	}
	return 0, 0, fmt.Errorf("{{randint %s}}: want two whole numbers, the lower first, such as {{randint 1 100}}", arg)
}

// readLines reads the non-blank lines of a file for {{pick_line}}.
func readLines(path string) ([]string, error) {
	if path == "" {
		return nil, errors.New("{{pick_line}} needs a file, such as {{pick_line terms.txt}}")
	}
	raw, err := ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("{{pick_line %s}}: %w", path, err)
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("{{pick_line %s}}: %w", path, err)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("{{pick_line %s}}: the file has no lines", path)
	}
	return lines, nil
}

// counter numbers requests for {{seq}} and spreads them over users.
type counter struct{ n atomic.Uint64 }

func (c *counter) next() uint64 { return c.n.Add(1) - 1 }
