import AutoencoderCore
import Foundation

/// An endpoint and, on the named routes, the model it names.
struct Route {
    /// The endpoints: the methods each takes, whether it needs a bearer token, and its label in
    /// the metrics (a named route's template, so that names cannot blow up cardinality).
    enum Endpoint: Int, CaseIterable {
        case livez, healthz, readyz, metrics, model, encode, reconstruct
        /// `GET /v1/models`, `GET /v1/models/{name}`, `POST /v1/models/{name}/encode|reconstruct`.
        case models, namedModel, namedEncode, namedReconstruct
        /// Open Inference Protocol v2: `GET /v2`, `/v2/health/live|ready`,
        /// `GET /v2/models/{name}[/versions/{v}][/ready]`, `POST …/infer`; the repository
        /// extension's `POST /v2/repository/index` and `/v2/repository/models/{name}/load|unload`.
        case v2Server, v2Live, v2Ready, v2Model, v2ModelReady, v2Infer, v2Index, v2Load, v2Unload

        var label: String {
            switch self {
            case .livez: "/livez"
            case .healthz: "/healthz"
            case .readyz: "/readyz"
            case .metrics: "/metrics"
            case .model: "/model"
            case .encode: "/encode"
            case .reconstruct: "/reconstruct"
            case .models: "/v1/models"
            case .namedModel: "/v1/models/{name}"
            case .namedEncode: "/v1/models/{name}/encode"
            case .namedReconstruct: "/v1/models/{name}/reconstruct"
            case .v2Server: "/v2"
            case .v2Live: "/v2/health/live"
            case .v2Ready: "/v2/health/ready"
            case .v2Model: "/v2/models/{name}"
            case .v2ModelReady: "/v2/models/{name}/ready"
            case .v2Infer: "/v2/models/{name}/infer"
            case .v2Index: "/v2/repository/index"
            case .v2Load: "/v2/repository/models/{name}/load"
            case .v2Unload: "/v2/repository/models/{name}/unload"
            }
        }

        var isPOST: Bool {
            switch self {
            case .encode, .reconstruct, .namedEncode, .namedReconstruct, .v2Infer, .v2Index, .v2Load, .v2Unload: true
            default: false
            }
        }

        /// The `Allow` header's value.
        var methods: StaticString { isPOST ? "POST" : "GET, HEAD" }

        func accepts(_ method: String) -> Bool { isPOST ? method == "POST" : method == "GET" || method == "HEAD" }

        /// Whether it needs a token when auth is on (`/metrics` only with `auth_metrics`; probes never).
        func needsToken(_ configuration: ServerConfiguration) -> Bool {
            switch self {
            case .livez, .healthz, .readyz, .v2Live, .v2Ready, .v2ModelReady: false
            case .metrics: configuration.authMetrics
            default: true
            }
        }
    }

    let endpoint: Endpoint
    /// The `{name}` of a named route (not yet checked against the repository).
    let name: Substring?
    /// The `{v}` of `/v2/models/{name}/versions/{v}/…`.
    let version: Substring?

    init(_ endpoint: Endpoint, name: Substring? = nil, version: Substring? = nil) {
        self.endpoint = endpoint
        self.name = name
        self.version = version
    }

    init?(path: String) {
        switch path {
        case "/livez": self.init(.livez)
        case "/healthz": self.init(.healthz)
        case "/readyz": self.init(.readyz)
        case "/metrics": self.init(.metrics)
        case "/model": self.init(.model)
        case "/encode": self.init(.encode)
        case "/reconstruct": self.init(.reconstruct)
        case "/v1/models": self.init(.models)
        case "/v2": self.init(.v2Server)
        case "/v2/health/live": self.init(.v2Live)
        case "/v2/health/ready": self.init(.v2Ready)
        case "/v2/repository/index": self.init(.v2Index)
        default:
            if path.hasPrefix("/v2/") {
                guard let r = Route(v2: path) else { return nil }
                self = r
                return
            }
            let prefix = "/v1/models/"
            guard path.hasPrefix(prefix) else { return nil }
            let rest = path.dropFirst(prefix.count)
            let parts = rest.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            guard let name = parts.first, !name.isEmpty else { return nil }
            switch parts.count {
            case 1: self.init(.namedModel, name: name)
            case 2 where parts[1] == "encode": self.init(.namedEncode, name: name)
            case 2 where parts[1] == "reconstruct": self.init(.namedReconstruct, name: name)
            default: return nil
            }
        }
    }

