package test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ssews/ssews/cmd/ssews/app"
)

// demoScreenshot is where the browser test leaves a picture of the demo page, for
// people to look at (CI keeps test/artifacts/).
const demoScreenshot = "artifacts/demo.png"

// demoPanels are the page's four clients: EventSource and WebSocket on the SSE route
// and on the WebSocket route.
var demoPanels = []string{"es-sse", "ws-sse", "es-ws", "ws-ws"}

// TestDemoInBrowser runs `ssews demo` and opens its page in headless Chromium: all
// four panels receive events with ids, the multi-line report arrives whole over both
// protocols, a message sent from the page comes back in every panel, and the page
// raises no JavaScript error. It leaves a screenshot in test/artifacts/demo.png.
func TestDemoInBrowser(t *testing.T) {
	t.Parallel()
	chromium := findChromium(t)
	pageURL := startDemo(t)

	browser := newBrowser(t, chromium)
	errs := &consoleErrors{}
	if err := chromedp.Listen(browser, errs.record); err != nil {
		t.Fatalf("starting Chromium (%s): %v", chromium, err)
	}
	step := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		runWithin(t, browser, errs, what, a)
	}
	poll := func(what, pageFunction string, args ...any) {
		t.Helper()
		runWithin(t, browser, errs, what, chromedp.PollFunction[bool](pageFunction,
			chromedp.WithPollingTimeout(wait), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingArgs(args...)))
	}

	step("open the demo page", chromedp.Navigate(pageURL))
	poll("every panel shows at least 2 events and a last id", `(ids) => ids.every((id) => {
		const p = document.getElementById(id);
		return Number(p.querySelector("[data-count]").textContent) >= 2 &&
			/^[0-9]+$/.test(p.querySelector("[data-last-id]").textContent);
	})`, demoPanels)
	poll("the multi-line report arrives whole over EventSource and WebSocket", `(ids) => ids.every((id) =>
		Array.from(document.querySelectorAll("#" + id + " .row[data-type=report] .data"))
			.some((d) => d.textContent.startsWith("status report #") && d.textContent.split("\n").length >= 3))`,
		[]string{"es-sse", "ws-sse"})

	msg := "hello from the browser test ✓"
	step("send a message", chromedp.Steps(
		chromedp.SendKeys(chromedp.ID("message"), msg),
		chromedp.Click(chromedp.ID("send-button")),
	))
	poll("the message comes back in every panel", `(ids, msg) => ids.every((id) =>
		Array.from(document.querySelectorAll("#" + id + " .row.mine .data")).some((d) => d.textContent.includes(msg)))`,
		demoPanels, msg)
	poll("every client is connected", `() => document.getElementById("summary-text").textContent === "4 of 4 clients connected"`)
	poll("the page settles for its picture", `() => document.getAnimations().every((a) => a.playState !== "running")`)

	shot := runWithin(t, browser, errs, "screenshot", chromedp.FullScreenshot(100))
	if err := os.MkdirAll(filepath.Dir(demoScreenshot), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(demoScreenshot, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: test/%s", demoScreenshot)

	if e := errs.list(); len(e) > 0 {
		t.Errorf("the page logged JavaScript errors:\n%s", strings.Join(e, "\n"))
	}
}

// runWithin runs one browser action within the wait deadline and fails the test,
// with the page's JavaScript errors, when it does not succeed.
func runWithin[T any](t *testing.T, browser context.Context, errs *consoleErrors, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, wait)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v\nJavaScript errors: %v", what, err, errs.list())
	}
	return v
}

// findChromium returns the browser to drive. Without one the test fails in CI
// (.ci/test installs it) and is skipped elsewhere.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "Chromium is not installed: the demo's browser test needs it (apt-get install chromium; bash .ci/test installs it)"
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
	return ""
}

// startDemo runs `ssews demo` on a loopback port until the test ends, and returns
// the URL it prints.
func startDemo(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	env := map[string]string{
		"SSEWS_LISTEN":       "127.0.0.1:0",
		"SSEWS_ADMIN_LISTEN": "127.0.0.1:0",
		"SSEWS_LOG_LEVEL":    "warn",
	}
	var stdout bytes.Buffer
	ready := make(chan string, 1)
	exited := make(chan int, 1)
	go func() {
		exited <- app.RunDemo(ctx, env, &stdout, demoLog{t}, func(url string) { ready <- url })
	}()
	t.Cleanup(func() {
		cancel()
		if code := recv(t, exited, "ssews demo to exit"); code != 0 {
			t.Errorf("ssews demo exited with %d; want 0", code)
		}
	})
	var pageURL string
	select {
	case pageURL = <-ready:
	case code := <-exited:
		exited <- code
		t.Fatalf("ssews demo exited with %d before it was ready", code)
	}
	want := fmt.Sprintf("ssews demo: open %s (SSE route /sse, WebSocket route /ws)\n", pageURL)
	if got := stdout.String(); got != want {
		t.Errorf("ssews demo printed %q; want %q", got, want)
	}
	return pageURL
}

// newBrowser starts headless Chromium with a fresh profile, closed when the test
// ends (before the demo stops, so the page sees no disconnection).
func newBrowser(t *testing.T, chromium string) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc() // waits for the browser process to exit
	})
	return ctx
}

// consoleErrors collects what the page reports as errors: console.error calls,
// uncaught exceptions and error entries of the browser log (failed loads, CSP
// violations, refused connections).
type consoleErrors struct {
	mu   sync.Mutex
	errs []string
}

// record is a chromedp listener: it runs on the browser's read loop, so it only
// appends.
func (c *consoleErrors) record(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		parts := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			if a.Description != "" {
				parts = append(parts, a.Description)
			} else {
				parts = append(parts, string(a.Value))
			}
		}
		msg = "console.error: " + strings.Join(parts, " ")
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = fmt.Sprintf("exception: %s at %s:%d", d.Text, d.URL, d.LineNumber+1)
		if d.Exception != nil {
			msg += ": " + d.Exception.Description
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level != log.EntryLevelError {
			return
		}
		msg = fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
	default:
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, msg)
}

func (c *consoleErrors) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

// demoLog sends the demo's log lines to the test log.
type demoLog struct{ t *testing.T }

func (w demoLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
