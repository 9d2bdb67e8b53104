package test

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads the admin /metrics with the Prometheus text parser.
func scrape(tb testing.TB, p *proxy) map[string]*dto.MetricFamily {
	tb.Helper()
	resp, err := http.Get("http://" + p.main.AdminAddr() + "/metrics")
	if err != nil {
		tb.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		tb.Fatalf("parse /metrics: %v", err)
	}
	return families
}

var seriesPattern = regexp.MustCompile(`^(\w+)\{(.*)\}$`)
var labelPattern = regexp.MustCompile(`(\w+)="([^"]*)"`)

// metricValue returns the value of one series, written as name{label="v",...}, and
// whether it exists.
func metricValue(tb testing.TB, p *proxy, series string) (float64, bool) {
	tb.Helper()
	m := seriesPattern.FindStringSubmatch(series)
	if m == nil {
		tb.Fatalf("bad series %q", series)
	}
	want := map[string]string{}
	for _, l := range labelPattern.FindAllStringSubmatch(m[2], -1) {
		want[l[1]] = l[2]
	}
	fam, ok := scrape(tb, p)[m[1]]
	if !ok {
		return 0, false
	}
next:
	for _, metric := range fam.GetMetric() {
		if len(metric.GetLabel()) != len(want) {
			continue
		}
		for _, l := range metric.GetLabel() {
			if want[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case metric.Counter != nil:
			return metric.Counter.GetValue(), true
		case metric.Gauge != nil:
			return metric.Gauge.GetValue(), true
		}
	}
	return 0, false
}

// waitMetric waits until a series reaches at least want: metrics move after the
// event that the test caused, on another goroutine.
func waitMetric(tb testing.TB, p *proxy, series string, want float64) {
	tb.Helper()
	waitSeries(tb, p, series, fmt.Sprintf(">= %v", want), func(v float64) bool { return v >= want })
}

// waitGauge waits until a gauge is exactly want.
func waitGauge(tb testing.TB, p *proxy, series string, want float64) {
	tb.Helper()
	waitSeries(tb, p, series, fmt.Sprint(want), func(v float64) bool { return v == want })
}

// waitSeries waits until a series' value is ok; want says what that is.
func waitSeries(tb testing.TB, p *proxy, series, want string, ok func(float64) bool) {
	tb.Helper()
	deadline := time.After(wait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if v, _ := metricValue(tb, p, series); ok(v) {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			v, exists := metricValue(tb, p, series)
			tb.Fatalf("%s = %v (exists %v); want %s", series, v, exists, want)
		}
	}
}

func TestMetricsExistFromStartAndMove(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: a\n\ndata: b\n\n")
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/m", up.URL, "/idle", up.URL)})
	for _, s := range []string{
		`ssews_connections{client="sse",route="/idle"}`,
		`ssews_events_out_total{client="ws",route="/idle"}`,
		`ssews_upstream_connects_total{route="/idle"}`,
		`ssews_dropped_fields_total{reason="id",route="/idle"}`,
		`ssews_oversize_messages_total{reason="upstream",route="/idle"}`,
	} {
		if v, ok := metricValue(t, p, s); !ok || v != 0 {
			t.Errorf("%s = %v (exists %v); want 0 at start", s, v, ok)
		}
	}
	s := openSSE(t, p.url+"/m", nil)
	s.next(t)
	s.next(t)
	waitMetric(t, p, `ssews_events_out_total{client="sse",route="/m"}`, 2)
	waitMetric(t, p, `ssews_events_in_total{route="/m"}`, 2)
	waitMetric(t, p, `ssews_connections{client="sse",route="/m"}`, 1)
	waitMetric(t, p, `ssews_upstream_connects_total{route="/m"}`, 1)
}

func TestAdminHealth(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() })
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/x", up.URL)})
	for _, path := range []string{"/healthz", "/readyz"} {
		if got, _ := get(t, "http://"+p.main.AdminAddr()+path, nil); got != http.StatusOK {
			t.Errorf("%s: %d; want 200", path, got)
		}
	}
}
