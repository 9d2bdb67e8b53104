package app

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/ssews/ssews/config"
)

// runCLI runs the command line as the binary does, with an empty environment.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRunVersion(t *testing.T) {
	code, out, errOut := runCLI(t, "version")
	if code != exitOK {
		t.Fatalf("exit %d; want 0", code)
	}
	// Tests carry no module version or VCS stamp; the shape and the toolchain are
	// what can be checked here.
	if !strings.HasPrefix(out, "ssews ") || !strings.HasSuffix(out, " "+runtime.Version()+"\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("version %q; want one line: ssews <version> [commit <rev>] %s", out, runtime.Version())
	}
	if errOut != "" {
		t.Errorf("stderr %q; want nothing", errOut)
	}
}

func TestRunHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		code, out, errOut := runCLI(t, arg)
		if code != exitOK {
			t.Errorf("%s: exit %d; want 0", arg, code)
		}
		if errOut != "" {
			t.Errorf("%s: stderr %q; want nothing", arg, errOut)
		}
		want := []string{
			"ssews tail URL", "ssews demo", "ssews version", "ssews -h",
			"-H 'Name: value'", "--json", "--raw", "--no-reconnect", "--last-event-id ID",
		}
		for _, v := range config.Vars() {
			want = append(want, v.Name)
			if v.Default != "" {
				want = append(want, v.Name+" "+strings.Repeat(" ", max(0, 24-len(v.Name)))+v.Default)
			}
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: help lacks %q", arg, w)
			}
		}
	}
}

func TestRunUnknownCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "frobnicate")
	if code != exitConfig {
		t.Errorf("exit %d; want 2", code)
	}
	if !strings.Contains(errOut, `unknown command "frobnicate"`) || !strings.Contains(errOut, "ssews -h") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("stderr %q; want one line naming the command and pointing to ssews -h", errOut)
	}
	if out != "" {
		t.Errorf("stdout %q; want nothing", out)
	}
}

func TestRunTail(t *testing.T) {
	if code, out, _ := runCLI(t, "tail", "-h"); code != exitOK || !strings.HasPrefix(out, "Usage: ssews tail") {
		t.Errorf("tail -h: exit %d, stdout %q; want 0 and tail's usage", code, out)
	}
	if code, _, errOut := runCLI(t, "tail"); code != exitConfig || !strings.Contains(errOut, "missing URL") {
		t.Errorf("tail without URL: exit %d, stderr %q; want 2 and missing URL", code, errOut)
	}
}
