package config

import (
	"errors"
	"strings"
	"testing"
)

// A value no request can carry in a header would fail every request of the
// load (and be taken for the API's failure): it is refused before any, and
// a secret's value is not quoted.
func TestAHeaderValueNoRequestCanCarryIsRefusedWithoutQuotingIt(t *testing.T) {
	t.Parallel()
	const key = "k3y-that-stays-unsaid"
	tests := []struct {
		name   string
		inputs map[string]string
		input  string
		want   string
	}{
		{"a bearer token with a control character", map[string]string{"bearer-token": key + "\x01"}, "bearer-token",
			"contains a control character, 0x01, at byte 22, which no request can carry in the Authorization header"},
		{"a bearer token over two lines", map[string]string{"bearer-token": key + "\n" + key}, "bearer-token",
			"contains a control character, 0x0a, at byte 22"},
		{"a bearer token with DEL", map[string]string{"bearer-token": "\x7f" + key}, "bearer-token",
			"contains a control character, 0x7f, at byte 1"},
		{"an API key header with a control character", map[string]string{"headers": "Accept: application/json\nX-Api-Key: " + key + "\x1b"}, "headers",
			`line 2: the value of header "X-Api-Key" contains a control character, 0x1b, at byte 22, which no request can carry in a header`},
		{"a templated header with a control character", map[string]string{"headers": "# @template\nX-Request: {{uuid}}\x00" + key}, "headers",
			`line 2: the value of header "X-Request" contains a control character, 0x00, at byte 9`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inputs := map[string]string{"targets": "http://127.0.0.1:8080/"}
			for k, v := range tt.inputs {
				inputs[k] = v
			}
			_, err := Parse(source(t, inputs))
			var cerr *Error
			if !errors.As(err, &cerr) || cerr.Input != tt.input || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want input %q: ...%s", err, tt.input, tt.want)
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("the error quotes the value: %v", err)
			}
		})
	}
	t.Run("while a tab and text past ASCII are sent as they are", func(t *testing.T) {
		t.Parallel()
		_, err := Parse(source(t, map[string]string{"targets": "http://127.0.0.1:8080/", "bearer-token": "a\tb\u00e9c", "headers": "X-Name: Jos\u00e9\tM"}))
		if err != nil {
			t.Errorf("values net/http sends were refused: %v", err)
		}
	})
}
