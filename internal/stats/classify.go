package stats

import (
	"strings"
)

// Class names why a request failed, in the words an engineer would use when
// reading a deploy's error log.
type Class uint8

// Failure classes, from the transport up to the HTTP status.
const (
	ClassNone    Class = iota // the request succeeded
	ClassRefused              // connection refused: nothing listening
	ClassReset                // connection reset or broken pipe
	ClassClosed               // connection closed early: EOF, server closed idle connection
	ClassTimeout              // no complete answer within the timeout
	ClassTLS                  // TLS handshake or certificate failure
	ClassDNS                  // name did not resolve
	Class5xx                  // the server answered 5xx
	Class4xx                  // the server answered 4xx
	ClassOther                // anything else
	numClasses
)

var classNames = [numClasses]string{
	ClassNone:    "ok",
	ClassRefused: "refused",
	ClassReset:   "reset",
	ClassClosed:  "closed",
	ClassTimeout: "timeout",
	ClassTLS:     "tls",
	ClassDNS:     "dns",
	Class5xx:     "5xx",
	Class4xx:     "4xx",
	ClassOther:   "other",
}

var classMeanings = [numClasses]string{
	ClassNone:    "request succeeded",
	ClassRefused: "connection refused: nothing listening on the port",
	ClassReset:   "connection reset by the server or a proxy",
	ClassClosed:  "connection closed before a full answer",
	ClassTimeout: "no full answer within the request timeout",
	ClassTLS:     "TLS handshake or certificate failure",
	ClassDNS:     "host name did not resolve",
	Class5xx:     "server error status",
	Class4xx:     "client error status",
	ClassOther:   "other failure",
}

func (c Class) String() string {
	if c >= numClasses {
		return "unknown"
	}
	return classNames[c]
}

// Meaning explains the class in a few words.
func (c Class) Meaning() string {
	if c >= numClasses {
		return ""
	}
	return classMeanings[c]
}

// Succeeded reports whether a result counts as a success: a 2xx or 3xx
// answer that arrived whole, without a transport error.
func Succeeded(code uint16, errText string) bool {
	return code >= 200 && code < 400 && errText == ""
}

// Classify names the failure of a result; ClassNone means success. vegeta
// keeps only the error text, so the transport errors are told apart by the
// messages Go's net, net/http and crypto/tls packages produce.
func Classify(code uint16, errText string) Class {
	if Succeeded(code, errText) {
		return ClassNone
	}
	switch {
	case code >= 500:
		return Class5xx
	case code >= 400:
		return Class4xx
	}
	// Go's net, net/http and crypto/tls write these messages in lower case,
	// except EOF; matching them as they are spares a copy per failure.
	e := errText
	switch {
	case strings.Contains(e, "connection refused"):
		return ClassRefused
	case strings.Contains(e, "connection reset"), strings.Contains(e, "broken pipe"):
		return ClassReset
	case strings.Contains(e, "Timeout"), strings.Contains(e, "timeout"), strings.Contains(e, "deadline exceeded"):
		return ClassTimeout
	case strings.Contains(e, "no such host"), strings.Contains(e, "server misbehaving"),
		strings.Contains(e, "dial tcp: lookup"):
		return ClassDNS
	case strings.Contains(e, "tls:"), strings.Contains(e, "x509:"), strings.Contains(e, "certificate"):
		return ClassTLS
	case strings.HasSuffix(e, "EOF"), strings.Contains(e, "server closed"),
		strings.Contains(e, "closed network connection"), strings.Contains(e, "transport connection broken"):
		return ClassClosed
	}
	return ClassOther
}
