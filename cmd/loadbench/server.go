package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// server is one keydesk serve child process on its own database.
type server struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	logPath string
	exited  chan struct{} // closed when the process has exited
	waitErr error

	mu      sync.Mutex
	peakKiB int64 // the largest VmHWM seen, KiB
	stopRSS chan struct{}
	rssDone chan struct{}
}

// listening is the line keydesk serve prints once it accepts connections.
var listening = regexp.MustCompile(`listening on (http://\S+)`)

// startServer runs bin serve on dbPath at a free loopback port and returns
// once /readyz answers 200. The server's log (JSON lines on stderr) goes to
// logPath; its stdout is read for the address, then drained.
func startServer(ctx context.Context, bin, dbPath, logPath string) (*server, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", dbPath)
	// A clean environment for the server's own settings: nothing from the
	// caller's KEYDESK_* may change what is measured.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KEYDESK_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stderr = logFile
	endWithParent(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, logPath: logPath, exited: make(chan struct{}),
		stopRSS: make(chan struct{}), rssDone: make(chan struct{})}

	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !found {
				found = true
				addr <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()

	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	select {
	case s.base = <-addr:
	case <-s.exited:
		return nil, fmt.Errorf("keydesk serve exited before listening (%v); its log:\n%s", s.waitErr, s.logTail())
	case <-deadline.C:
		s.kill()
		return nil, errors.New("keydesk serve printed no listening address within 30s")
	case <-ctx.Done():
		s.kill()
		return nil, ctx.Err()
	}
	if err := s.waitReady(ctx); err != nil {
		s.kill()
		return nil, err
	}
	go s.sampleRSS()
	return s, nil
}

// waitReady polls /readyz until it answers 200, with a deadline.
func (s *server) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/readyz", nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/readyz not ready within 15s (last error %v)", s.base, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.exited:
			return fmt.Errorf("keydesk serve exited (%v); its log:\n%s", s.waitErr, s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sampleRSS reads the process's VmHWM (its peak resident set, kept by the
// kernel) every 200ms until stop, so the peak is known even if the process
// dies before the end.
func (s *server) sampleRSS() {
	defer close(s.rssDone)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		s.readRSS()
		select {
		case <-s.stopRSS:
			s.readRSS()
			return
		case <-s.exited:
			return
		case <-tick.C:
		}
	}
}

func (s *server) readRSS() {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return // not Linux, or the process is gone
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				s.mu.Lock()
				s.peakKiB = max(s.peakKiB, kib)
				s.mu.Unlock()
			}
		}
	}
}

// peakRSS is the largest resident set the process has had, in bytes; 0
// where /proc is not available.
func (s *server) peakRSS() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakKiB * 1024
}

// stop takes a last RSS sample, then asks the server to shut down
// gracefully (SIGINT) and waits for it, killing it after 20 seconds.
func (s *server) stop() error {
	select {
	case <-s.exited:
	default:
		close(s.stopRSS)
		<-s.rssDone
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.kill()
		return err
	}
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.kill()
		return errors.New("keydesk serve did not stop within 20s of SIGINT")
	}
	if s.waitErr != nil {
		return fmt.Errorf("keydesk serve: %w; its log:\n%s", s.waitErr, s.logTail())
	}
	return nil
}

// kill ends the process at once, for error paths.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// logTail is the end of the server's log, for error messages.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	const keep = 2000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return string(b)
}
