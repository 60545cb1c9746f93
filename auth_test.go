package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// guardedAPI answers 200 to requests that allow admits, 403 to the others,
// and remembers why it refused the first one it refused.
type guardedAPI struct {
	*httptest.Server
	accepted, refused atomic.Int64
	mu                sync.Mutex
	why               string
}

func startGuardedAPI(t *testing.T, allow func(r *http.Request) error) *guardedAPI {
	t.Helper()
	api := &guardedAPI{}
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := allow(r); err != nil {
			api.refused.Add(1)
			api.mu.Lock()
			if api.why == "" {
				api.why = err.Error()
			}
			api.mu.Unlock()
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		api.accepted.Add(1)
	}))
	t.Cleanup(api.Close)
	return api
}

func (a *guardedAPI) firstRefusal() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.why
}

// checkHMAC is Openverse's check, written from its description rather than
// from the signer: HMAC-SHA256 of the request target as received followed
// by the timestamp, URL-safe base64 without padding, fresh within a minute.
func checkHMAC(secret string) func(r *http.Request) error {
	return func(r *http.Request) error {
		stamp := r.Header.Get("x-ov-cf-timestamp")
		sent, err := strconv.ParseInt(stamp, 10, 64)
		if err != nil || time.Since(time.Unix(sent, 0)).Abs() > time.Minute {
			return fmt.Errorf("timestamp %q", stamp)
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(r.RequestURI + stamp))
		want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		if got := r.Header.Get("x-ov-cf-mac"); !hmac.Equal([]byte(got), []byte(want)) {
			return fmt.Errorf("mac %q for %q, want %q", got, r.RequestURI, want)
		}
		return nil
	}
}

const hmacSecret = "ov-hmac-secret-for-tests-9f2c"

func TestHMACSignedRequestsAreAccepted(t *testing.T) {
	t.Parallel()
	api := startGuardedAPI(t, checkHMAC(hmacSecret))
	run := runCommand(t, nil, map[string]string{
		"targets": "# @template\nGET " + api.URL + "/v1/images/?q={{pick cats,dogs on a beach,birds & bees}}&page={{randint 1 5}}\n" +
			"GET " + api.URL + "/v1/audio/stats/",
		"rate":                   "40/1s",
		"duration":               "2s",
		"hmac-secret":            hmacSecret,
		"max-error-rate":         "0%",
		"fail-on-load-shortfall": "false",
	}, nil)
	if run.exit != exitPass || api.refused.Load() != 0 {
		t.Fatalf("exit %d, %d refused (first: %s)\n%s", run.exit, api.refused.Load(), api.firstRefusal(), run.summary)
	}
	if api.accepted.Load() < 70 {
		t.Errorf("%d requests accepted, want about 80", api.accepted.Load())
	}
}

func TestAWrongSecretIsCaughtByThePreflight(t *testing.T) {
	t.Parallel()
	api := startGuardedAPI(t, checkHMAC(hmacSecret))
	run := runCommand(t, nil, map[string]string{
		"targets":     api.URL + "/v1/images/",
		"hmac-secret": "not-the-right-secret-x1",
	}, nil)
	if run.exit != exitSetup || !strings.Contains(run.stderr, "answered 403 Forbidden; check the auth inputs") {
		t.Errorf("exit %d, want %d with the 403 explained:\n%s", run.exit, exitSetup, run.stderr)
	}
	if n := api.refused.Load(); n != 1 {
		t.Errorf("the API refused %d requests; a 403 is final, so want the one pre-flight request", n)
	}
}

func TestAWrongSecretShowsAs403s(t *testing.T) {
	t.Parallel()
	api := startGuardedAPI(t, checkHMAC(hmacSecret))
	run := runCommand(t, nil, map[string]string{
		"targets":                api.URL + "/v1/images/",
		"rate":                   "20/1s",
		"duration":               "1s",
		"hmac-secret":            "not-the-right-secret-x1",
		"fail-on-load-shortfall": "false",
		"preflight-timeout":      "0s",
	}, nil)
	if run.exit != exitBreach {
		t.Fatalf("exit %d, want %d\n%s", run.exit, exitBreach, run.stderr)
	}
	summaryHas(t, run, "| forbidden (403) |", "| forbidden (403) | 20 | `", "error_rate was 100.00%")
}

const jwtSecret = "jwt-hs256-secret-for-tests-77"

