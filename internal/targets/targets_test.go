package targets

import (
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
POST https://staging.example.com/v1/search
Content-Type: application/json
X-Case-Kept: yes
@` + body + `

GET https://staging.example.com/v1/items#fragment-dropped
https://staging.example.com/health
`
	specs, err := ParseHTTP(text, "t.http")
	if err != nil {
		t.Fatal(err)
	}
	if err := Name(specs); err != nil {
		t.Fatal(err)
	}
	type view struct {
		Name, Method, URL, Body string
		Headers                 []string
		Weight                  int
		Timeout                 time.Duration
	}
	var got []view
	for _, s := range specs {
		v := view{Name: s.Name, Method: s.Method, URL: s.URL.String(), Weight: s.Weight, Timeout: s.Timeout}
		if s.Body != nil {
			v.Body = s.Body.String()
		}
		for _, h := range s.Header {
			v.Headers = append(v.Headers, h.Name+": "+h.Value.String())
		}
		got = append(got, v)
	}
	want := []view{
		{Name: "search", Method: "POST", URL: "https://staging.example.com/v1/search", Body: `{"q":"{{pick a,b}}"}`,
			Headers: []string{"Content-Type: application/json", "X-Case-Kept: yes"}, Weight: 60, Timeout: 2 * time.Second},
		{Name: "GET /v1/items", Method: "GET", URL: "https://staging.example.com/v1/items"},
		{Name: "GET /health", Method: "GET", URL: "https://staging.example.com/health"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("specs (-want +got):\n%s", diff)
	}
}

func TestParseHTTPSaysWhereItWentWrong(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"GET http://h/\nnot a header":                           `t.http line 2: "not a header" is not a header`,
		"Content-Type: x":                                       `t.http line 1: "Content-Type: x": want METHOD URL`,
		"FETCH http://h/":                                       `unknown method "FETCH"`,
		"# @weight 0\nGET http://h/":                            `weight "0"`,
		"# @timeout soon\nGET http://h/":                        `timeout "soon"`,
		"GET http://h/ extra":                                   `want METHOD URL`,
		"GET http://h/\n@/no/such/body":                         `t.http line 2: body "/no/such/body"`,
		"GET http://h/a b":                                      `want METHOD URL`,
		"GET http://h/{{nope}}":                                 `unknown placeholder`,
		"GET http://{{pick a,b}}:99999/":                        `bad port`,
		"GET http://h/x\nGET http://h/x":                        `the name "GET http://h/x" is taken by t.http line 1`,
		"# @name a\nGET http://h/\n\n# @name a\nGET http://h/b": `the name "a" is taken`,
	} {
		specs, err := ParseHTTP(text, "t.http")
		if err == nil {
			err = Name(specs)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseHTTP(%q) error = %v, want one saying %q", text, err, want)
		}
	}
}

func TestParseJSONLinesReadsVegetasFormat(t *testing.T) {
	t.Parallel()
	text := `{"method":"POST","url":"http://h/a","header":{"X-A":["1","2"]},"body":"eyJrIjoxfQ==","name":"a","weight":3,"timeout":"1s"}

{"url":"http://h/b"}`
	specs, err := ParseJSONLines(text, "t.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].Name != "a" || specs[0].Weight != 3 || specs[0].Timeout != time.Second ||
		specs[0].Body.String() != `{"k":1}` || len(specs[0].Header) != 2 || specs[1].Method != "GET" {
		t.Errorf("specs = %+v", specs)
	}
	if _, err := ParseJSONLines(`{"url":"http://h/","colour":"red"}`, "t.json"); err == nil || !strings.Contains(err.Error(), `t.json line 1`) {
		t.Errorf("unknown field: error = %v", err)
	}
}

// build renders the first target of specs once with auth.
func build(t *testing.T, spec string, auth ...Auth) *vegeta.Target {
	t.Helper()
	specs, err := ParseHTTP(spec, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := Name(specs); err != nil {
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
	vt := build(t, "GET https://h/v1/images/?q={{pick cats & dogs}}", HMAC{Secret: []byte("secret"), Header: "x-ov-cf-mac", TimestampHeader: "x-ov-cf-timestamp"})
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