    /// `/v2/models/{name}[/versions/{v}][/ready|/infer]`, `/v2/repository/models/{name}/load|unload`.
    /// Read segment by segment, without building an array per request.
    private init?(v2 path: String) {
        let models = "/v2/models/", repository = "/v2/repository/models/"
        if path.hasSuffix("/") { return nil }
        if path.hasPrefix(repository) {
            var rest = path.dropFirst(repository.count)[...]
            guard let name = Self.segment(&rest), !name.isEmpty, let action = Self.segment(&rest), rest.isEmpty else { return nil }
            switch action {
            case "load": self.init(.v2Load, name: name)
            case "unload": self.init(.v2Unload, name: name)
            default: return nil
            }
            return
        }
        guard path.hasPrefix(models) else { return nil }
        var rest = path.dropFirst(models.count)[...]
        guard let name = Self.segment(&rest), !name.isEmpty else { return nil }
        var version: Substring?
        var next = Self.segment(&rest)
        if next == "versions" {
            guard let v = Self.segment(&rest), !v.isEmpty else { return nil }
            version = v
            next = Self.segment(&rest)
        }
        guard rest.isEmpty else { return nil }
        switch next {
        case nil: self.init(.v2Model, name: name, version: version)
        case "ready": self.init(.v2ModelReady, name: name, version: version)
        case "infer": self.init(.v2Infer, name: name, version: version)
        default: return nil
        }
    }

    /// The path segment `rest` starts with (nil when none is left); `rest` moves past it and its `/`.
    private static func segment(_ rest: inout Substring) -> Substring? {
        if rest.isEmpty { return nil }
        guard let slash = rest.firstIndex(of: "/") else {
            defer { rest = rest[rest.endIndex...] }
            return rest
        }
        defer { rest = rest[rest.index(after: slash)...] }
        return rest[..<slash]
    }
}

extension AutoencoderServer {
    /// Routes one request and writes its body into `out`, with `worker`'s buffers and models.
    /// Sets `worker.recorder` to the metrics the request counts in.
    /// `inferenceHeader`: the `Inference-Header-Content-Length` header (OIP v2's binary form).
    func route(_ route: Route?, method: String, path: String, contentType: UnsafePointer<CChar>?, authorization: UnsafeRawBufferPointer?,
               inferenceHeader: UnsafePointer<CChar>? = nil,
               body: UnsafeBufferPointer<UInt8>, into out: JSONOutput, worker: WorkerCache) -> HTTPResponse {
        out.reset()
        worker.recorder = worker.metrics
        do throws(HTTPError) {
            guard let route else { throw HTTPError.notFound(path) }
            let endpoint = route.endpoint
            guard endpoint.accepts(method) else { throw HTTPError.methodNotAllowed(endpoint.methods) }
            if endpoint.needsToken(configuration), !auth.permits(authorization) { throw HTTPError.unauthorized }
            return try answer(route, contentType: contentType, inferenceHeader: inferenceHeader, body: body, into: out, worker: worker)
        } catch {
            return error.render(into: out)
        }
    }

