package redact

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSecretNamesCredentialsOnly(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"Authorization":        true,
		"Proxy-Authorization":  true,
		"Cookie":               true,
		"Set-Cookie":           true,
		"X-Api-Key":            true,
		"x_api_key":            true,
		"apiKey":               true,
		"X-Auth-User":          true,
		"X-CSRF-Token":         true,
		"X-Amz-Security-Token": true,
		"client_secret":        true,
		"password":             true,
		"Content-Type":         false,
		"Accept":               false,
		"author":               false,
		"User-Agent":           false,
		"id":                   false,
	} {
		if got := Secret(name); got != want {
			t.Errorf("Secret(%q) = %t, want %t", name, got, want)
		}
	}
}

func TestMaskerHidesValuesAndCredentialHeaders(t *testing.T) {
	t.Parallel()
	m := NewMasker("s3cr3t-token", "", "ab")
	if got, want := m.String(`{"echo":"s3cr3t-token","ab":"ab"}`), `{"echo":"***","ab":"ab"}`; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	h := http.Header{"Authorization": {"Bearer x"}, "Content-Type": {"text/plain"}, "X-Echo": {"got s3cr3t-token"}}
	want := http.Header{"Authorization": {"***"}, "Content-Type": {"text/plain"}, "X-Echo": {"got ***"}}
	if diff := cmp.Diff(want, m.Header(h)); diff != "" {
		t.Errorf("Header (-want +got):\n%s", diff)
	}
	if h.Get("Authorization") != "Bearer x" {
		t.Error("Header changed its argument")
	}
	var zero *Masker
	if got := zero.String("s3cr3t-token"); got != "s3cr3t-token" {
		t.Errorf("nil Masker changed %q to %q", "s3cr3t-token", got)
	}
}

func TestInlineHidesCredentialPairs(t *testing.T) {
	t.Parallel()
	var m *Masker
	for in, want := range map[string]string{
		`GET /v1/x?api_key=abc123&page=2`:                                       `GET /v1/x?api_key=***&page=2`,
		`{"user":"ann","password": "hunter2","n":1}`:                            `{"user":"ann","password": "***","n":1}`,
		`{"headers":{"Authorization":"Bearer eyJhbGci"}}`:                       `{"headers":{"Authorization":"***"}}`,
		`session=xyz; theme=dark`:                                               `session=***; theme=dark`,
		`nothing secret here: id=42`:                                            `nothing secret here: id=42`,
		`"GET / HTTP/1.1" 200 1 "Cookie: session=xyz; theme=dark; auth=s3cr3t"`: `"GET / HTTP/1.1" 200 1 "Cookie: ***"`,
		`{"Cookie": "a=1; auth=s3cr3t", "n": 1}`:                                `{"Cookie": "***", "n": 1}`,
		"Proxy-Authorization: Basic dXNlcjpwYXNz\nAccept: */*":                  "Proxy-Authorization: ***\nAccept: */*",
	} {
		if got := m.Inline(in); got != want {
			t.Errorf("Inline(%q) = %q, want %q", in, got, want)
		}
	}
}
