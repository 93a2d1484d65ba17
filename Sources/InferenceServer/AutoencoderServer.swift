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
    private let tokens: [[UInt8]]
    private let draining = Atomic<Bool>(false)
    private let shim = Mutex<ShimHandle?>(nil)
    private let boundPort = Atomic<Int>(0)

    struct ShimHandle: @unchecked Sendable {   // the C server; touched only under `shim`'s lock
        let pointer: OpaquePointer
        let context: Unmanaged<AutoencoderServer>
    }

    /// Loads and validates the model; a model that cannot be loaded stops start-up.
    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "ae-server")) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        tokens = try configuration.resolvedTokens().map { Array($0.utf8) }
        metrics = ServerMetrics()
        let model = try LoadedModel(path: configuration.modelPath)
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
                                    connection_limit: UInt32(configuration.connectionLimit))
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

    /// Readiness off, stop accepting, wait for in-flight requests (bounded), stop. Idempotent.
    public func shutdown(drainTimeout: Double? = nil) {
        draining.store(true, ordering: .releasing)
        let timeout = drainTimeout ?? configuration.drainTimeoutSeconds
        guard let handle = shim.withLock({ $0 }) else { return }
        shim_quiesce(handle.pointer)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        var inFlight = shim_in_flight(handle.pointer)
        while inFlight > 0 && DispatchTime.now().uptimeNanoseconds < deadline {
            usleep(2_000)
            inFlight = shim_in_flight(handle.pointer)
        }
        if inFlight > 0 { logger.warning("drain timeout: closing with requests in flight", metadata: ["in_flight": "\(inFlight)"]) }
        shim.withLock { h in
            guard let current = h else { return }
            shim_stop(current.pointer)
            current.context.release()
            h = nil
        }
        logger.info("stopped")
    }

    /// Loads the model file again and swaps it in only if it is valid in full.
    @discardableResult
    public func reload() -> Bool {
        do {
            let m = try LoadedModel(path: configuration.modelPath)
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

    func handle(_ r: UnsafePointer<shim_request>) {
        let start = DispatchTime.now().uptimeNanoseconds
        let req = r.pointee
        let path = String(cString: req.url)
        let method = String(cString: req.method)
        let body = UnsafeBufferPointer(start: req.body, count: req.body != nil ? req.body_length : 0)
        let response = route(method: method, path: path, contentType: req.content_type, authorization: req.authorization, body: body)
        response.body.withUnsafeBufferPointer { b in
            response.contentType.withUTF8Buffer { ct in
                ct.withMemoryRebound(to: CChar.self) { ctype in
                    if let extra = response.extraHeader {
                        extra.name.withUTF8Buffer { n in
                            n.withMemoryRebound(to: CChar.self) { name in
                                _ = extra.value.withCString { shim_respond(r, UInt32(response.status), ctype.baseAddress, b.baseAddress, b.count, name.baseAddress, $0) }
                            }
                        }
                    } else {
                        _ = shim_respond(r, UInt32(response.status), ctype.baseAddress, b.baseAddress, b.count, nil, nil)
                    }
                }
            }
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        metrics.request(route: ServerMetrics.routeLabel(path), status: response.status, nanoseconds: elapsed)
        if logger.logLevel <= .debug {
            logger.debug("request", metadata: ["method": "\(method)", "path": "\(path)", "status": "\(response.status)", "micros": "\(elapsed / 1000)"])
        }
    }

    func route(method: String, path: String, contentType: UnsafePointer<CChar>?, authorization: UnsafePointer<CChar>?,
               body: UnsafeBufferPointer<UInt8>) -> HTTPResponse {
        let isGet = method == "GET" || method == "HEAD"
        switch path {
        case "/livez", "/healthz":
            return isGet ? .json(200, Array(#"{"status":"ok"}"#.utf8)) : .methodNotAllowed("GET, HEAD")
        case "/readyz":
            guard isGet else { return .methodNotAllowed("GET, HEAD") }
            if draining.load(ordering: .acquiring) { return .error(503, "not ready: draining") }
            guard let m = store.model else { return .error(503, "not ready: no model loaded") }
            var o = JSONOutput()
            o.raw(#"{"status":"ready","model":"#); o.string(m.name); o.raw("}")
            return .json(200, o.bytes)
        case "/metrics":
            guard isGet else { return .methodNotAllowed("GET, HEAD") }
            if configuration.authMetrics, let denied = authorize(authorization) { return denied }
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.exposition())
        case "/model":
            guard isGet else { return .methodNotAllowed("GET, HEAD") }
            if let denied = authorize(authorization) { return denied }
            guard let m = store.model else { return .error(503, "not ready: no model loaded") }
            return .json(200, m.metadataJSON)
        case "/encode", "/reconstruct":
            guard method == "POST" else { return .methodNotAllowed("POST") }
            if let denied = authorize(authorization) { return denied }
            if let contentType, !Self.isJSON(contentType) {
                return .error(415, "Content-Type must be application/json, got '\(String(cString: contentType).prefix(80))'")
            }
            guard let m = store.model else { return .error(503, "not ready: no model loaded") }
            do {
                let parser = RequestParser(featureCount: m.model.network.inputSize, featureIndex: m.featureIndex,
                                           featureNames: m.model.featureNames, maxBatch: configuration.maxBatch)
                let rows = try parser.parse(body)
                return .json(200, try path == "/encode" ? encode(rows, m) : reconstruct(rows, m))
            } catch {
                return .error(400, error.message)
            }
        default:
            return .error(404, "no such endpoint: \(path.prefix(100)); see /model, /encode, /reconstruct, /livez, /readyz, /metrics")
        }
    }

    /// nil when allowed; a 401 otherwise. Tokens are compared in constant time.
    private func authorize(_ header: UnsafePointer<CChar>?) -> HTTPResponse? {
        if tokens.isEmpty { return nil }
        var denied = HTTPResponse.error(401, "missing or invalid bearer token")
        denied.extraHeader = ("WWW-Authenticate", "Bearer")
        guard let header else { return denied }
        let value = Array(UnsafeBufferPointer(start: UnsafeRawPointer(header).assumingMemoryBound(to: UInt8.self), count: strlen(header)))
        let prefix = Array("Bearer ".utf8)
        guard value.count > prefix.count, value[0..<prefix.count].map({ $0 | 0x20 }) == prefix.map({ $0 | 0x20 }) else { return denied }
        let presented = Array(value[prefix.count...])
        var ok = false
        for t in tokens { ok = Self.constantTimeEqual(presented, t) || ok }   // every token is compared
        return ok ? nil : denied
    }

    /// Equal-length comparison that does not stop at the first difference.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let n = max(a.count, b.count)
        for i in 0..<n { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0
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

    private func scaled(_ rows: ParsedRows, _ m: LoadedModel) -> [Float] {
        m.model.scaler.transform(rows.values)
    }

    /// Values that are valid Floats can still overflow once scaled, or through the network's
    /// sums; such a row has no meaningful score, so it is refused rather than answered with nulls.
    private static func requireFinite(_ values: [Float], rowLength: Int, what: String) throws(RequestError) {
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw RequestError("row \(bad / rowLength): feature values are too extreme for the model (the \(what) is not finite); real traffic statistics are far smaller")
        }
    }

    private func encode(_ rows: ParsedRows, _ m: LoadedModel) throws(RequestError) -> [UInt8] {
        let net = m.model.network
        let k = net.latentSize
        let x = scaled(rows, m)
        var latent = [Float](repeating: 0, count: rows.rows * k)
        m.withWorkspace(rows: rows.rows) { ws in
            x.withUnsafeBufferPointer { xp in latent.withUnsafeMutableBufferPointer { net.encode(xp, into: $0, workspace: &ws) } }
        }
        try Self.requireFinite(x, rowLength: net.inputSize, what: "scaled input")
        try Self.requireFinite(latent, rowLength: k, what: "latent vector")
        var o = JSONOutput(capacity: 64 + rows.rows * k * 12)
        latent.withUnsafeBufferPointer { l in
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
        o.raw(#","model":"#); o.string(m.name); o.raw("}")
        return o.bytes
    }

    private func reconstruct(_ rows: ParsedRows, _ m: LoadedModel) throws(RequestError) -> [UInt8] {
        let model = m.model
        let net = model.network
        let n = net.inputSize
        let x = scaled(rows, m)
        var recon = [Float](repeating: 0, count: rows.rows * n)
        var errors = [Float](repeating: 0, count: rows.rows)
        m.withWorkspace(rows: rows.rows) { ws in
            x.withUnsafeBufferPointer { xp in
                recon.withUnsafeMutableBufferPointer { rp in
                    errors.withUnsafeMutableBufferPointer { net.reconstruct(xp, reconstruction: rp, errors: $0, workspace: &ws) }
                }
            }
        }
        try Self.requireFinite(x, rowLength: n, what: "scaled input")
        try Self.requireFinite(errors, rowLength: 1, what: "reconstruction error")
        var o = JSONOutput(capacity: 128 + rows.rows * (n * 14 + 300))
        var flagged = 0
        o.raw(rows.batched ? #"{"results":["# : "{")
        var unscaled = [Float](repeating: 0, count: n)
        for r in 0..<rows.rows {
            if rows.batched { if r > 0 { o.byte(UInt8(ascii: ",")) }; o.byte(UInt8(ascii: "{")) }
            // The reconstruction in the client's units: the scaler's inverse.
            for j in 0..<n { unscaled[j] = Float(model.scaler.inverse(recon[r * n + j], column: j)) }
            o.raw(#""reconstruction":"#)
            unscaled.withUnsafeBufferPointer { o.floats($0) }
            let anomaly = errors[r] > model.threshold
            if anomaly { flagged += 1 }
            o.raw(#","mse":"#); o.number(errors[r])
            o.raw(#","threshold":"#); o.number(model.threshold)
            o.raw(#","anomaly":"#); o.bool(anomaly)
            // The five features with the largest squared error (scaled space).
            var top: [(Int, Float)] = []
            for j in 0..<n {
                let d = recon[r * n + j] - x[r * n + j]
                let e = d * d
                if top.count < 5 || e > top[top.count - 1].1 {
                    var i = min(top.count, 4)
                    if top.count < 5 { top.append((j, e)) } else { top[4] = (j, e) }
                    while i > 0 && top[i].1 > top[i - 1].1 { top.swapAt(i, i - 1); i -= 1 }
                }
            }
            o.raw(#","top_features":["#)
            for (i, t) in top.enumerated() {
                if i > 0 { o.byte(UInt8(ascii: ",")) }
                o.raw(#"{"name":"#); o.string(model.featureNames[t.0]); o.raw(#","error":"#); o.number(t.1); o.raw("}")
            }
            o.raw("]")
            if rows.batched { o.byte(UInt8(ascii: "}")) }
        }
        if rows.batched { o.raw("],") } else { o.raw(",") }
        o.raw(#""model":"#); o.string(m.name); o.raw("}")
        if flagged > 0 { metrics.anomalies.increment(by: flagged) }
        return o.bytes
    }
}

public struct ServerStartError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
