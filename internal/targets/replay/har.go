package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// harDecoder streams log.entries of a HAR 1.2 file one entry at a time
// with encoding/json's token API, so memory is bounded by the largest
// entry (responses included: they are read past, not kept), never by the
// file. It reads request.method, request.url, request.headers,
// request.postData (text, with mimeType as the Content-Type when no header
// gives one; "encoding": "base64", which some tools write, is decoded) and
// startedDateTime.
type harDecoder struct {
	dec     *json.Decoder
	started bool // inside log.entries
	ended   bool
	entry   int
}

func newHARDecoder(in io.Reader) *harDecoder {
	return &harDecoder{dec: json.NewDecoder(in)}
}

// harEntry is what is read of an entry; the response and timings are
// skipped.
type harEntry struct {
	StartedDateTime string `json:"startedDateTime"`
	Request         struct {
		Method  string `json:"method"`
		URL     string `json:"url"`
		Headers []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"headers"`
		PostData *struct {
			MimeType string `json:"mimeType"`
			Text     string `json:"text"`
			Encoding string `json:"encoding"`
		} `json:"postData"`
	} `json:"request"`
}

func (d *harDecoder) next(e *entry) error {
	if d.ended {
		return io.EOF
	}
	if !d.started {
		if err := d.enter(); err != nil {
			d.ended = true
			return err
		}
		d.started = true
	}
	if !d.dec.More() {
		d.ended = true
		return io.EOF
	}
	d.entry++
	e.line = d.entry
	var he harEntry
	if err := d.dec.Decode(&he); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			// The entry was read past; the next one can still be read.
			return &badEntry{line: d.entry, reason: "not a HAR entry: " + jsonReason(err)}
		}
		// A syntax error leaves the stream where it cannot go on.
		d.ended = true
		return &badEntry{line: d.entry, reason: "the HAR file breaks off here: " + err.Error()}
	}
	e.method, e.target = strings.ToUpper(he.Request.Method), he.Request.URL
	e.raw = []byte(he.Request.Method + " " + he.Request.URL)
	if he.Request.Method == "" || he.Request.URL == "" {
		return &badEntry{line: d.entry, text: string(e.raw), reason: "no request.method or request.url"}
	}
	for _, h := range he.Request.Headers {
		if strings.HasPrefix(h.Name, ":") { // HTTP/2 pseudo-headers
			continue
		}
		if e.header == nil {
			e.header = make(http.Header, len(he.Request.Headers))
		}
		e.header[h.Name] = append(e.header[h.Name], h.Value)
	}
	if pd := he.Request.PostData; pd != nil {
		e.body = []byte(pd.Text)
		if strings.EqualFold(pd.Encoding, "base64") {
			body, err := decodeBase64(pd.Text)
			if err != nil {
				return &badEntry{line: d.entry, text: string(e.raw), reason: "postData.text is not base64"}
			}
			e.body = body
		}
		if pd.MimeType != "" && headerValue(e.header, "Content-Type") == "" {
			if e.header == nil {
				e.header = make(http.Header, 1)
			}
			e.header["Content-Type"] = []string{pd.MimeType}
		}
	}
	if he.StartedDateTime != "" {
		at, err := time.Parse(time.RFC3339Nano, he.StartedDateTime)
		if err != nil {
			return &badEntry{line: d.entry, text: string(e.raw), reason: fmt.Sprintf("startedDateTime %q is not an RFC 3339 time", trim(he.StartedDateTime))}
		}
		e.at = at
	}
	return nil
}

// headerValue finds a header whatever the case of its recorded name.
func headerValue(h http.Header, name string) string {
	for n, v := range h {
		if strings.EqualFold(n, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// enter walks to the first element of log.entries, reading past every
// other key.
func (d *harDecoder) enter() error {
	if err := d.expect(json.Delim('{'), "the file is not a JSON object"); err != nil {
		return err
	}
	if err := d.findKey("log"); err != nil {
		return err
	}
	if err := d.expect(json.Delim('{'), `"log" is not an object`); err != nil {
		return err
	}
	if err := d.findKey("entries"); err != nil {
		return err
	}
	return d.expect(json.Delim('['), `"log.entries" is not a list`)
}

func (d *harDecoder) expect(want json.Delim, reason string) error {
	tok, err := d.dec.Token()
	if err != nil || tok != want {
		return &badEntry{reason: "not a HAR file: " + reason}
	}
	return nil
}

// findKey reads keys of the current object until key, skipping the
// values of the others.
func (d *harDecoder) findKey(key string) error {
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return &badEntry{reason: "not a HAR file: " + err.Error()}
		}
		if name, _ := tok.(string); name == key {
			return nil
		}
		if err := skip(d.dec); err != nil {
			return &badEntry{reason: "not a HAR file: " + err.Error()}
		}
	}
	return &badEntry{reason: fmt.Sprintf("not a HAR file: no %q key", key)}
}

// skip reads past one value token by token, holding none of it.
func skip(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// firstKey returns the first key of the JSON object at the start of b, or
// "" when b does not start with one.
func firstKey(b []byte) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	tok, err := dec.Token()
	if err != nil {
		return ""
	}
	key, _ := tok.(string)
	return key
}
