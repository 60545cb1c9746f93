package targets

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestTemplatesFillEachPlaceholder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	terms := filepath.Join(dir, "terms.txt")
	if err := os.WriteFile(terms, []byte("alpha\n\nbeta gamma\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	v := &Vars{Seq: 41, User: 3, Now: now}
	tests := []struct {
		text string
		ctx  Context
		want string // a regular expression
	}{
		{"plain", InBody, `^plain$`},
		{"{{seq}}-{{user}}", InBody, `^41-user-3$`},
		{"{{now}} {{unix}} {{unix_ms}}", InBody, `^2026-11-23T12:00:00Z 1795435200 1795435200000$`},
		{"{{uuid}}", InBody, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`},
		{"n={{randint 5 7}}", InBody, `^n=[567]$`},
		{"{{pick red, green}}", InBody, `^(red|green)$`},
		{"q={{pick_line " + terms + "}}", InURL, `^q=(alpha|beta\+gamma)$`},
		{"{{pick a b,c&d}}", InURL, `^(a\+b|c%26d)$`},
		{"{{pick a\nb}}", InHeader, `^a b$`},
	}
	for _, tt := range tests {
		tmpl, err := Parse(tt.text, tt.ctx)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.text, err)
			continue
		}
		for range 20 {
			if got := tmpl.Render(v); !regexp.MustCompile(tt.want).MatchString(got) {
				t.Errorf("Parse(%q).Render = %q, want %s", tt.text, got, tt.want)
				break
			}
		}
	}
}

func TestTemplatesRejectWhatTheyCannotFill(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"{{uuid":              "without }}",
		"{{nope}}":            "unknown placeholder",
		"{{randint 9 1}}":     "the lower first",
		"{{randint x}}":       "two whole numbers",
		"{{pick}}":            "needs values",
		"{{uuid 3}}":          "takes no argument",
		"{{pick_line /nope}}": "no such file",
	} {
		if _, err := Parse(text, InBody); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want one saying %q", text, err, want)
		}
	}
}

func TestParseHTTPReadsVegetasFormatAndAnnotations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	body := filepath.Join(dir, "body.json")
	if err := os.WriteFile(body, []byte(`{"q":"{{pick a,b}}"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	text := `# a vegeta file, annotated
# @name search
# @weight 60
# @timeout 2s
# @template
# @group browse
POST https://staging.example.com/v1/search
Content-Type: application/json
# a comment among the headers, as vegeta allows
X-Case-Kept: yes
@` + body + `

GET https://staging.example.com/v1/items#fragment-dropped
https://staging.example.com/health
PURGE https://staging.example.com/cache/{{raw}}
X-Json: {"a":{{b}}}
@` + body + `
`
	specs, err := ParseText(text, "t.http")
	if err != nil {
		t.Fatal(err)
	}
	if specs, err = Merge(specs); err != nil {
		t.Fatal(err)
	}
	want := []view{
		{Name: "search", Method: "POST", URL: "https://staging.example.com/v1/search", Body: `{"q":"{{pick a,b}}"}`,
			Headers: []string{"Content-Type: application/json", "X-Case-Kept: yes"}, Weight: 60, Timeout: 2 * time.Second,
			Group: "browse", Template: true, Where: "t.http line 7"},
		{Name: "GET /v1/items", Method: "GET", URL: "https://staging.example.com/v1/items", Where: "t.http line 13"},
		{Name: "GET /health", Method: "GET", URL: "https://staging.example.com/health", Where: "t.http line 14"},
		{Name: "PURGE /cache/{{raw}}", Method: "PURGE", URL: "https://staging.example.com/cache/{{raw}}", Body: `{"q":"{{pick a,b}}"}`,
			Headers: []string{`X-Json: {"a":{{b}}}`}, Where: "t.http line 15"},
	}
	if diff := cmp.Diff(want, views(specs)); diff != "" {
		t.Errorf("specs (-want +got):\n%s", diff)
	}
	if specs[0].Body.Static() || !specs[3].Body.Static() || !specs[3].URL.Static() || !specs[3].Header[0].Value.Static() {
		t.Error("placeholders are filled without # @template, or not filled with it")
	}
}

// view is what a test compares of a spec.
type view struct {
	Name, Method, URL, Body string
	Headers                 []string
	Weight                  int
	Timeout                 time.Duration
	Group                   string
	Template                bool
	Where                   string
}

func views(specs []Spec) []view {
	var out []view
	for _, s := range specs {
		v := view{Name: s.Name, Method: s.Method, URL: s.URL.String(), Weight: s.Weight, Timeout: s.Timeout, Group: s.Group, Template: s.Template, Where: s.Where}
		if s.Body != nil {
			v.Body = s.Body.String()
		}
		for _, h := range s.Header {
			v.Headers = append(v.Headers, h.Name+": "+h.Value.String())
		}
		out = append(out, v)
	}
	return out
}

func TestTargetsAreSentByteForByteWithoutTemplate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	body := filepath.Join(dir, "query.graphql.json")
	const graphql = `{"query":"{ items(first: 5) { id } }","variables":{"x":"{{seq}}"}}`
	if err := os.WriteFile(body, []byte(graphql), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		"POST http://127.0.0.1:1/graphql\nX-T: {{uuid}}\n@" + body,
		`{"method":"POST","url":"http://127.0.0.1:1/graphql","header":{"X-T":["{{uuid}}"]},"body":"` + base64.StdEncoding.EncodeToString([]byte(graphql)) + `"}`,
	} {
		specs, err := ParseText(text, "")
		if err != nil {
			t.Fatalf("ParseText(%q): %v", text, err)
		}
		if specs, err = Merge(specs); err != nil {
			t.Fatal(err)
		}
		mix := Mix{Specs: specs}
		target := mix.Targets()[0]
		if target.Render != nil || string(target.Body) != graphql || target.Header.Get("X-T") != "{{uuid}}" {
			t.Errorf("ParseText(%q) sends body %q, X-T %q (rendered per request: %t); want both as written", text, target.Body, target.Header.Get("X-T"), target.Render != nil)
		}
	}
}

func TestMergeWeightsRepeatsAndNamesTheRest(t *testing.T) {
	t.Parallel()
	text := `GET http://h/x
GET http://h/x
# @weight 3
GET http://h/x
GET http://h/y
POST http://h/search
Content-Type: application/json

POST http://h/search
Content-Type: text/plain

GET http://other/y
# @name GET /z
GET http://h/q
GET http://h/z
`
	specs, err := ParseText(text, "")
	if err != nil {
		t.Fatal(err)
	}
	if specs, err = Merge(specs); err != nil {
		t.Fatal(err)
	}
	type named struct {
		Name   string
		Weight int
	}
	var got []named
	for _, s := range specs {
		got = append(got, named{s.Name, s.Weight})
	}
	want := []named{
		{"GET /x", 5}, // 1 + 1 + 3
		{"GET http://h/y", 0},
		{"POST /search", 0},
		{"POST /search #2", 0},
		{"GET http://other/y", 0},
		{"GET /z", 0},
		{"GET /z #2", 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged targets (-want +got):\n%s", diff)
	}
}

func TestParseHTTPSaysWhereItWentWrong(t *testing.T) {
	t.Parallel()
	body := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(body, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]string{
		"GET http://h/\nnot a header":                               `t.http line 2: "not a header" is not a header`,
		"GET http://h/\nX-Empty:":                                   `"X-Empty:" is not a header; want Name: value, both non-empty`,
		"GET http://h/\nBad Name: x":                                `header name "Bad Name" is not a token`,
		"Content-Type: x":                                           `t.http line 1: "Content-Type: x": want METHOD URL`,
		"FETCH-IT http://h/":                                        `"FETCH-IT http://h/": want METHOD URL`,
		"get http://h/":                                             `"get http://h/": want METHOD URL`,
		"# @weight 0\nGET http://h/":                                `weight "0"`,
		"# @timeout soon\nGET http://h/":                            `timeout "soon"`,
		"# @template yes\nGET http://h/":                            `@template takes no value`,
		"# @group a,b\nGET http://h/":                               `group "a,b"`,
		"GET http://h/ extra":                                       `no space in the URL`,
		"GET\thttp://h/":                                            `with a space between them`,
		"GET http://h/\n@/no/such/body":                             `t.http line 2: body "/no/such/body"`,
		"GET http://h/\n@" + body + "\nX-A: 1":                      `"X-A: 1" follows the @file body of the target on line 2`,
		"GET http://h/a b":                                          `no space in the URL`,
		"GET http://h/?p={{randint 1 9}}":                           `to fill its {{...}} placeholders, put # @template on the line before`,
		"# @template\nGET http://h/{{nope}}":                        `unknown placeholder`,
		"# @template\nGET http://{{pick a,b}}:99999/":               `bad port`,
		"GET http://u:p@h/":                                         `carries credentials`,
		"GET http:///x":                                             `"http:///x" has no host`,
		"# @name a\nGET http://h/\n\n# @name a\nGET http://h/b":     `the name "a" is taken`,
		"GET http://h/\n{\"method\":\"GET\",\"url\":\"http://h/\"}": `is a JSON target among targets in vegeta's HTTP format`,
	} {
		specs, err := ParseText(text, "t.http")
		if err == nil {
			_, err = Merge(specs)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseText(%q) error = %v, want one saying %q", text, err, want)
		}
	}
}

func TestParseJSONLinesReadsVegetasFormat(t *testing.T) {
	t.Parallel()
	text := `{"method":"POST","url":"http://h/a","header":{"X-A":["1","2"]},"body":"eyJrIjoxfQ==","name":"a","weight":3,"timeout":"1s","group":"g","template":false}

{"method":"PROPFIND","url":"http://h/b","name":null}`
	specs, err := ParseText(text, "t.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []view{
		{Name: "a", Method: "POST", URL: "http://h/a", Body: `{"k":1}`, Headers: []string{"X-A: 1", "X-A: 2"}, Weight: 3, Timeout: time.Second, Group: "g", Where: "t.json line 1"},
		{Method: "PROPFIND", URL: "http://h/b", Where: "t.json line 3"},
	}
	if diff := cmp.Diff(want, views(specs)); diff != "" {
		t.Errorf("specs (-want +got):\n%s", diff)
	}
	for text, want := range map[string]string{
		`{"method":"GET","url":"http://h/","colour":"red"}`:  `t.json line 1: unknown field "colour"`,
		`{"method":"GET","url":"http://h/"} xyz`:             `is not a JSON target: parse error: invalid character 'x' after top-level value`,
		`{"method":"GET","url":"http://h/"}{"method":"GET"}`: `after top-level value`,
		`{"url":"http://h/"}`:                                `has no method`,
		`{"method":"GET"}`:                                   `has no url`,
		`{"method":"GET","url":"http://h/","weight":"3"}`:    `field "weight": want a whole number`,
		`{"method":"GET","url":"http://h/","weight":0}`:      `weight 0: want a whole number from 1`,
		`{"method":"G T","url":"http://h/"}`:                 `method "G T" is not a token`,
		`{"method":"GET","url":"http://h/","body":"%%%"}`:    `illegal base64`,
	} {
		if _, err := ParseText(text, "t.json"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseText(%q) error = %v, want one saying %q", text, err, want)
		}
	}
}

// build renders the first target of specs once with auth.
func build(t *testing.T, spec string, auth ...Auth) *vegeta.Target {
	t.Helper()
	specs, err := ParseText(spec, "")
	if err != nil {
		t.Fatal(err)
	}
	if specs, err = Merge(specs); err != nil {
		t.Fatal(err)
	}
	mix := Mix{Specs: specs, Auth: auth, Users: 5}
	target := mix.Targets()[0]
	if target.Render == nil {
		t.Fatal("a target with auth has no renderer")
	}
	var vt vegeta.Target
	if err := target.Render(&vt); err != nil {
		t.Fatal(err)
	}
	return &vt
}

func TestHMACMatchesAKnownSignature(t *testing.T) {
	t.Parallel()
	// Computed with: printf '%s' '/v1/images/?q=cats+%26+dogs1700000000' |
	//   openssl dgst -sha256 -hmac secret -binary | basenc --base64url | tr -d =
	const want = "q1QobdP8b5VQ3fBVraqAA6nag2ketRmw4N7O1420je8"
	if got := SignHMAC([]byte("secret"), "/v1/images/?q=cats+%26+dogs", "1700000000"); got != want {
		t.Errorf("SignHMAC = %q, want %q", got, want)
	}
	vt := build(t, "# @template\nGET https://h/v1/images/?q={{pick cats & dogs}}", HMAC{Secret: []byte("secret"), Header: "x-ov-cf-mac", TimestampHeader: "x-ov-cf-timestamp"})
	stamp := vt.Header["x-ov-cf-timestamp"][0]
	if got := vt.Header["x-ov-cf-mac"][0]; got != SignHMAC([]byte("secret"), "/v1/images/?q=cats+%26+dogs", stamp) {
		t.Errorf("the MAC does not cover the request target as sent: %q for %s", got, vt.URL)
	}
}

func TestJWTPerUserTokensAreReused(t *testing.T) {
	t.Parallel()
	minter, err := NewJWT([]byte("k"), nil, `{"sub":"{{user}}"}`, time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	token := func(user int) string {
		vt := &vegeta.Target{Header: http.Header{}}
		if err := minter.apply(vt, &Vars{User: user, Now: now}); err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(vt.Header["Authorization"][0], "Bearer ")
	}
	a, b, again := token(0), token(1), token(0)
	if a == b || a != again {
		t.Errorf("tokens user 0 %q, user 1 %q, user 0 again %q; want one per user, reused", a, b, again)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(b, claims, func(*jwt.Token) (any, error) { return []byte("k"), nil }); err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != "user-1" || claims["exp"] == nil || claims["iat"] == nil {
		t.Errorf("claims = %v", claims)
	}
	if _, err := NewJWT(nil, []byte("not a key"), `{}`, time.Minute, 1); err == nil {
		t.Error("a bad PEM key was accepted")
	}
	if _, err := NewJWT([]byte("k"), nil, `{"sub":`, time.Minute, 1); err == nil {
		t.Error("broken claims were accepted")
	}
}

func TestDecorateAddsTheHeadersAndAuthToARequestBuiltElsewhere(t *testing.T) {
	t.Parallel()
	if (&Mix{}).Decorate() != nil {
		t.Error("a mix without headers or auth decorates")
	}
	headers, err := ParseHeaders("accept: application/json\nX-Tenant: acme")
	if err != nil {
		t.Fatal(err)
	}
	m := &Mix{Headers: headers, Auth: []Auth{Bearer{Token: "t0ken"}}}
	decorate := m.Decorate()
	replayed := vegeta.Target{Method: "GET", URL: "https://staging.example.com/v1/images/7", Header: http.Header{"Accept": {"text/html"}, "User-Agent": {"okhttp"}}}
	if err := decorate(&replayed); err != nil {
		t.Fatal(err)
	}
	want := http.Header{"accept": {"application/json"}, "X-Tenant": {"acme"}, "User-Agent": {"okhttp"}, "Authorization": {"Bearer t0ken"}}
	if diff := cmp.Diff(want, replayed.Header); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	bare := vegeta.Target{Method: "GET", URL: "https://staging.example.com/health"}
	if err := decorate(&bare); err != nil || bare.Header.Get("Authorization") != "Bearer t0ken" {
		t.Errorf("a request without headers: %v, headers %v", err, bare.Header)
	}
}

func TestTheHeadersInputIsSentAsWrittenUnlessTemplated(t *testing.T) {
	t.Parallel()
	headers, err := ParseHeaders(`X-Json: {"a":{{b}}}
# a comment
X-Id: {{uuid}}

# @template
X-Request-Id: req-{{seq}}
X-After: {{seq}}`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, h := range headers {
		got[h.Name] = h.Value.Render(&Vars{Seq: 41})
	}
	want := map[string]string{"X-Json": `{"a":{{b}}}`, "X-Id": "{{uuid}}", "X-Request-Id": "req-41", "X-After": "{{seq}}"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers sent (-want +got):\n%s", diff)
	}
	for text, want := range map[string]string{
		"# @template\nX-Bad: {{nope}}":  "line 2: ",
		"X-A: 1\n# @template":           "line 2: # @template turns on the placeholders of the next header, and none follows",
		"# @template yes\nX-A: {{seq}}": `line 1: @template takes no value, not "yes"`,
		"X-A: 1\nno colon here":         `line 2: "no colon here" is not a header`,
	} {
		if _, err := ParseHeaders(text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseHeaders(%q) = %v, want an error with %q", text, err, want)
		}
	}
}

func TestAHeaderWithAControlCharacterIsRefusedWithoutQuotingItsValue(t *testing.T) {
	t.Parallel()
	_, err := parseTargetHeader("Authorization: Bearer s3cr3t\x01tail", false)
	if err == nil {
		t.Fatal("a header value with a control character was accepted")
	}
	if msg := err.Error(); strings.Contains(msg, "s3cr3t") || !strings.Contains(msg, "0x01, at byte 13") {
		t.Errorf("message %q: want the byte named and the value not quoted", msg)
	}
}
