package bridge

import "github.com/prometheus/client_golang/prometheus"

// Client protocols, the "client" label of per-client series.
const (
	clientWS  = "ws"
	clientSSE = "sse"
)

// Metrics holds every ssews_ series. Handlers never look labels up per event: each
// route resolves its children once (routeMetrics) and increments those.
type Metrics struct {
	connections       *prometheus.GaugeVec
	connectionsTotal  *prometheus.CounterVec
	eventsIn          *prometheus.CounterVec
	eventsOut         *prometheus.CounterVec
	bytesIn           *prometheus.CounterVec
	bytesOut          *prometheus.CounterVec
	upstreamConnects  *prometheus.CounterVec
	upstreamReconnect *prometheus.CounterVec
	upstreamFailures  *prometheus.CounterVec
	droppedFields     *prometheus.CounterVec
	oversize          *prometheus.CounterVec
	clientMessages    *prometheus.CounterVec
	slowDisconnects   *prometheus.CounterVec
	replayMisses      *prometheus.CounterVec
	rejected          *prometheus.CounterVec
	relayed           *prometheus.GaugeVec
}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ssews", Name: name, Help: help}, labels)
	}
	m := &Metrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "ssews", Name: "connections", Help: "Client connections open now.",
		}, []string{"route", "client"}),
		connectionsTotal:  counter("connections_total", "Client connections accepted.", "route", "client"),
		eventsIn:          counter("events_in_total", "Events and messages received from upstreams.", "route"),
		eventsOut:         counter("events_out_total", "Events and messages written to clients.", "route", "client"),
		bytesIn:           counter("bytes_in_total", "Payload bytes received from upstreams.", "route"),
		bytesOut:          counter("bytes_out_total", "Bytes written to clients.", "route", "client"),
		upstreamConnects:  counter("upstream_connects_total", "Upstream connections established.", "route"),
		upstreamReconnect: counter("upstream_reconnects_total", "Upstream connections re-established after a drop.", "route"),
		upstreamFailures:  counter("upstream_failures_total", "Upstream connection attempts or streams that failed, by reason.", "route", "reason"),
		droppedFields:     counter("dropped_fields_total", "Event types or ids dropped because they held CR, LF or NUL.", "route", "reason"),
		oversize:          counter("oversize_messages_total", "Events or messages over max_message, by where they came from.", "route", "reason"),
		clientMessages:    counter("client_messages_total", "Messages from WebSocket clients, by what became of them.", "route", "reason"),
		slowDisconnects:   counter("slow_client_disconnects_total", "Clients disconnected because they could not keep up.", "route", "client"),
		replayMisses:      counter("replay_misses_total", "Resuming clients whose id was no longer in the replay buffer.", "route"),
		rejected:          counter("rejected_requests_total", "Client requests refused before their stream started, by reason.", "route", "reason"),
		relayed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "ssews", Name: "relayed_streams",
			Help: "Per-client sessions on a relay loop now: EventSource streams of SSE upstreams, WebSocket sessions of WebSocket upstreams.",
		}, []string{"route"}),
	}
	reg.MustRegister(m.connections, m.connectionsTotal, m.eventsIn, m.eventsOut, m.bytesIn, m.bytesOut,
		m.upstreamConnects, m.upstreamReconnect, m.upstreamFailures, m.droppedFields, m.oversize,
		m.clientMessages, m.slowDisconnects, m.replayMisses, m.rejected, m.relayed)
	return m
}

// Reasons used as label values. Keeping them here keeps the set of series bounded
// and documented in one place.
const (
	reasonUnreachable = "unreachable"
	reasonTimeout     = "timeout"
	reasonStatus      = "status"
	reasonContentType = "content_type"
	reasonDropped     = "dropped"
	reasonProtocol    = "protocol"
	reasonOversize    = "oversize"

	reasonUpstream = "upstream"
	reasonClient   = "client"

	reasonForwarded = "forwarded"
	reasonNoPublish = "no_publish"
	reasonFailed    = "failed"

	reasonOrigin = "origin"
	reasonLimit  = "limit"
	reasonMethod = "method"
	reasonAuth   = "auth"
)

// routeMetrics are one route's series, resolved once so the hot path only adds.
type routeMetrics struct {
	eventsIn, bytesIn                     prometheus.Counter
	upstreamConnects, upstreamReconnects  prometheus.Counter
	replayMisses                          prometheus.Counter
	droppedType, droppedID                prometheus.Counter
	oversizeUpstream, oversizeClient      prometheus.Counter
	msgForwarded, msgNoPublish, msgFailed prometheus.Counter
	failures                              *prometheus.CounterVec
	rejected                              *prometheus.CounterVec
	clients                               map[string]*clientMetrics
	relayed                               prometheus.Gauge
}

// clientMetrics are the series of one route and one client protocol.
type clientMetrics struct {
	open     prometheus.Gauge
	total    prometheus.Counter
	events   prometheus.Counter
	bytes    prometheus.Counter
	slowDrop prometheus.Counter
}

// route resolves (and so creates at zero) every series of one route, so that a scrape
// shows each configured route from start-up.
func (m *Metrics) route(path string) *routeMetrics {
	rm := &routeMetrics{
		eventsIn:           m.eventsIn.WithLabelValues(path),
		bytesIn:            m.bytesIn.WithLabelValues(path),
		upstreamConnects:   m.upstreamConnects.WithLabelValues(path),
		upstreamReconnects: m.upstreamReconnect.WithLabelValues(path),
		replayMisses:       m.replayMisses.WithLabelValues(path),
		droppedType:        m.droppedFields.WithLabelValues(path, "type"),
		droppedID:          m.droppedFields.WithLabelValues(path, "id"),
		oversizeUpstream:   m.oversize.WithLabelValues(path, reasonUpstream),
		oversizeClient:     m.oversize.WithLabelValues(path, reasonClient),
		msgForwarded:       m.clientMessages.WithLabelValues(path, reasonForwarded),
		msgNoPublish:       m.clientMessages.WithLabelValues(path, reasonNoPublish),
		msgFailed:          m.clientMessages.WithLabelValues(path, reasonFailed),
		failures:           m.upstreamFailures.MustCurryWith(prometheus.Labels{"route": path}),
		rejected:           m.rejected.MustCurryWith(prometheus.Labels{"route": path}),
		clients:            map[string]*clientMetrics{},
		relayed:            m.relayed.WithLabelValues(path),
	}
	for _, r := range []string{reasonUnreachable, reasonTimeout, reasonStatus, reasonContentType, reasonDropped, reasonProtocol, reasonOversize} {
		rm.failures.WithLabelValues(r)
	}
	for _, r := range []string{reasonOrigin, reasonLimit, reasonMethod, reasonAuth} {
		rm.rejected.WithLabelValues(r)
	}
	for _, c := range []string{clientWS, clientSSE} {
		rm.clients[c] = &clientMetrics{
			open:     m.connections.WithLabelValues(path, c),
			total:    m.connectionsTotal.WithLabelValues(path, c),
			events:   m.eventsOut.WithLabelValues(path, c),
			bytes:    m.bytesOut.WithLabelValues(path, c),
			slowDrop: m.slowDisconnects.WithLabelValues(path, c),
		}
	}
	return rm
}
