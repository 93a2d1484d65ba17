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
            }
        }

        var isPOST: Bool {
            switch self {
            case .encode, .reconstruct, .namedEncode, .namedReconstruct: true
            default: false
            }
        }

        /// The `Allow` header's value.
        var methods: StaticString { isPOST ? "POST" : "GET, HEAD" }

        func accepts(_ method: String) -> Bool { isPOST ? method == "POST" : method == "GET" || method == "HEAD" }

        /// Whether it needs a token when auth is on (`/metrics` only with `auth_metrics`; probes never).
        func needsToken(_ configuration: ServerConfiguration) -> Bool {
            switch self {
            case .livez, .healthz, .readyz: false
            case .metrics: configuration.authMetrics
            default: true
            }
        }
    }

    let endpoint: Endpoint
    /// The `{name}` of a named route (not yet checked against the repository).
    let name: Substring?

    init(_ endpoint: Endpoint, name: Substring? = nil) {
        self.endpoint = endpoint
        self.name = name
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
        default:
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
}

extension AutoencoderServer {
    /// Routes one request and writes its body into `out`, with `worker`'s buffers and models.
    /// Sets `worker.recorder` to the metrics the request counts in.
    func route(_ route: Route?, method: String, path: String, contentType: UnsafePointer<CChar>?, authorization: UnsafeRawBufferPointer?,
               body: UnsafeBufferPointer<UInt8>, into out: JSONOutput, worker: WorkerCache) -> HTTPResponse {
        out.reset()
        worker.recorder = worker.metrics
        do throws(HTTPError) {
            guard let route else { throw HTTPError.notFound(path) }
            let endpoint = route.endpoint
            guard endpoint.accepts(method) else { throw HTTPError.methodNotAllowed(endpoint.methods) }
            if endpoint.needsToken(configuration), !auth.permits(authorization) { throw HTTPError.unauthorized }
            return try answer(route, contentType: contentType, body: body, into: out, worker: worker)
        } catch {
            return error.render(into: out)
        }
    }

    private func answer(_ route: Route, contentType: UnsafePointer<CChar>?, body: UnsafeBufferPointer<UInt8>,
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
        case .encode, .reconstruct, .namedEncode, .namedReconstruct:
            if let contentType, !Self.isJSON(contentType) { throw .unsupportedMediaType(contentType) }
            let slot = try worker.slot(route.name, in: repository)
            worker.recorder = slot.metrics
            defer { if !slot.scratch.isSmall { slot.scratch = RequestScratch(slot.model.frozen) } }   // a big batch's buffers are not kept
            do throws(RequestError) {
                let rows = try slot.model.parser.parse(body, into: &slot.scratch.values)
                if route.endpoint == .encode || route.endpoint == .namedEncode {
                    try encode(rows, slot.model, &slot.scratch, into: out)
                } else {
                    let flagged = try reconstruct(rows, slot.model, &slot.scratch, into: out)
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
    private func model(_ name: Substring?, _ worker: WorkerCache) throws(HTTPError) -> LoadedModel {
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
}
