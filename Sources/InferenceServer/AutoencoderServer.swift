import AutoencoderCore
import Foundation
import Logging
import MicroHTTPDShim
import Synchronization

/// The inference server: libmicrohttpd (through the C shim) in front of a model repository.
///
/// Lifecycle: `start()` binds and serves; `reload()` (SIGHUP, and every `poll_seconds`) looks
/// at the model file or directory and swaps in fully validated new versions, keeping the old one
/// of any file that fails; `shutdown()` (SIGTERM/SIGINT) turns readiness off, stops
/// accepting connections, lets in-flight requests finish within the drain timeout, and stops.
public final class AutoencoderServer: Sendable {
    public let configuration: ServerConfiguration
    let repository: ModelRepository
    let metrics: ServerMetrics
    public let logger: Logger
    /// Whether each request is logged (at debug level). Read once: asking the logger on every
    /// request copies its handler, whose reference count all worker threads would write.
    private let logsRequests: Bool
    let auth: BearerAuth
    private let draining = Atomic<Bool>(false)
    private let listening = Atomic<Bool>(false)
    private let shim = Mutex<ShimHandle?>(nil)
    private let boundPort = Atomic<Int>(0)
    /// One per worker thread, indexed by `shim_request.worker`.
    private let workers: [WorkerCache]
    /// For `respond`, whose callers bring no worker: lent to one call at a time.
    private let spareWorkers = Mutex<[WorkerCache]>([])

    struct ShimHandle: @unchecked Sendable {   // the C server; touched only under `shim`'s lock
        let pointer: OpaquePointer
        let context: Unmanaged<AutoencoderServer>
    }

