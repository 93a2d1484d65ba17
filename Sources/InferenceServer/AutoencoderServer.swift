import AutoencoderCore
import Foundation
import Logging
import MicroHTTPDShim
import Synchronization

/// The inference server: libmicrohttpd (through the C shim) in front of a loaded model.
///
/// Lifecycle: `start()` binds and serves; `reload()` (SIGHUP) swaps in a fully validated new
/// model or keeps the old one; `shutdown()` (SIGTERM/SIGINT) turns readiness off, stops
/// accepting connections, lets in-flight requests finish within the drain timeout, and stops.
public final class AutoencoderServer: Sendable {
    public let configuration: ServerConfiguration
    let store: ModelStore
    let metrics: ServerMetrics
    public let logger: Logger
    /// Whether each request is logged (at debug level). Read once: asking the logger on every
    /// request copies its handler, whose reference count all worker threads would write.
    private let logsRequests: Bool
    private let tokens: [[UInt8]]
    private let draining = Atomic<Bool>(false)
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

    /// Loads and validates the model; a model that cannot be loaded stops start-up.
    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "ae-server")) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        logsRequests = logger.logLevel <= .debug
        tokens = try configuration.resolvedTokens().map { Array($0.utf8) }
        metrics = ServerMetrics()
        let metrics = self.metrics
        workers = (0..<configuration.threads).map { _ in WorkerCache(metrics: metrics.recorder()) }
        let model = try LoadedModel(path: configuration.modelPath, maxBatch: configuration.maxBatch)
        store = ModelStore(model)
        metrics.modelLoaded(model)
    }

    /// The port actually bound (differs from the configuration with port 0).
    public var port: Int { boundPort.load(ordering: .acquiring) }
    public var isReady: Bool { !draining.load(ordering: .acquiring) && store.model != nil }
    public var modelName: String? { store.model?.name }

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
            boundPort.store(Int(shim_port(server)), ordering: .releasing)
        }
        logger.info("listening", metadata: [
            "address": "\(configuration.host):\(port)", "model": "\(store.model?.name ?? "none")",
            "threads": "\(configuration.threads)", "auth": "\(tokens.isEmpty ? "off" : "on")",
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

    /// Loads the model file again and swaps it in only if it is valid in full.
    @discardableResult
    public func reload() -> Bool {
        do {
            let m = try LoadedModel(path: configuration.modelPath, maxBatch: configuration.maxBatch)
            store.replace(with: m)
            metrics.modelLoaded(m)
            metrics.reloads.increment()
            logger.info("model reloaded", metadata: ["model": "\(m.name)"])
            return true
        } catch {
            metrics.reloadFailures.increment()
            logger.error("model reload failed; still serving the previous model", metadata: ["error": "\(error)", "model": "\(store.model?.name ?? "none")"])
            return false
        }
    }

    // MARK: Requests

    /// Answers one request without the network: everything the HTTP handler does between the
    /// complete body and the queued response. For benchmarks (`ae-bench route`) and tests.
    public func respond(method: String, path: String, contentType: String? = nil, authorization: String? = nil,
                        body: [UInt8]) -> (status: Int, body: [UInt8]) {
        var padded = body
        padded.append(0)   // the shim's bodies end with a NUL past their length
        let worker = spareWorkers.withLock { $0.popLast() } ?? WorkerCache(metrics: metrics.recorder())
        defer {
            worker.output.shrink(above: 1 << 16)
            spareWorkers.withLock { if $0.count < 64 { $0.append(worker) } }
        }
        return padded.withUnsafeBufferPointer { b in
            withOptionalCString(contentType) { ct in
                let auth = authorization.map { Array($0.utf8) }
                return withOptionalBytes(auth) { auth in
                    let r = route(method: method, path: path, contentType: ct, authorization: auth,
                                  body: UnsafeBufferPointer(rebasing: b.dropLast()), into: worker.output, worker: worker)
                    return (r.status, worker.output.bytes)
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
        let response = route(method: method, path: path, contentType: req.content_type, authorization: authorization,
                             body: body, into: out, worker: worker)
        let extra = response.extraHeader
        _ = shim_respond(r, UInt32(response.status), Self.cString(response.contentType), out.base, out.count,
                         extra.map { Self.cString($0.name) }, extra.map { Self.cString($0.value) })
        out.shrink(above: 1 << 16)   // a big batch's answer is not kept
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        worker.metrics.request(route: ServerMetrics.routeIndex(path), status: response.status, nanoseconds: elapsed)
        if logsRequests {
            logger.debug("request", metadata: ["method": "\(method)", "path": "\(path)", "status": "\(response.status)", "micros": "\(elapsed / 1000)"])
        }
    }

    /// StaticString literals are NUL-terminated.
    private static func cString(_ s: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// Routes one request and writes its body into `out`, with `worker`'s buffers and model.
    func route(method: String, path: String, contentType: UnsafePointer<CChar>?, authorization: UnsafeRawBufferPointer?,
               body: UnsafeBufferPointer<UInt8>, into out: JSONOutput, worker: WorkerCache) -> HTTPResponse {
        out.reset()
        let isGet = method == "GET" || method == "HEAD"
        switch path {
        case "/livez", "/healthz":
            guard isGet else { return .methodNotAllowed("GET, HEAD", into: out) }
            out.raw(#"{"status":"ok"}"#)
            return .ok
        case "/readyz":
            guard isGet else { return .methodNotAllowed("GET, HEAD", into: out) }
            if draining.load(ordering: .acquiring) { return .error(503, "not ready: draining", into: out) }
            guard let m = store.model else { return .error(503, "not ready: no model loaded", into: out) }
            out.raw(#"{"status":"ready","model":"#); m.nameJSON.write(0, to: out); out.raw("}")
            return .ok
        case "/metrics":
            guard isGet else { return .methodNotAllowed("GET, HEAD", into: out) }
            if configuration.authMetrics, !authorized(authorization) { return denied(into: out) }
            out.raw(metrics.exposition(connections: connectionStats()))
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8")
        case "/model":
            guard isGet else { return .methodNotAllowed("GET, HEAD", into: out) }
            if !authorized(authorization) { return denied(into: out) }
            guard let m = store.model else { return .error(503, "not ready: no model loaded", into: out) }
            out.raw(m.metadataJSON)
            return .ok
        case "/encode", "/reconstruct":
            guard method == "POST" else { return .methodNotAllowed("POST", into: out) }
            if !authorized(authorization) { return denied(into: out) }
            if let contentType, !Self.isJSON(contentType) {
                return .error(415, "Content-Type must be application/json, got '\(String(cString: contentType).prefix(80))'", into: out)
            }
            return worker.withModel(from: store) { m, scratch in
                guard let m, scratch != nil else { return .error(503, "not ready: no model loaded", into: out) }
                let response = infer(path, body, m, &scratch!, into: out)
                if !scratch!.isSmall { scratch = RequestScratch(m.frozen) }   // a big batch's buffers are not kept
                return response
            }
        default:
            return .error(404, "no such endpoint: \(path.prefix(100)); see /model, /encode, /reconstruct, /livez, /readyz, /metrics", into: out)
        }
    }

    /// Parses, runs the model and writes the answer (or a 400).
    private func infer(_ path: String, _ body: UnsafeBufferPointer<UInt8>, _ m: WorkerModel, _ s: inout RequestScratch,
                       into out: JSONOutput) -> HTTPResponse {
        do {
            let rows = try m.parser.parse(body, into: &s.values)
            if path == "/encode" { try encode(rows, m, &s, into: out) } else { try reconstruct(rows, m, &s, into: out) }
            return .ok
        } catch {
            return .error(400, error.message, into: out)
        }
    }

    /// Whether the request may pass: auth is off, or its bearer token is one of ours (compared
    /// in constant time). The header is read with its length: a NUL inside it is refused, not
    /// taken as its end.
    private func authorized(_ header: UnsafeRawBufferPointer?) -> Bool {
        if tokens.isEmpty { return true }
        guard let header else { return false }
        let value = Array(header)
        let prefix = Array("Bearer ".utf8)
        guard value.count > prefix.count, !value.contains(0),
              value[0..<prefix.count].map({ $0 | 0x20 }) == prefix.map({ $0 | 0x20 }) else { return false }
        let presented = Array(value[prefix.count...])
        var ok = false
        for t in tokens { ok = Self.constantTimeEqual(presented, t) || ok }   // every token is compared
        return ok
    }

    private func denied(into out: JSONOutput) -> HTTPResponse {
        var r = HTTPResponse.error(401, "missing or invalid bearer token", into: out)
        r.extraHeader = ("WWW-Authenticate", "Bearer")
        return r
    }

    /// Whether a and b are equal, in time that depends on their lengths only, not on where they
    /// differ. Lengths are compared whole (folding their difference into a byte would let
    /// lengths 256 apart pass as equal).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff: UInt8 = 0
        let n = max(a.count, b.count)
        for i in 0..<n { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0 && a.count == b.count
    }

    /// `application/json`, any case, optionally followed by parameters (`; charset=utf-8`).
    /// Compared on the header's bytes: this runs on every POST.
    static func isJSON(_ contentType: UnsafePointer<CChar>) -> Bool {
        let p = UnsafeRawPointer(contentType).assumingMemoryBound(to: UInt8.self)
        var i = 0
        while p[i] == 0x20 || p[i] == 0x09 { i += 1 }
        for ch in "application/json".utf8 {
            guard p[i] | 0x20 == ch | 0x20, p[i] != 0 else { return false }
            i += 1
        }
        while p[i] == 0x20 || p[i] == 0x09 { i += 1 }
        return p[i] == 0 || p[i] == UInt8(ascii: ";")
    }

    // MARK: Inference

    /// Scales the parsed rows into `s.scaled` with the model's scaler (float64, then float32).
    private static func scale(_ count: Int, _ f: FrozenModel, _ s: inout RequestScratch) {
        RequestScratch.resize(&s.scaled, count)
        s.values.withUnsafeBufferPointer { v in s.scaled.withUnsafeMutableBufferPointer { f.scale(v, into: $0.baseAddress!) } }
    }

    /// Values that are valid Floats can still overflow once scaled, or through the network's
    /// sums; such a row has no meaningful score, so it is refused rather than answered with nulls.
    private static func requireFinite(_ values: [Float], rowLength: Int, what: String) throws(RequestError) {
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw RequestError("row \(bad / rowLength): feature values are too extreme for the model (the \(what) is not finite); real traffic statistics are far smaller")
        }
    }

    private func encode(_ rows: ParsedRows, _ m: WorkerModel, _ s: inout RequestScratch, into o: JSONOutput) throws(RequestError) {
        let f = m.frozen
        let n = f.inputSize, k = f.latentSize
        Self.scale(rows.rows * n, f, &s)
        RequestScratch.resize(&s.output, rows.rows * k)
        s.scaled.withUnsafeBufferPointer { x in
            s.output.withUnsafeMutableBufferPointer { z in
                s.activations.withUnsafeMutableBufferPointer {
                    f.encode(x.baseAddress!, rows: rows.rows, into: z.baseAddress!, activations: $0.baseAddress!, capacity: RequestScratch.chunkRows)
                }
            }
        }
        try Self.requireFinite(s.scaled, rowLength: n, what: "scaled input")
        try Self.requireFinite(s.output, rowLength: k, what: "latent vector")
        s.output.withUnsafeBufferPointer { l in
            if rows.batched {
                o.raw(#"{"latents":["#)
                for r in 0..<rows.rows {
                    if r > 0 { o.byte(UInt8(ascii: ",")) }
                    o.floats(UnsafeBufferPointer(rebasing: l[(r * k)..<((r + 1) * k)]))
                }
                o.raw("]")
            } else {
                o.raw(#"{"latent":"#)
                o.floats(l)
            }
        }
        o.raw(#","model":"#); m.nameJSON.write(0, to: o); o.raw("}")
    }

    private func reconstruct(_ rows: ParsedRows, _ m: WorkerModel, _ s: inout RequestScratch, into o: JSONOutput) throws(RequestError) {
        let f = m.frozen
        let n = f.inputSize
        let threshold = m.threshold
        Self.scale(rows.rows * n, f, &s)
        RequestScratch.resize(&s.output, rows.rows * n)
        RequestScratch.resize(&s.errors, rows.rows)
        s.scaled.withUnsafeBufferPointer { x in
            s.output.withUnsafeMutableBufferPointer { y in
                s.errors.withUnsafeMutableBufferPointer { e in
                    s.activations.withUnsafeMutableBufferPointer {
                        f.reconstruct(x.baseAddress!, rows: rows.rows, into: y.baseAddress!, errors: e.baseAddress!,
                                      activations: $0.baseAddress!, capacity: RequestScratch.chunkRows)
                    }
                }
            }
        }
        try Self.requireFinite(s.scaled, rowLength: n, what: "scaled input")
        try Self.requireFinite(s.errors, rowLength: 1, what: "reconstruction error")
        var flagged = 0
        o.raw(rows.batched ? #"{"results":["# : "{")
        s.scaled.withUnsafeBufferPointer { xs in
            s.output.withUnsafeBufferPointer { ys in
                s.errors.withUnsafeBufferPointer { errors in
                    s.unscaled.withUnsafeMutableBufferPointer { unscaled in
                        for r in 0..<rows.rows {
                            if rows.batched { if r > 0 { o.byte(UInt8(ascii: ",")) }; o.byte(UInt8(ascii: "{")) }
                            let x = UnsafeBufferPointer(rebasing: xs[(r * n)..<((r + 1) * n)])
                            let y = UnsafeBufferPointer(rebasing: ys[(r * n)..<((r + 1) * n)])
                            // The reconstruction in the client's units: the scaler's inverse.
                            f.unscale(y, into: unscaled.baseAddress!)
                            o.raw(#""reconstruction":"#)
                            o.floats(UnsafeBufferPointer(unscaled))
                            let anomaly = errors[r] > threshold
                            if anomaly { flagged += 1 }
                            o.raw(#","mse":"#); o.number(errors[r])
                            o.raw(#","threshold":"#); o.raw(m.thresholdJSON)
                            o.raw(#","anomaly":"#); o.bool(anomaly)
                            o.raw(#","top_features":["#)
                            let top = TopErrors(x, y)
                            for i in 0..<top.count {
                                if i > 0 { o.byte(UInt8(ascii: ",")) }
                                o.raw(#"{"name":"#); m.featureNamesJSON.write(top.index[i], to: o); o.raw(#","error":"#); o.number(top.error[i]); o.raw("}")
                            }
                            o.raw("]")
                            if rows.batched { o.byte(UInt8(ascii: "}")) }
                        }
                    }
                }
            }
        }
        if rows.batched { o.raw("],") } else { o.raw(",") }
        o.raw(#""model":"#); m.nameJSON.write(0, to: o); o.raw("}")
        if flagged > 0 { metrics.anomalies.increment(by: flagged) }
    }
}

/// The five features with the largest squared error in the scaled space, largest first
/// (ties: the lower feature index first).
struct TopErrors {
    static let size = 5
    var index = InlineArray<5, Int>(repeating: 0)
    var error = InlineArray<5, Float>(repeating: 0)
    var count = 0

    init(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>) {
        for j in 0..<x.count {
            let d = y[j] - x[j]
            let e = d * d
            guard count < Self.size || e > error[count - 1] else { continue }
            var i = min(count, Self.size - 1)
            if count < Self.size { count += 1 }
            while i > 0 && error[i - 1] < e {
                index[i] = index[i - 1]; error[i] = error[i - 1]; i -= 1
            }
            index[i] = j; error[i] = e
        }
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
