package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// scenario is one row of the table: a request, repeated.
type scenario struct {
	store string // the store the server runs on: storeSQLite, storePostgres
	name  string
	// request builds the i-th request of client w; clients count from 0.
	request func(w, i int) *http.Request
	want    int // the status every answer must have
	// check, when set, vets one answer's body before the load starts, so
	// that a wrong setup (a login page instead of the key page, say) fails
	// loudly instead of being measured.
	check func(body string) error
}

// title names the scenario in progress and errors.
func (sc scenario) title() string {
	if sc.store == "" {
		return sc.name
	}
	return sc.store + ", " + sc.name
}

// result is what a scenario measured.
type result struct {
	store    string
	name     string
	requests int
	elapsed  time.Duration
	p50, p99 time.Duration
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// newClient is an HTTP client for clients concurrent workers: keep-alive
// connections, one per worker, no redirects followed. It asks for no
// compression itself; the page scenarios ask for gzip as browsers do, and
// their bodies are read as they come, compressed.
func newClient(clients int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        clients * 2,
			MaxIdleConnsPerHost: clients * 2,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// login signs in once through POST /login, as a browser's form would, and
// returns the session's Cookie header. Every login costs an argon2id hash
// and failures are rate limited, so each run signs in once per account.
func login(ctx context.Context, base string, a account) (string, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", err
	}
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"email": {a.email}, "password": {a.password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("log in as %s: status %d, want 303", a.email, resp.StatusCode)
	}
	u, _ := url.Parse(base)
	var parts []string
	for _, c := range jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("log in as %s: no session cookie", a.email)
	}
	return strings.Join(parts, "; "), nil
}

// get builds a GET request with the given headers (name, value, …).
func get(ctx context.Context, target string, headers ...string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		panic(err) // the targets are built here, from known parts
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// post makes a POST of a JSON body to target with the headers given.
func post(ctx context.Context, target, body string, headers ...string) *http.Request {
	req := get(ctx, target, headers...)
	req.Method = http.MethodPost
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// probe sends one request of the scenario and checks its status and body.
func probe(client *http.Client, sc scenario) error {
	resp, err := client.Do(sc.request(0, 0))
	if err != nil {
		return fmt.Errorf("%s: %w", sc.title(), err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if r, err = gzip.NewReader(resp.Body); err != nil {
			return fmt.Errorf("%s: %w", sc.title(), err)
		}
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%s: %w", sc.title(), err)
	}
	if resp.StatusCode != sc.want {
		return fmt.Errorf("%s: status %d, want %d", sc.title(), resp.StatusCode, sc.want)
	}
	if sc.check != nil {
		if err := sc.check(string(body)); err != nil {
			return fmt.Errorf("%s: %w", sc.title(), err)
		}
	}
	return nil
}

// maxRequestsPerTurn bounds the load of one turn whatever its duration, far
// above what a turn of a second sends on loopback (tens of thousands).
const maxRequestsPerTurn = 1_000_000

// drive runs the scenario with clients concurrent workers, each sending its
// next request as soon as the last is answered: first for warmup (not
// measured: connections open, caches fill), then for dur, measuring each
// request's latency from sending to the end of its body. It returns the
// latencies and how long the measured window lasted. Any error or
// unexpected status fails the scenario: numbers from a broken run mean
// nothing.
func drive(client *http.Client, sc scenario, clients int, warmup, dur time.Duration) ([]time.Duration, time.Duration, error) {
	start := time.Now()
	measureFrom, until := start.Add(warmup), start.Add(warmup+dur)
	lat := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			samples := make([]time.Duration, 0, 1<<12)
			for i := 0; i < maxRequestsPerTurn/clients; i++ {
				t0 := time.Now()
				if !t0.Before(until) {
					break
				}
				resp, err := client.Do(sc.request(w, i))
				if err != nil {
					errs[w] = err
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				if err != nil {
					errs[w] = err
					return
				}
				if resp.StatusCode != sc.want {
					errs[w] = fmt.Errorf("status %d, want %d", resp.StatusCode, sc.want)
					return
				}
				if !t0.Before(measureFrom) {
					samples = append(samples, d)
				}
			}
			lat[w] = samples
		}()
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)
	failed := slices.DeleteFunc(errs, func(err error) bool { return err == nil })
	if len(failed) > 0 {
		return nil, 0, fmt.Errorf("%s: %d of %d clients failed, the first with: %w", sc.title(), len(failed), clients, failed[0])
	}
	return slices.Concat(lat...), elapsed, nil
}

// summarize turns a scenario's latencies, over all its rounds, into a row.
func summarize(name string, samples []time.Duration, elapsed time.Duration) (result, error) {
	if len(samples) == 0 {
		return result{}, fmt.Errorf("%s: no request completed", name)
	}
	slices.Sort(samples)
	return result{name: name, requests: len(samples), elapsed: elapsed,
		p50: percentile(samples, 50), p99: percentile(samples, 99)}, nil
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (len(sorted)*p + 99) / 100 // ceil(n·p/100)
	return sorted[max(rank, 1)-1]
}