    /// Loads and validates the models. A single model file that cannot be loaded, a models
    /// directory that cannot be read, or an unknown or missing default model stops start-up; in a
    /// directory, a file that cannot be loaded is logged, listed by `/v1/models`, and keeps the
    /// server unready until it loads or is removed.
    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "ae-server")) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        logsRequests = logger.logLevel <= .debug
        auth = BearerAuth(tokens: try configuration.resolvedTokens())
        metrics = ServerMetrics()
        let metrics = self.metrics
        workers = (0..<configuration.threads).map { _ in WorkerCache(metrics: metrics) }
        let source: ModelRepository.Source = configuration.modelsDirectory.map { .directory($0) } ?? .file(configuration.modelPath)
        repository = try ModelRepository(source: source, defaultName: configuration.defaultModel, maxBatch: configuration.maxBatch)
        let entries = repository.entries()
        for e in entries {
            metrics.modelSeen(e.name)
            if let why = e.failure { logger.error("model not loaded", metadata: ["model": "\(e.name)", "error": "\(why)"]) }
        }
        for name in repository.ignored {
            logger.notice("not a model file (<name>.safetensors, name [A-Za-z0-9_.-]{1,64}); ignored", metadata: ["file": "\(name)"])
        }
        metrics.scanned(ModelRepository.ScanReport(loaded: entries.compactMap(\.model)), loaded: repository.models.count)
    }

    /// The port actually bound (differs from the configuration with port 0).
    public var port: Int { boundPort.load(ordering: .acquiring) }
    public var isReady: Bool { !isDraining && repository.unreadiness() == nil }
    var isDraining: Bool { draining.load(ordering: .acquiring) }
    /// Whether the listening socket is open (from `start()` until a drain begins).
    public var isListening: Bool { listening.load(ordering: .acquiring) }
    /// The loaded models' names, sorted.
    public var modelNames: [String] { repository.models.keys.sorted() }

    public func start() throws {
        try shim.withLock { (handle: inout ShimHandle?) throws in
            guard handle == nil else { return }
            let context = Unmanaged.passRetained(self)
            var error = [CChar](repeating: 0, count: 256)
            let server: OpaquePointer? = configuration.host.withCString { host in
                var c = shim_config(host: host, port: UInt16(configuration.port), threads: UInt32(configuration.threads),
                                    max_body_bytes: configuration.maxBodyBytes,
                                    connection_timeout: UInt32(configuration.connectionTimeoutSeconds),
                                    request_timeout: UInt32(configuration.requestTimeoutSeconds),
                                    connection_limit: UInt32(configuration.connectionLimit),
                                    per_ip_connection_limit: UInt32(configuration.perIPConnectionLimit),
                                    logger: shimLogger, logger_context: context.toOpaque())
                return shim_start(&c, shimHandler, context.toOpaque(), &error, error.count)
            }
            guard let server else {
                context.release()
                throw ServerStartError(message: String(decoding: error.prefix { $0 != 0 }.map(UInt8.init), as: UTF8.self))
            }
            handle = ShimHandle(pointer: server, context: context)
            listening.store(true, ordering: .releasing)
            boundPort.store(Int(shim_port(server)), ordering: .releasing)
        }
        logger.info("listening", metadata: [
            "address": "\(configuration.host):\(port)", "models": "\(Self.list(repository.models.values.map(\.tag)))",
            "threads": "\(configuration.threads)", "auth": "\(auth.tokens.isEmpty ? "off" : "on")",
        ])
    }

    /// Readiness off, stop accepting, answer what clients have already sent (each response now
    /// closes its connection), wait until every connection has closed or the drain timeout, stop.
    /// Idempotent.
    public func shutdown(drainTimeout: Double? = nil) {
        draining.store(true, ordering: .releasing)
        let timeout = drainTimeout ?? configuration.drainTimeoutSeconds
        guard let handle = shim.withLock({ $0 }) else { return }
        shim_drain(handle.pointer)
        listening.store(false, ordering: .releasing)
        logger.info("draining: no longer accepting connections", metadata: ["connections": "\(shim_connections(handle.pointer))"])
        let open = shim_await_drain(handle.pointer, UInt32(min(max(timeout, 0), 86_400) * 1000))
        if open > 0 { logger.warning("drain timeout: closing connections still open", metadata: ["connections": "\(open)"]) }
        shim.withLock { h in
            guard let current = h else { return }
            shim_stop(current.pointer)
            current.context.release()
            h = nil
        }
        logger.info("stopped")
    }

    /// The shim's connection counters, for `/metrics`.
    func connectionStats() -> shim_stats {
        var stats = shim_stats()
        shim.withLock { if let h = $0 { shim_get_stats(h.pointer, &stats) } }
        return stats
    }

    /// Looks at the model file or directory again (`ModelRepository.scan`): loads new files,
    /// swaps in changed ones that are valid in full, unloads deleted ones. `force` reads every
    /// file (SIGHUP); otherwise only those whose size or modification time changed (the poll).
    /// Whether every file it read loaded.
    @discardableResult
    public func reload(force: Bool = true) -> Bool {
        let report = repository.scan(force: force)
        if let why = report.unreadable {
            logger.error("cannot look at the models; still serving the loaded ones", metadata: ["error": "\(why)"])
            return false
        }
        metrics.scanned(report, loaded: repository.models.count)
        for m in report.loaded { logger.info("model loaded", metadata: ["model": "\(m.tag)"]) }
        for m in report.replaced { logger.info("model reloaded", metadata: ["model": "\(m.tag)"]) }
        for name in report.removed { logger.info("model unloaded: its file is gone", metadata: ["model": "\(name)"]) }
        for name in report.ignored { logger.notice("not a model file (<name>.safetensors, name [A-Za-z0-9_.-]{1,64}); ignored", metadata: ["file": "\(name)"]) }
        for f in report.failed {
            let serving = repository.models[f.name].map(\.tag) ?? "none"
            logger.error("model load failed; its previous version, if any, still serves", metadata: ["model": "\(f.name)", "error": "\(f.error)", "serving": "\(serving)"])
        }
        return report.failed.isEmpty
    }

    // MARK: Requests

    /// Answers one request without the network: everything the HTTP handler does between the
    /// complete body and the queued response. For benchmarks (`ae-bench route`) and tests.
    public func respond(method: String, path: String, contentType: String? = nil, authorization: String? = nil,
                        inferenceHeaderLength: Int? = nil, body: [UInt8]) -> (status: Int, body: [UInt8]) {
        var padded = body
        padded.append(0)   // the shim's bodies end with a NUL past their length
        let worker = spareWorkers.withLock { $0.popLast() } ?? WorkerCache(metrics: metrics)
        defer {
            worker.output.shrink(above: 1 << 16)
            spareWorkers.withLock { if $0.count < 64 { $0.append(worker) } }
        }
        return padded.withUnsafeBufferPointer { b in
            withOptionalCString(contentType) { ct in
                let auth = authorization.map { Array($0.utf8) }
                return withOptionalBytes(auth) { auth in
                    withOptionalCString(inferenceHeaderLength.map(String.init)) { ih in
                        let r = route(Route(path: path), method: method, path: path, contentType: ct, authorization: auth,
                                      inferenceHeader: ih, body: UnsafeBufferPointer(rebasing: b.dropLast()), into: worker.output, worker: worker)
                        return (r.status, worker.output.bytes)
                    }
                }
            }
        }
    }

    func handle(_ r: UnsafePointer<shim_request>) {
        let start = DispatchTime.now().uptimeNanoseconds
        let req = r.pointee
        let path = String(cString: req.url)
        let method = String(cString: req.method)
        let body = UnsafeBufferPointer(start: req.body, count: req.body != nil ? req.body_length : 0)
        let worker = workers[Int(req.worker)]
        let out = worker.output
        let authorization = req.authorization.map { UnsafeRawBufferPointer(start: $0, count: req.authorization_length) }
        let parsed = Route(path: path)
        let response = route(parsed, method: method, path: path, contentType: req.content_type, authorization: authorization,
                             inferenceHeader: req.inference_header_length, body: body, into: out, worker: worker)
        if let length = response.inferenceHeaderLength {
            // OIP v2's binary answers: the JSON's length, in a header of its own.
            _ = "\(length)".withCString { value in
                shim_respond(r, UInt32(response.status), Self.cString(response.contentType), out.base, out.count,
                             Self.cString("Inference-Header-Content-Length"), value)
            }
        } else {
            let extra = response.extraHeader
            _ = shim_respond(r, UInt32(response.status), Self.cString(response.contentType), out.base, out.count,
                             extra.map { Self.cString($0.name) }, extra.map { Self.cString($0.value) })
        }
        out.shrink(above: 1 << 16)   // a big batch's answer is not kept
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        worker.recorder.request(route: parsed?.endpoint, status: response.status, nanoseconds: elapsed)
        if logsRequests {
            logger.debug("request", metadata: ["method": "\(method)", "path": "\(path)", "status": "\(response.status)", "micros": "\(elapsed / 1000)"])
        }
    }

    /// Up to ten names for a log line, then how many more.
    static func list(_ names: [String]) -> String {
        let sorted = names.sorted()
        return sorted.prefix(10).joined(separator: ", ") + (sorted.count > 10 ? " and \(sorted.count - 10) more" : "")
    }

    /// StaticString literals are NUL-terminated.
    private static func cString(_ s: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
    }

}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

private func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s else { return body(nil) }
    return s.withCString { body($0) }
}

public struct ServerStartError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
