package load

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// seqHeader is the header vegeta numbers each request with; it is how the
// transport and the results consumer agree on which request is which.
const seqHeader = "X-Vegeta-Seq"

// retryRing remembers which recent requests were silently retried. It is
// indexed by sequence number; its size is far above the number of requests
// that can be in flight together (DefaultMaxWorkers).
const retryRing = 1 << 16

// transport sends part of the load on fresh connections, as new clients
// arrive, and the rest on kept-alive ones, as a busy client's do. Keep-alive
// reuse hides a server that drains badly: net/http retries an idempotent
// request on a new connection when a reused one turns out to be closed, so
// a GET never shows the error a browser, a POST or a new client would. The
// transport counts those silent retries with httptrace.
//
// Which requests go on a fresh connection the generator decides, and marks
// in the URL fragment (see parseFragment), where the results consumer reads
// it back.
type transport struct {
	keepAlive *http.Transport
	fresh     *http.Transport
	timeouts  []time.Duration // by target index; zero: the client's
	// untaggedBody, when not negative, is how much of the body of an
	// answer to a request without a tag is read: the rest is drained,
	// so only tagged answers reach the attacker's larger body cap.
	untaggedBody int64

	retries atomic.Uint64
	retried [retryRing]atomic.Uint64 // seq+1 of a retried request, by seq % retryRing

	// aborted ends every request in flight at once, when the run is
	// cancelled and cannot wait for them.
	aborted context.Context
	abort   context.CancelFunc
}

func newTransport(timeouts []time.Duration) *transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	base := func() *http.Transport {
		return &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         dialer.DialContext,
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 10_000,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	fresh := base()
	fresh.DisableKeepAlives = true
	aborted, abort := context.WithCancel(context.Background())
	return &transport{keepAlive: base(), fresh: fresh, timeouts: timeouts, untaggedBody: -1, aborted: aborted, abort: abort}
}

// wasRetried reports whether request seq was silently retried.
func (t *transport) wasRetried(seq uint64) bool {
	return t.retried[seq%retryRing].Load() == seq+1
}

// retryProbe counts the connections one request was written to. Probes
// are pooled: the trace and its hook are allocated once, not per request.
type retryProbe struct {
	conns atomic.Int32
	trace httptrace.ClientTrace
}

var retryProbes = sync.Pool{New: func() any {
	p := new(retryProbe)
	p.trace.GotConn = func(httptrace.GotConnInfo) { p.conns.Add(1) }
	return p
}}

// RoundTrip sends req. vegeta's requests carry no context of their own, so
// the transport gives each one derived from abort, with its target's
// timeout, covering the body as http.Client.Timeout would: one context and
// one copy of the request per request.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	target, tag, fresh, ours := parseFragment(req.URL.Fragment)
	ctx, cancel := context.WithTimeout(t.aborted, t.timeoutOf(target, ours))
	rt := t.keepAlive
	var probe *retryProbe
	seq, err := strconv.ParseUint(req.Header.Get(seqHeader), 10, 64)
	switch {
	case fresh:
		rt = t.fresh
	case err != nil:
	default:
		probe = retryProbes.Get().(*retryProbe)
		probe.conns.Store(0)
		ctx = httptrace.WithClientTrace(ctx, &probe.trace)
	}
	resp, err := rt.RoundTrip(req.WithContext(ctx))
	if probe != nil {
		if probe.conns.Load() > 1 {
			t.retries.Add(1)
			t.retried[seq%retryRing].Store(seq + 1)
		}
		retryProbes.Put(probe)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	if t.untaggedBody >= 0 && tag == 0 {
		resp.Body = &bodyHead{ReadCloser: resp.Body, left: t.untaggedBody}
	}
	return resp, nil
}

// timeoutOf returns the timeout of a request's target, known by the
// fragment the generator put on its URL.
func (t *transport) timeoutOf(target int, ours bool) time.Duration {
	if !ours || target < 0 || target >= len(t.timeouts) {
		// Not one of the generator's requests: the longest timeout.
		return slices.Max(t.timeouts)
	}
	return t.timeouts[target]
}

// bodyHead reads the first left bytes of a body, then drains the rest and
// ends: the answer is read whole, as the latency must cover, but only its
// head is handed over.
type bodyHead struct {
	io.ReadCloser
	left int64
}

func (b *bodyHead) Read(p []byte) (int, error) {
	if b.left <= 0 {
		if _, err := io.Copy(io.Discard, b.ReadCloser); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func (t *transport) closeIdle() {
	t.keepAlive.CloseIdleConnections()
	t.fresh.CloseIdleConnections()
}
