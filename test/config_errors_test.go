package test

import (
	"net"
	"strings"
	"testing"
)

// TestBadConfigurationExits2 runs the binary with one bad setting at a time (SPEC
// section 2): exit status 2, exactly one line on stderr that names the variable, and
// nothing listened. The addresses ssews is given are held by the test, so an attempt
// to listen would fail with another status and message.
func TestBadConfigurationExits2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key, _ := selfSigned(t)
	good := "/ok=http://127.0.0.1:1/events"
	cases := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"unknown scheme", map[string]string{"SSEWS_ROUTES": "/x=ftp://backend/x"}, "SSEWS_ROUTES"},
		{"bad duration", map[string]string{"SSEWS_ROUTES": good, "SSEWS_HEARTBEAT": "soon"}, "SSEWS_HEARTBEAT"},
		{"bad size", map[string]string{"SSEWS_ROUTES": good, "SSEWS_MAX_MESSAGE": "1XB"}, "SSEWS_MAX_MESSAGE"},
		{"duplicate path", map[string]string{"SSEWS_ROUTES": good + "," + good}, "SSEWS_ROUTES"},
		{"duplicate path across env and file", map[string]string{
			"SSEWS_ROUTES": good,
			"SSEWS_CONFIG": writeFile(t, "dup.yaml", "- path: /ok\n  upstream: ws://127.0.0.1:1/\n"),
		}, "SSEWS_CONFIG"},
		{"unreadable SSEWS_CONFIG", map[string]string{"SSEWS_CONFIG": dir + "/missing.yaml"}, "SSEWS_CONFIG"},
		{"SSEWS_CONFIG is a directory", map[string]string{"SSEWS_CONFIG": dir}, "SSEWS_CONFIG"},
		{"malformed YAML", map[string]string{"SSEWS_CONFIG": writeFile(t, "bad.yaml", "- path: /x\n  upstream: [\n")}, "SSEWS_CONFIG"},
		{"malformed JSON", map[string]string{"SSEWS_CONFIG": writeFile(t, "bad.json", `[{"path": "/x",`)}, "SSEWS_CONFIG"},
		{"unknown field", map[string]string{"SSEWS_CONFIG": writeFile(t, "field.yaml", "- path: /x\n  upstream: http://127.0.0.1:1/\n  sharde: true\n")}, "SSEWS_CONFIG"},
		{"TLS cert without key", map[string]string{"SSEWS_ROUTES": good, "SSEWS_TLS_CERT": cert}, "SSEWS_TLS_KEY"},
		{"TLS key that is not a key", map[string]string{"SSEWS_ROUTES": good, "SSEWS_TLS_CERT": cert, "SSEWS_TLS_KEY": writeFile(t, "key.pem", "not a key\n")}, "SSEWS_TLS_KEY"},
		{"TLS cert that is not a cert", map[string]string{"SSEWS_ROUTES": good, "SSEWS_TLS_CERT": key, "SSEWS_TLS_KEY": key}, "SSEWS_TLS_CERT"},
		{"no routes", map[string]string{}, "SSEWS_ROUTES"},
		{"unknown SSEWS_ variable", map[string]string{"SSEWS_ROUTES": good, "SSEWS_HEARTBEET": "1s"}, "SSEWS_HEARTBEET"},
		{"bad log level", map[string]string{"SSEWS_ROUTES": good, "SSEWS_LOG_LEVEL": "loud"}, "SSEWS_LOG_LEVEL"},
		{"negative connection limit", map[string]string{"SSEWS_ROUTES": good, "SSEWS_MAX_CONNECTIONS": "-1"}, "SSEWS_MAX_CONNECTIONS"},
	}
	ssewsBinary(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			listen, admin := holdPort(t), holdPort(t)
			env := map[string]string{"SSEWS_LISTEN": listen, "SSEWS_ADMIN_LISTEN": admin}
			for k, v := range c.env {
				env[k] = v
			}
			p := startBinary(t, env)
			if code := p.waitExit(t, wait); code != 2 {
				t.Errorf("exit status %d; want 2", code)
			}
			lines := p.stderr()
			if len(lines) != 1 {
				t.Fatalf("stderr has %d lines; want 1:\n%s", len(lines), strings.Join(lines, "\n"))
			}
			if !strings.Contains(lines[0], c.wantVar) {
				t.Errorf("stderr %q does not name %s", lines[0], c.wantVar)
			}
			if strings.Contains(lines[0], "listen") || strings.Contains(lines[0], "address already in use") {
				t.Errorf("stderr %q: ssews tried to listen before checking its configuration", lines[0])
			}
		})
	}
}

// holdPort listens on a loopback port for the rest of the test and returns its
// address: given to ssews, any attempt of ssews to listen there fails.
func holdPort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}
