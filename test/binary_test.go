package test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// The real binary, for what only a process shows: signals, exit statuses, stderr.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// ssewsBinary builds cmd/ssews once per test run and returns its path. It goes next
// to the test binary, in the directory `go test` removes when the run ends, or in a
// temp dir when that is not writable.
func ssewsBinary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		dir := ""
		if exe, err := os.Executable(); err == nil {
			dir, _ = os.MkdirTemp(filepath.Dir(exe), "ssews-bin-")
		}
		if dir == "" {
			if dir, buildErr = os.MkdirTemp("", "ssews-bin-"); buildErr != nil {
				return
			}
		}
		binPath = filepath.Join(dir, "ssews")
		args := []string{"build", "-o", binPath}
		if raceEnabled() {
			// The packages are in the build cache already, compiled for this test
			// binary, and the race detector watches the real process too.
			args = append(args, "-race")
		}
		args = append(args, "github.com/ssews/ssews/cmd/ssews")
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

// raceEnabled reports whether this test binary was built with -race.
func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// process is a running ssews binary whose stderr is collected line by line.
type process struct {
	cmd    *exec.Cmd
	log    *lineLog      // stderr
	exited chan struct{} // closed once the process has exited and stderr is read
	err    error         // cmd.Wait's, once exited is closed
	start  time.Time
}

// startBinary runs the ssews binary with exactly env (nothing of the test's own
// environment) and args, and kills it when the test ends if it is still running.
func startBinary(tb testing.TB, env map[string]string, args ...string) *process {
	tb.Helper()
	cmd := exec.Command(ssewsBinary(tb), args...)
	cmd.Env = []string{} // not nil: nil would mean the test's environment
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, log: newLineLog(), exited: make(chan struct{})}
	cmd.Stderr = p.log
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p.start = time.Now()
	go func() {
		p.err = cmd.Wait() // returns once stderr is copied, too
		p.log.close()
		close(p.exited)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
		if tb.Failed() {
			tb.Logf("ssews stderr:\n%s", strings.Join(p.stderr(), "\n"))
		}
	})
	return p
}

// stderr is every line written so far.
func (p *process) stderr() []string { return p.log.lines() }

// waitExit waits up to limit for the process to exit and returns its status.
func (p *process) waitExit(tb testing.TB, limit time.Duration) int {
	tb.Helper()
	select {
	case <-p.exited:
	case <-time.After(limit):
		tb.Fatalf("ssews still running %v after start", time.Since(p.start).Round(time.Millisecond))
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee) && ee.Exited():
		return ee.ExitCode()
	default:
		tb.Fatalf("ssews: %v", p.err)
		return -1
	}
}

// waitLog waits for a JSON log line whose msg is msg and returns it.
func (p *process) waitLog(tb testing.TB, msg string) logRecord {
	tb.Helper()
	return p.log.waitRecord(tb, msg)
}

// listening waits for the start-up line and returns the client and admin addresses.
func (p *process) listening(tb testing.TB) (addr, admin string) {
	tb.Helper()
	rec := p.waitLog(tb, "ssews listening")
	return rec.str("addr"), rec.str("admin")
}

// lineLog is an io.Writer that keeps what is written to it as lines, for a log
// written on one goroutine and read on another.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	all     []string
	ended   bool
	more    chan struct{} // a line (or the end) arrived; buffered, never blocks a writer
}

func newLineLog() *lineLog { return &lineLog{more: make(chan struct{}, 1)} }

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.all = append(l.all, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	l.mu.Unlock()
	l.notify()
	return len(p), nil
}

// close says nothing more will be written; an unfinished line counts as a line.
func (l *lineLog) close() {
	l.mu.Lock()
	if len(l.partial) > 0 {
		l.all = append(l.all, string(l.partial))
		l.partial = nil
	}
	l.ended = true
	l.mu.Unlock()
	l.notify()
}

func (l *lineLog) notify() {
	select {
	case l.more <- struct{}{}:
	default:
	}
}

// lines is every complete line written so far.
func (l *lineLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.all...)
}

// waitLine waits for a line that match accepts and returns it.
func (l *lineLog) waitLine(tb testing.TB, what string, match func(string) bool) string {
	tb.Helper()
	deadline := time.After(wait)
	seen := 0
	for {
		l.mu.Lock()
		lines, ended := l.all[seen:], l.ended
		seen = len(l.all)
		l.mu.Unlock()
		for _, line := range lines {
			if match(line) {
				return line
			}
		}
		if ended {
			tb.Fatalf("log ended without %s", what)
		}
		select {
		case <-l.more:
		case <-deadline:
			tb.Fatalf("no %s logged within %v", what, wait)
		}
	}
}

// logRecord is one line of SSEWS_LOG_FORMAT=json output.
type logRecord map[string]any

func (r logRecord) str(key string) string {
	s, _ := r[key].(string)
	return s
}

// waitRecord waits for a JSON line whose msg is msg and returns it.
func (l *lineLog) waitRecord(tb testing.TB, msg string) logRecord {
	tb.Helper()
	var rec logRecord
	l.waitLine(tb, fmt.Sprintf("JSON line with msg %q", msg), func(line string) bool {
		rec = nil
		return json.Unmarshal([]byte(line), &rec) == nil && rec.str("msg") == msg
	})
	return rec
}
