package replay

import (
	"fmt"
	"sync"
	"testing"
)

func TestPathsGroupIntoEndpointPatterns(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/v1/images/123":                          "/v1/images/{id}",
		"/v1/images/456?size=thumb":               "/v1/images/{id}",
		"https://api.example.com/v1/images/9#top": "/v1/images/{id}",
		"https://api.example.com":                 "/",
		"":                                        "/",
		"/":                                       "/",
		"/v1/users/7d6f1f2e-3b7a-4c1e-9f0a-2b8c5d4e6f70/albums": "/v1/users/{uuid}/albums",
		"/v1/blobs/9b74c9897bac770ffc029102a200c5de":            "/v1/blobs/{hash}",
		"/v1/blobs/9B74C9897BAC770F":                            "/v1/blobs/{hash}",
		"/reset/eyJhbGciOiJIUzI1NiJ9_c2VjcmV0LXRva2Vu":          "/reset/{token}",
		"/blog/2024-11-23-moving-to-a-new-datacentre":           "/blog/{token}",
		"/orders/ORD-12345/lines/3":                             "/orders/{id}/lines/{id}",
		"/img/1842.webp":                                        "/img/{id}.webp",
		"/v2/h264/streams":                                      "/v2/h264/streams",
		"/oauth2/authorize":                                     "/oauth2/authorize",
		"/docs/getting-started":                                 "/docs/getting-started",
		"/users/alice/settings":                                 "/users/alice/settings",
		"/v1/images/":                                           "/v1/images/",
		"/a//b":                                                 "/a//b",
	} {
		if got := PathPattern(path); got != want {
			t.Errorf("PathPattern(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestPatternsStayBounded(t *testing.T) {
	t.Parallel()
	p := &Patterns{MaxPatterns: 3}
	if got, want := p.Pattern("GET", "/v1/images/1"), "GET /v1/images/{id}"; got != want {
		t.Errorf("Pattern = %q, want %q", got, want)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				p.Pattern("GET", fmt.Sprintf("/v1/images/%d", i))
				p.Pattern("GET", fmt.Sprintf("/page-%c%d", 'a'+g, i%3))
			}
		})
	}
	wg.Wait()
	if got := p.Known(); got != 3 {
		t.Errorf("Known() = %d, want the cap of 3", got)
	}
	if got := p.Pattern("GET", "/v1/images/77"); got != "GET /v1/images/{id}" {
		t.Errorf("a known pattern after the cap = %q, want it kept", got)
	}
	if got := p.Pattern("POST", "/somewhere/new"); got != Other {
		t.Errorf("a new pattern after the cap = %q, want %q", got, Other)
	}
	var zero Patterns
	for i := range DefaultMaxPatterns + 10 {
		zero.Pattern("GET", fmt.Sprintf("/p%c/%c", 'a'+i%26, 'a'+i/26))
	}
	if zero.Known() != DefaultMaxPatterns {
		t.Errorf("the zero Patterns kept %d patterns, want %d", zero.Known(), DefaultMaxPatterns)
	}
}
