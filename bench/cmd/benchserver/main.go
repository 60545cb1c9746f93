// Command benchserver is the loopback target of the accuracy and start-up
// benchmarks (bench/run.sh). It answers every request with 200 after a
// latency that depends only on the request's sequence number, so the
// latency distribution of a run is known in advance: requests whose number
// mod -slow-every is below -slow-first take -slow, the rest -fast. With the
// defaults that is 98.5% at 5 ms and 1.5% at 600 ms.
//
// The sequence number is the X-Vegeta-Seq header, which both vegeta's CLI
// and deploy-load-check (vegeta's library) send; without it the order of
// arrival is used.
//
// It listens on loopback only, stops by itself after -max-life, and on exit
// (SIGINT, SIGTERM or -max-life) writes, when asked, one line per request
// to -log: seq, arrival (unix ns), handler time (ns), and the arrival time
// of the first request to -first-hit.
//
// With -tls-cert FILE it serves HTTPS with a fresh self-signed certificate
// for 127.0.0.1 and ::1, written to FILE in PEM so that clients can trust
// it (Go clients through SSL_CERT_FILE).
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "benchserver: %s\n", err)
		os.Exit(2)
	}
}

// served is what the server saw of one request.
type served struct {
	seq     uint64
	arrival int64         // unix ns when the handler started
	handled time.Duration // handler start to the end of the write
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	addrFile := flag.String("addr-file", "", "write the address listened on to this file")
	fast := flag.Duration("fast", 5*time.Millisecond, "latency of ordinary requests")
	slow := flag.Duration("slow", 600*time.Millisecond, "latency of slow requests")
	slowEvery := flag.Uint64("slow-every", 200, "period of the slow pattern, in requests")
	slowFirst := flag.Uint64("slow-first", 3, "slow requests at the start of each period")
	logPath := flag.String("log", "", "write one line per request here on exit")
	firstHit := flag.String("first-hit", "", "write the arrival time (unix ns) of the first request here")
	maxLife := flag.Duration("max-life", 30*time.Minute, "exit after this long whatever happens")
	tlsCert := flag.String("tls-cert", "", "serve HTTPS with a self-signed certificate written here in PEM")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", *addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q is not a loopback address; this server only serves 127.0.0.0/8 or ::1", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *tlsCert != "" {
		cert, err := selfSigned(*tlsCert)
		if err != nil {
			return err
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o644); err != nil {
			return err
		}
	}

	var (
		arrivals atomic.Uint64
		first    atomic.Int64
		mu       sync.Mutex
		log      []served
	)
	keepLog := *logPath != ""
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		first.CompareAndSwap(0, began.UnixNano())
		n := arrivals.Add(1) - 1
		seq, err := strconv.ParseUint(r.Header.Get("X-Vegeta-Seq"), 10, 64)
		if err != nil {
			seq = n
		}
		delay := *fast
		if *slowEvery > 0 && seq%*slowEvery < *slowFirst {
			delay = *slow
		}
		time.Sleep(delay)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "3")
		_, _ = w.Write([]byte("ok\n"))
		if keepLog {
			handled := time.Since(began)
			mu.Lock()
			log = append(log, served{seq: seq, arrival: began.UnixNano(), handled: handled})
			mu.Unlock()
		}
	})
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *maxLife)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- server.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShutdown()
	_ = server.Shutdown(shutdownCtx)

	if *firstHit != "" && first.Load() != 0 {
		if err := os.WriteFile(*firstHit, []byte(strconv.FormatInt(first.Load(), 10)+"\n"), 0o644); err != nil {
			return err
		}
	}
	if keepLog {
		mu.Lock()
		defer mu.Unlock()
		return writeLog(*logPath, log)
	}
	return nil
}

// selfSigned makes a certificate for the loopback addresses and writes it
// to path in PEM.
func selfSigned(path string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "benchserver"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(path, pemBytes, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func writeLog(path string, log []served) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "seq,arrival_unix_ns,handled_ns")
	for _, s := range log {
		fmt.Fprintf(w, "%d,%d,%d\n", s.seq, s.arrival, s.handled.Nanoseconds())
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
