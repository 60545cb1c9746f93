package deploy

import (
	"errors"
	"testing"
)

func TestNewPicksTheAPIRoot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, apiURL, want string
	}{
		{"an empty URL means github.com", "", "https://api.github.com/"},
		{"github.com's GITHUB_API_URL is kept", "https://api.github.com", "https://api.github.com/"},
		{"a GitHub Enterprise Server API URL is kept", "https://github.example.com/api/v3", "https://github.example.com/api/v3/"},
		{"a GitHub Enterprise Server host gets /api/v3", "https://github.example.com", "https://github.example.com/api/v3/"},
		{"a GHE.com API URL is kept", "https://api.acme.ghe.com", "https://api.acme.ghe.com/"},
		{"a loopback stand-in gets /api/v3", "http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v3/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(testToken, tc.apiURL)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := c.BaseURL(); got != tc.want {
				t.Errorf("BaseURL = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNewRejectsABadSetup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, token, apiURL string
	}{
		{"an empty token", "", ""},
		{"an API URL without a scheme", testToken, "github.example.com"},
		{"an API URL of another scheme", testToken, "ftp://github.example.com"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.token, tc.apiURL)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("New error = %v, want a configuration error", err)
			}
		})
	}
}
