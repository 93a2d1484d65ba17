import CoreMetrics
import Foundation
import Metrics
import MicroHTTPDShim
import Prometheus
import Synchronization

/// The server's metrics, recorded through swift-metrics into this server's own Prometheus
/// registry (one registry per server, so tests can run several servers in one process). A
/// series about a model carries its `model` label; a model that leaves the repository takes its
/// gauges with it.
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let modelsLoaded: CoreMetrics.Gauge
    /// Each model's gauges (`ae_model_info`, its load time and duration), removed with it.
    private let modelGauges = Mutex<[String: [Prometheus.Gauge]]>([:])

    init() {
        registry = PrometheusCollectorRegistry()
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100), .seconds(1),
        ]
        factory = f
        modelsLoaded = CoreMetrics.Gauge(label: "ae_models_loaded", factory: f)
    }

    /// A request recorder for one worker thread and one model (nil: requests about none): its
    /// own counter and timer objects (over this registry's series, which the threads share), so
    /// finding them takes no lock of ours and no shared reference count.
    func recorder(model: String?) -> RequestRecorder { RequestRecorder(self, model: model) }

    private func dimensions(_ route: Route.Endpoint?, model: String?, _ more: [(String, String)] = []) -> [(String, String)] {
        (model.map { [("model", $0)] } ?? []) + [("route", route?.label ?? "other")] + more
    }

    func counter(route: Route.Endpoint?, status: Int, model: String?) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: "ae_http_requests_total", dimensions: dimensions(route, model: model, [("status", String(status))]), factory: factory)
    }

    func timer(route: Route.Endpoint?, model: String?) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: "ae_http_request_duration_seconds", dimensions: dimensions(route, model: model), factory: factory)
    }

    func anomalies(model: String) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: "ae_anomalies_flagged_total", dimensions: [("model", model)], factory: factory)
    }

    /// What a look at the repository, or a load or unload through the repository extension, did:
    /// loads, swaps, removals and failures, per model.
    func scanned(_ report: ModelRepository.ScanReport, loaded count: Int) {
        for m in report.loaded + report.replaced { modelLoaded(m) }
        for m in report.replaced {
            CoreMetrics.Counter(label: "ae_model_reloads_total", dimensions: [("model", m.name)], factory: factory).increment()
        }
        for f in report.failed {
            CoreMetrics.Counter(label: "ae_model_reload_failures_total", dimensions: [("model", f.name)], factory: factory).increment()
        }
        for name in report.removed { dropGauges(name) }
        modelsLoaded.record(count)
    }

    /// Zeroes a model's failure and reload counters, so that they exist before the first event.
    func modelSeen(_ name: String) {
        for label in ["ae_model_reloads_total", "ae_model_reload_failures_total"] {
            _ = CoreMetrics.Counter(label: label, dimensions: [("model", name)], factory: factory)
        }
    }

    private func modelLoaded(_ m: LoadedModel) {
        dropGauges(m.name)
        let info = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "ae_model_info", unitName: "", helpText: ""), labels: [("model", m.name), ("version", String(m.version)), ("sha256", m.sha256)])
        info.set(1.0)
        let at = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "ae_model_loaded_timestamp_seconds", unitName: "", helpText: ""), labels: [("model", m.name)])
        at.set(m.loadedAt.timeIntervalSince1970)
        let took = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "ae_model_load_duration_seconds", unitName: "", helpText: ""), labels: [("model", m.name)])
        took.set(m.loadSeconds)
        modelGauges.withLock { $0[m.name] = [info, at, took] }
        modelSeen(m.name)
    }

    private func dropGauges(_ name: String) {
        let old = modelGauges.withLock { $0.removeValue(forKey: name) } ?? []
        for g in old { registry.unregisterGauge(g) }
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

/// Records one worker thread's requests about one model, or about none (see
/// `ServerMetrics.recorder`). Used by that thread only.
final class RequestRecorder: @unchecked Sendable {
    private let metrics: ServerMetrics
    let model: String?
    /// Keyed by endpoint index × 1000 + status: no string is built per request. Made on first
    /// use, so a model shows the series of the routes it was asked on only.
    private var counters: [Int: CoreMetrics.Counter] = [:]
    private var timers: [CoreMetrics.Timer?]
    /// `ae_anomalies_flagged_total` of the model.
    private(set) lazy var anomalies: CoreMetrics.Counter = metrics.anomalies(model: model ?? "")

    init(_ metrics: ServerMetrics, model: String?) {
        self.metrics = metrics
        self.model = model
        timers = Array(repeating: nil, count: Route.Endpoint.allCases.count + 1)
    }

    /// `route`: nil for a path that is no endpoint.
    func request(route: Route.Endpoint?, status: Int, nanoseconds: UInt64) {
        let index = route?.rawValue ?? Route.Endpoint.allCases.count
        let key = index * 1000 + status
        let counter: CoreMetrics.Counter
        if let c = counters[key] { counter = c } else { counter = metrics.counter(route: route, status: status, model: model); counters[key] = counter }
        counter.increment()
        let timer: CoreMetrics.Timer
        if let t = timers[index] { timer = t } else { timer = metrics.timer(route: route, model: model); timers[index] = timer }
        timer.recordNanoseconds(Int64(nanoseconds))
    }
}
