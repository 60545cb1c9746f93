package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReachTakesAnyAnswerButAnAuthRefusal(t *testing.T) {
	t.Parallel()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gone":
			w.WriteHeader(http.StatusNotFound)
		case "/private":
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer server.Close()
	ctx := context.Background()
	gone := []Target{{Name: "GET /gone", Method: http.MethodGet, URL: server.URL + "/gone"}}
	private := []Target{{Name: "GET /private", Method: http.MethodGet, URL: server.URL + "/private"}}
	if err := Reach(ctx, gone, time.Second, 0); err != nil {
		t.Errorf("Reach with a 404: %v, want the API taken as up", err)
	}
	if err := Preflight(ctx, gone, time.Second, 0); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Preflight with a 404: %v, want a refusal", err)
	}
	if err := Reach(ctx, private, time.Second, 0); err == nil || !strings.Contains(err.Error(), "auth inputs") {
		t.Errorf("Reach with a 401: %v, want the auth inputs blamed", err)
	}
}
