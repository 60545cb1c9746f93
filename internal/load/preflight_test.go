package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
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

func TestPreflightSaysWhatATargetAnswered(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer server.Close()
	target := []Target{{Name: "GET /health", Method: http.MethodGet, URL: server.URL + "/health"}}
	err := Preflight(context.Background(), target, time.Second, 1500*time.Millisecond)
	if err == nil {
		t.Fatal("Preflight passed a target that answered 502")
	}
	tries, every := hits.Load(), "every try"
	if tries > 1 {
		every = fmt.Sprintf("all %d tries", tries)
	}
	want := fmt.Sprintf(`target "GET /health": GET %s/health answered 502 Bad Gateway to %s in 1.5s`, server.URL, every)
	if err.Error() != want {
		t.Errorf("Preflight error\n%v\nwant (after %d tries)\n%s", err, tries, want)
	}
}

func TestPreflightSaysWhenATargetDidNotAnswer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	target := []Target{{Name: "GET /health", Method: http.MethodGet, URL: dead + "/health"}}
	err = Preflight(context.Background(), target, time.Second, 0)
	if err == nil || !strings.HasPrefix(err.Error(), `target "GET /health" did not answer within 0s: `) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Preflight error %v, want it to say the target did not answer, and why", err)
	}
}

func TestPreflightStopsAtOnceOnARequestThatCannotBeBuilt(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer server.Close()
	const secret = "s3cret-token"
	tests := []struct {
		name   string
		target Target
		want   string
	}{
		{
			"a header value with a control character",
			Target{Name: "GET /a", Method: http.MethodGet, URL: server.URL + "/a", Header: http.Header{"Authorization": {"Bearer " + secret + "\x01"}}},
			`target "GET /a": could not build the request: header "Authorization" contains a control character, 0x01, at byte 20 of its value`,
		},
		{
			"a template that fails",
			Target{Name: "GET /b", Method: http.MethodGet, URL: server.URL + "/b", Render: func(*vegeta.Target) error { return errors.New("no key to sign with") }},
			`target "GET /b": could not build the request: no key to sign with`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Were the failure taken for one that trying again may mend,
			// the pre-flight would go on until the context ends.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := Preflight(ctx, []Target{tt.target}, time.Second, time.Hour)
			var unbuilt *UnbuiltError
			if !errors.As(err, &unbuilt) || err.Error() != tt.want {
				t.Errorf("Preflight error\n%v\nwant\n%s", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("the error quotes the header's value: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		if n := hits.Load(); n != 0 {
			t.Errorf("the API got %d requests that could not be built", n)
		}
	})
}

func TestInvalidHeaderByteFindsWhatNetHTTPRefuses(t *testing.T) {
	t.Parallel()
	for b := range 256 {
		value := "ab" + string(rune(b))
		if b >= 0x80 {
			value = "ab" + string([]byte{byte(b)})
		}
		got := InvalidHeaderByte(value)
		refused := b < ' ' && b != '\t' || b == 0x7f
		if refused && got != 2 || !refused && got != -1 {
			t.Errorf("InvalidHeaderByte(%q) = %d, want %d", value, got, map[bool]int{true: 2, false: -1}[refused])
		}
	}
}
