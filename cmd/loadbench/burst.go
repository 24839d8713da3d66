package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The login bursts' rows.
const (
	burstLogins    = 300
	rowBurstOne    = "300 logins at once, one address"
	rowBurstSpread = "300 logins at once, 300 addresses"
)

// burstResult is what one burst measured.
type burstResult struct {
	name     string
	statuses map[int]int   // answers by status
	last     time.Duration // from sending to the last answer
	peak     int64         // the server's VmHWM, bytes
}

// loginBurst starts a server of its own on dbPath, so that its peak
// resident memory is the burst's, and sends it burstLogins sign-ins for a
// at once, each on its own connection: from 127.0.0.1, or, spread, each from
// its own loopback address (127.0.1.1 on), as many clients behind as many
// addresses would. Every answer must come, and be 303, 429 or 503.
func loginBurst(ctx context.Context, bin, dbPath, logPath string, a account, spread bool) (burstResult, error) {
	name := rowBurstOne
	if spread {
		name = rowBurstSpread
	}
	srv, err := startServer(ctx, bin, dbPath, logPath)
	if err != nil {
		return burstResult{}, err
	}
	res := burstResult{name: name, statuses: map[int]int{}}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	start := make(chan struct{})
	began := time.Now()
	for i := range burstLogins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, err := burstLogin(ctx, srv.base, a, i, spread)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			res.statuses[status]++
			res.last = max(res.last, time.Since(began))
		}()
	}
	began = time.Now()
	close(start)
	wg.Wait()
	err = srv.stop()
	res.peak = srv.peakRSS()
	if len(errs) > 0 {
		err = errors.Join(err, fmt.Errorf("%s: %d of %d logins failed, the first with: %w", name, len(errs), burstLogins, errs[0]))
	}
	for status := range res.statuses {
		switch status {
		case http.StatusSeeOther, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		default:
			err = errors.Join(err, fmt.Errorf("%s: %d answers with status %d", name, res.statuses[status], status))
		}
	}
	return res, err
}

// burstLogin sends the i-th login of a burst on a connection of its own.
func burstLogin(ctx context.Context, base string, a account, i int, spread bool) (int, error) {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if spread {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(fmt.Sprintf("127.0.%d.%d", 1+i/250, 1+i%250))}
	}
	client := &http.Client{
		Transport:     &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true},
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	form := url.Values{"email": {a.email}, "password": {a.password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
