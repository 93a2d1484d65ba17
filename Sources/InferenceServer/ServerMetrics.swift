import CoreMetrics
import Foundation
import Metrics
import MicroHTTPDShim
import Prometheus
import Synchronization

/// The server's metrics, recorded through swift-metrics into this server's own Prometheus
/// registry (one registry per server, so tests can run several servers in one process).
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    let anomalies: CoreMetrics.Counter
    let reloadFailures: CoreMetrics.Counter
    let reloads: CoreMetrics.Counter
    private let modelLoadedAt: CoreMetrics.Gauge
    private let modelLoadSeconds: CoreMetrics.Gauge
    private let modelInfo: Mutex<(sha: String, gauge: CoreMetrics.Gauge)?> = Mutex(nil)

    /// Routes with their own label; anything else is `other`, so unknown paths cannot blow up cardinality.
    static let routes = ["/encode", "/reconstruct", "/livez", "/healthz", "/readyz", "/metrics", "/model"]

    init() {
        registry = PrometheusCollectorRegistry()
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100), .seconds(1),
        ]
        factory = f
        anomalies = CoreMetrics.Counter(label: "ae_anomalies_flagged_total", factory: f)
        reloadFailures = CoreMetrics.Counter(label: "ae_model_reload_failures_total", factory: f)
        reloads = CoreMetrics.Counter(label: "ae_model_reloads_total", factory: f)
        modelLoadedAt = CoreMetrics.Gauge(label: "ae_model_loaded_timestamp_seconds", factory: f)
        modelLoadSeconds = CoreMetrics.Gauge(label: "ae_model_load_duration_seconds", factory: f)
    }

    /// The path's index in `routes`, or `routes.count` for `other`.
    static func routeIndex(_ path: String) -> Int { routes.firstIndex(of: path) ?? routes.count }

    /// A request recorder for one worker thread: its own counter and timer objects (over this
    /// registry's series, which the threads share), so finding them takes no lock of ours and
    /// no shared reference count.
    func recorder() -> RequestRecorder { RequestRecorder(self) }

    /// The `route` label of a route index.
    static func label(_ route: Int) -> String { route < routes.count ? routes[route] : "other" }

    func counter(route: Int, status: Int) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: "ae_http_requests_total", dimensions: [("route", Self.label(route)), ("status", String(status))], factory: factory)
    }

    func timer(route: Int) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: "ae_http_request_duration_seconds", dimensions: [("route", Self.label(route))], factory: factory)
    }

    func modelLoaded(_ m: LoadedModel) {
        modelLoadedAt.record(m.loadedAt.timeIntervalSince1970)
        modelLoadSeconds.record(m.loadSeconds)
        modelInfo.withLock { info in
            info?.gauge.record(0)
            let g = CoreMetrics.Gauge(label: "ae_model_info", dimensions: [("name", m.name), ("sha256", m.sha256)], factory: factory)
            g.record(1)
            info = (m.sha256, g)
        }
    }

    /// The registry's series, then the shim's connection counters (kept by the shim in C; they
    /// are written here as they stand).
    func exposition(connections c: shim_stats) -> [UInt8] {
        var text = registry.emitToBuffer()
        text += Array("""
            # TYPE ae_connections_open gauge
            ae_connections_open \(c.connections_open)
            # TYPE ae_requests_in_flight gauge
            ae_requests_in_flight \(c.requests_in_flight)
            # TYPE ae_connections_refused_total counter
            ae_connections_refused_total{reason="connection_limit"} \(c.refused_connection_limit)
            ae_connections_refused_total{reason="per_ip_connection_limit"} \(c.refused_per_ip_limit)
            # TYPE ae_request_timeouts_total counter
            ae_request_timeouts_total \(c.request_timeouts)
            # TYPE ae_requests_refused_total counter
            ae_requests_refused_total{reason="framing"} \(c.bad_framing)
            ae_requests_refused_total{reason="too_many_parameters"} \(c.too_many_parameters)

            """.utf8)
        return text
    }
}

/// Records one worker thread's requests (see `ServerMetrics.recorder`). Used by that thread only.
final class RequestRecorder: @unchecked Sendable {
    private let metrics: ServerMetrics
    /// Keyed by route index × 1000 + status: no string is built per request.
    private var counters: [Int: CoreMetrics.Counter] = [:]
    private let timers: [CoreMetrics.Timer]

    init(_ metrics: ServerMetrics) {
        self.metrics = metrics
        timers = (0...ServerMetrics.routes.count).map { metrics.timer(route: $0) }
    }

    func request(route: Int, status: Int, nanoseconds: UInt64) {
        let key = route * 1000 + status
        let counter: CoreMetrics.Counter
        if let c = counters[key] { counter = c } else { counter = metrics.counter(route: route, status: status); counters[key] = counter }
        counter.increment()
        timers[route].recordNanoseconds(Int64(nanoseconds))
    }
}
