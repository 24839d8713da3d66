// Command gateway is an example of what a platform puts in front of its own
// API to let Keydesk's keys in: a reverse proxy, standard library only, that
// takes the caller's key, asks Keydesk's POST /api/v1/keys/verify whether it
// holds the scopes the route needs, and forwards the call with its owner's
// ids in headers, or answers 401 or 403 as RFC 6750 says.
//
//	KEYDESK_VERIFY_KEY=kdk_… gateway --keydesk https://keys.example.com \
//	    --upstream http://127.0.0.1:9000 \
//	    --routes 'GET /v1/orders=orders:read,POST /v1/orders=orders:write,/v1/=profile:read'
//
// The verifier key (an admin's key with the scope keys:verify) is read from
// the environment only, so that it shows in no process list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

// run parses the flags, then serves until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	keydesk := fs.String("keydesk", "", "Keydesk's base URL, such as https://keys.example.com (required)")
	upstream := fs.String("upstream", "", "the platform API's base URL, where verified calls go (required)")
	routes := fs.String("routes", "", "comma-separated [METHOD ]PATH-PREFIX=SCOPE[+SCOPE…] rules; the longest prefix that matches wins; a call no rule matches needs a valid key and no scope")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := Config{VerifierKey: getenv("KEYDESK_VERIFY_KEY")}
	var err error
	if cfg.Keydesk, err = baseURL("--keydesk", *keydesk); err != nil {
		return err
	}
	if cfg.Upstream, err = baseURL("--upstream", *upstream); err != nil {
		return err
	}
	if cfg.Routes, err = ParseRoutes(*routes); err != nil {
		return fmt.Errorf("--routes: %w", err)
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(stderr, nil))
	h, err := New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(stdout, "gateway listening on http://%s, verifying with %s, forwarding to %s\n", ln.Addr(), cfg.Keydesk, cfg.Upstream)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func baseURL(flag, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("%s is required", flag)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: %q is not an http(s) URL", flag, raw)
	}
	return u, nil
}