func TestJWTsAreMintedPerUserAndVerified(t *testing.T) {
	t.Parallel()
	var subjects sync.Map
	api := startGuardedAPI(t, func(r *http.Request) error {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return fmt.Errorf("no bearer token")
		}
		token, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return []byte(jwtSecret), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
		if err != nil {
			return err
		}
		sub, _ := token.Claims.GetSubject()
		aud, _ := token.Claims.GetAudience()
		if !strings.HasPrefix(sub, "user-") || len(aud) != 1 || aud[0] != "staging-api" {
			return fmt.Errorf("claims sub %q aud %v", sub, aud)
		}
		subjects.Store(sub, true)
		return nil
	})
	run := runCommand(t, nil, map[string]string{
		"targets":                api.URL + "/v1/me",
		"rate":                   "50/1s",
		"duration":               "2s",
		"users":                  "7",
		"jwt-secret":             jwtSecret,
		"jwt-claims":             `{"sub": "{{user}}", "aud": "staging-api"}`,
		"max-error-rate":         "0%",
		"fail-on-load-shortfall": "false",
	}, nil)
	if run.exit != exitPass || api.refused.Load() != 0 {
		t.Fatalf("exit %d, %d refused (first: %s)\n%s", run.exit, api.refused.Load(), api.firstRefusal(), run.stderr)
	}
	n := 0
	subjects.Range(func(any, any) bool { n++; return true })
	if n != 7 {
		t.Errorf("%d distinct subjects, want one per simulated user (7)", n)
	}
}

func TestES256KeyFromPEMSigns(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	api := startGuardedAPI(t, func(r *http.Request) error {
		raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		_, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return &key.PublicKey, nil }, jwt.WithValidMethods([]string{"ES256"}))
		return err
	})
	run := runCommand(t, nil, map[string]string{
		"targets":                api.URL + "/v1/me",
		"rate":                   "20/1s",
		"duration":               "1s",
		"jwt-private-key":        pemKey,
		"jwt-claims":             `{"sub": "{{uuid}}"}`,
		"max-error-rate":         "0%",
		"fail-on-load-shortfall": "false",
	}, nil)
	if run.exit != exitPass || api.refused.Load() != 0 {
		t.Fatalf("exit %d, %d refused (first: %s)\n%s", run.exit, api.refused.Load(), api.firstRefusal(), run.stderr)
	}
}

// tokenEndpoint issues client-credentials tokens that live for life, and
// tells whether a token is one of its live ones.
type tokenEndpoint struct {
	*httptest.Server
	life    time.Duration
	fetches atomic.Int64
	mu      sync.Mutex
	expiry  map[string]time.Time
}

const oauthSecret = "oauth-client-secret-for-tests-31"

func startTokenEndpoint(t *testing.T, life time.Duration) *tokenEndpoint {
	t.Helper()
	te := &tokenEndpoint{life: life, expiry: map[string]time.Time{}}
	te.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
			return
		}
		if !ok || id != "load-check" || secret != oauthSecret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		n := te.fetches.Add(1)
		token := fmt.Sprintf("tok-%d-%d", n, time.Now().UnixNano())
		te.mu.Lock()
		te.expiry[token] = time.Now().Add(life)
		te.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": int(life.Seconds())})
	}))
	t.Cleanup(te.Close)
	return te
}

func (te *tokenEndpoint) allow(r *http.Request) error {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	te.mu.Lock()
	defer te.mu.Unlock()
	expiry, ok := te.expiry[token]
	switch {
	case !ok:
		return fmt.Errorf("unknown token %q", token)
	case time.Now().After(expiry):
		return fmt.Errorf("token expired %s ago", time.Since(expiry))
	}
	return nil
}

func TestOAuthTokensAreRenewedBeforeTheyExpire(t *testing.T) {
	t.Parallel()
	te := startTokenEndpoint(t, 2*time.Second)
	api := startGuardedAPI(t, te.allow)
	run := runCommand(t, nil, map[string]string{
		"targets":                api.URL + "/v1/orders",
		"rate":                   "50/1s",
		"duration":               "5s",
		"oauth-token-url":        te.URL + "/oauth/token",
		"oauth-client-id":        "load-check",
		"oauth-client-secret":    oauthSecret,
		"oauth-scopes":           "orders:read",
		"max-error-rate":         "0%",
		"fail-on-load-shortfall": "false",
	}, nil)
	if run.exit != exitPass || api.refused.Load() != 0 {
		t.Fatalf("exit %d, %d refused (first: %s)\n%s\n%s", run.exit, api.refused.Load(), api.firstRefusal(), run.stdout, run.stderr)
	}
	// Tokens live 2 s and are renewed at 2/3 of their life: about four
	// fetches in 5 s, shared by every worker.
	if n := te.fetches.Load(); n < 3 || n > 6 {
		t.Errorf("%d token fetches over 5 s of 2 s tokens, want 3 to 6", n)
	}
}