    private func answer(_ route: Route, contentType: UnsafePointer<CChar>?, inferenceHeader: UnsafePointer<CChar>?, body: UnsafeBufferPointer<UInt8>,
                        into out: JSONOutput, worker: WorkerCache) throws(HTTPError) -> HTTPResponse {
        switch route.endpoint {
        case .livez, .healthz:
            out.raw(#"{"status":"ok"}"#)
            return .ok
        case .readyz:
            if isDraining { throw .notReady("draining") }
            if let why = repository.unreadiness() { throw .notReady(why) }
            worker.refresh(from: repository)
            out.raw(#"{"status":"ready","models":"#); out.integer(worker.models.count)
            if case .success(let m) = repository.defaultModel(in: worker.models) { out.raw(#","model":"#); m.tagJSON.write(0, to: out) }
            out.raw("}")
            return .ok
        case .metrics:
            out.raw(metrics.exposition(connections: connectionStats()))
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8")
        case .model, .namedModel:
            worker.refresh(from: repository)
            out.raw(try model(route.name, worker).metadataJSON)
            return .ok
        case .models:
            listModels(into: out)
            return .ok
        case .v2Server, .v2Live, .v2Ready, .v2Model, .v2ModelReady, .v2Infer, .v2Index, .v2Load, .v2Unload:
            return try answerV2(route, contentType: contentType, inferenceHeader: inferenceHeader, body: body, into: out, worker: worker)
        case .encode, .reconstruct, .namedEncode, .namedReconstruct:
            if let contentType, !Self.isJSON(contentType) { throw .unsupportedMediaType(contentType) }
            let slot = try worker.slot(route.name, in: repository)
            worker.recorder = slot.metrics
            defer { worker.releaseLargeBuffers(slot) }
            do throws(RequestError) {
                let rows = try slot.model.parser.parse(body, into: &worker.scratch!.values)
                if route.endpoint == .encode || route.endpoint == .namedEncode {
                    try encode(rows, slot.model, &worker.scratch!, into: out)
                } else {
                    let flagged = try reconstruct(rows, slot.model, &worker.scratch!, into: out)
                    if flagged > 0 { slot.metrics.anomalies.increment(by: flagged) }
                }
                return .ok
            } catch {
                return HTTPError.badRequest(error.message).render(into: out)
            }
        }
    }

    /// The model `name` (nil: the default) from the worker's copy of the repository; a named
    /// model whose file has not loaded is 503 with the reason.
    func model(_ name: Substring?, _ worker: WorkerCache) throws(HTTPError) -> LoadedModel {
        guard let name else { return try repository.defaultModel(in: worker.models).get() }
        if let m = worker.models[String(name)] { return m }
        if let failed = repository.entries().first(where: { $0.name == name }), let why = failed.failure {
            throw .notReady("model '\(name)' has not loaded: \(why)")
        }
        throw .noSuchModel(String(name))
    }

    /// `GET /v1/models`: every model file, loaded or not, and the default.
    private func listModels(into out: JSONOutput) {
        out.raw(#"{"models":["#)
        for (i, e) in repository.entries().enumerated() {
            if i > 0 { out.byte(UInt8(ascii: ",")) }
            out.raw(#"{"name":"#); out.string(e.name)
            out.raw(#","ready":"#); out.bool(e.model != nil)
            if let m = e.model {
                out.raw(#","version":"#); out.string(String(m.version))
                out.raw(#","sha256":"#); out.string(m.sha256)
                out.raw(#","window_size":"#); out.integer(m.model.window?.size ?? 1)
                out.raw(#","loaded_at":"#); out.string(ISO8601DateFormatter().string(from: m.loadedAt))
            }
            if let why = e.failure { out.raw(#","error":"#); out.string(why) }
            out.byte(UInt8(ascii: "}"))
        }
        out.raw(#"],"default_model":"#)
        if let d = repository.defaultName { out.string(d) } else { out.raw("null") }
        out.raw("}")
    }

    /// `application/json`, any case, optionally followed by parameters (`; charset=utf-8`).
    /// Compared on the header's bytes: this runs on every POST.
    static func isJSON(_ contentType: UnsafePointer<CChar>) -> Bool { isMediaType(contentType, "application/json") }

    /// Whether the header names `type` (any case), optionally followed by parameters.
    static func isMediaType(_ contentType: UnsafePointer<CChar>, _ type: StaticString) -> Bool {
        let p = UnsafeRawPointer(contentType).assumingMemoryBound(to: UInt8.self)
        var i = 0
        while p[i] == 0x20 || p[i] == 0x09 { i += 1 }
        for ch in UnsafeBufferPointer(start: type.utf8Start, count: type.utf8CodeUnitCount) {
            guard p[i] | 0x20 == ch | 0x20, p[i] != 0 else { return false }
            i += 1
        }
        while p[i] == 0x20 || p[i] == 0x09 { i += 1 }
        return p[i] == 0 || p[i] == UInt8(ascii: ";")
    }
}