func TestRefusedOAuthCredentialsStopBeforeAnyLoad(t *testing.T) {
	t.Parallel()
	te := startTokenEndpoint(t, time.Minute)
	api := startGuardedAPI(t, te.allow)
	run := runCommand(t, nil, map[string]string{
		"targets":             api.URL + "/v1/orders",
		"oauth-token-url":     te.URL + "/oauth/token",
		"oauth-client-id":     "load-check",
		"oauth-client-secret": "wrong-secret-for-the-test-55",
	}, nil)
	if run.exit != exitSetup {
		t.Errorf("exit %d, want %d", run.exit, exitSetup)
	}
	if !strings.Contains(run.stderr, `input "oauth-token-url"`) || !strings.Contains(run.stderr, "401 invalid_client") {
		t.Errorf("stderr does not explain the refusal:\n%s", run.stderr)
	}
	if n := api.accepted.Load() + api.refused.Load(); n != 0 {
		t.Errorf("the API saw %d requests", n)
	}
}

func TestBearerTokenAndTargetsFileWithAMix(t *testing.T) {
	t.Parallel()
	const token = "static-bearer-token-for-tests-64"
	var search, list, detail atomic.Int64
	api := startGuardedAPI(t, func(r *http.Request) error {
		if r.Header.Get("Authorization") != "Bearer "+token {
			return fmt.Errorf("authorization %q", r.Header.Get("Authorization"))
		}
		if r.Header.Get("Accept") != "application/json" {
			return fmt.Errorf("accept %q", r.Header.Get("Accept"))
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/search":
			var body map[string]string
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body["q"] == "" || body["request_id"] == "" {
				return fmt.Errorf("search body %v, %v", body, err)
			}
			search.Add(1)
		case r.URL.Path == "/v1/items":
			list.Add(1)
		case strings.HasPrefix(r.URL.Path, "/v1/items/"):
			detail.Add(1)
		}
		return nil
	})
	dir := t.TempDir()
	body := filepath.Join(dir, "search.json")
	if err := os.WriteFile(body, []byte(`{"q": "{{pick cats,dogs}}", "request_id": "{{uuid}}"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "targets.http")
	content := "# @name search\n# @weight 6\n# @template\nPOST " + api.URL + "/v1/search\nContent-Type: application/json\n@" + body + "\n\n" +
		"# @name list\n# @weight 3\n# @template\nGET " + api.URL + "/v1/items?page={{randint 1 9}}\n\n" +
		"# @name detail\n# @template\nGET " + api.URL + "/v1/items/{{seq}}\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	run := runCommand(t, nil, map[string]string{
		"targets-file":           file,
		"headers":                "Accept: application/json",
		"bearer-token":           token,
		"rate":                   "100/1s",
		"duration":               "2s",
		"thresholds":             "search: p(95)<1s\nlist: error_rate<=0%\ndetail: downtime<=0s",
		"max-error-rate":         "0%",
		"fail-on-load-shortfall": "false",
	}, nil)
	if run.exit != exitPass || api.refused.Load() != 0 {
		t.Fatalf("exit %d, %d refused (first: %s)\n%s\n%s", run.exit, api.refused.Load(), api.firstRefusal(), run.stderr, run.summary)
	}
	s, l, d := search.Load(), list.Load(), detail.Load()
	if total := s + l + d; total < 180 || s < 5*total/10 || s > 7*total/10 || l < 2*total/10 || l > 4*total/10 || d == 0 {
		t.Errorf("mix search %d, list %d, detail %d; want 60%%, 30%%, 10%%", s, l, d)
	}
	for _, want := range []string{"`search: p(95)", "`list: error_rate", "`detail: downtime", "| `search` |", "| `list` |", "| `detail` |"} {
		if !strings.Contains(run.summary, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}
