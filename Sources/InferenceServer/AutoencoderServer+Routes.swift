import AutoencoderCore

/// The endpoints: a path each (two for liveness), the methods it takes, and whether it needs a
/// bearer token.
enum Route {
    case livez, readyz, metrics, model, encode, reconstruct

    init?(path: String) {
        switch path {
        case "/livez", "/healthz": self = .livez
        case "/readyz": self = .readyz
        case "/metrics": self = .metrics
        case "/model": self = .model
        case "/encode": self = .encode
        case "/reconstruct": self = .reconstruct
        default: return nil
        }
    }

    /// The `Allow` header's value.
    var methods: StaticString {
        switch self {
        case .encode, .reconstruct: "POST"
        default: "GET, HEAD"
        }
    }

    func accepts(_ method: String) -> Bool {
        switch self {
        case .encode, .reconstruct: method == "POST"
        default: method == "GET" || method == "HEAD"
        }
    }

    /// Whether it needs a token when auth is on (`/metrics` only with `auth_metrics`; probes never).
    func needsToken(_ configuration: ServerConfiguration) -> Bool {
        switch self {
        case .livez, .readyz: false
        case .metrics: configuration.authMetrics
        case .model, .encode, .reconstruct: true
        }
    }
}

extension AutoencoderServer {
    /// Routes one request and writes its body into `out`, with `worker`'s buffers and model.
    func route(method: String, path: String, contentType: UnsafePointer<CChar>?, authorization: UnsafeRawBufferPointer?,
               body: UnsafeBufferPointer<UInt8>, into out: JSONOutput, worker: WorkerCache) -> HTTPResponse {
        out.reset()
        do throws(HTTPError) {
            guard let route = Route(path: path) else { throw HTTPError.notFound(path) }
            guard route.accepts(method) else { throw HTTPError.methodNotAllowed(route.methods) }
            if route.needsToken(configuration), !auth.permits(authorization) { throw HTTPError.unauthorized }
            return try answer(route, contentType: contentType, body: body, into: out, worker: worker)
        } catch {
            return error.render(into: out)
        }
    }

    private func answer(_ route: Route, contentType: UnsafePointer<CChar>?, body: UnsafeBufferPointer<UInt8>,
                        into out: JSONOutput, worker: WorkerCache) throws(HTTPError) -> HTTPResponse {
        switch route {
        case .livez:
            out.raw(#"{"status":"ok"}"#)
            return .ok
        case .readyz:
            if isDraining { throw .notReady("draining") }
            guard let m = store.model else { throw .notReady("no model loaded") }
            out.raw(#"{"status":"ready","model":"#); m.nameJSON.write(0, to: out); out.raw("}")
            return .ok
        case .metrics:
            out.raw(metrics.exposition(connections: connectionStats()))
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8")
        case .model:
            guard let m = store.model else { throw .notReady("no model loaded") }
            out.raw(m.metadataJSON)
            return .ok
        case .encode, .reconstruct:
            if let contentType, !Self.isJSON(contentType) { throw .unsupportedMediaType(contentType) }
            return worker.withModel(from: store) { m, scratch in
                guard let m, scratch != nil else { return HTTPError.notReady("no model loaded").render(into: out) }
                defer { if !scratch!.isSmall { scratch = RequestScratch(m.frozen) } }   // a big batch's buffers are not kept
                do throws(RequestError) {
                    let rows = try m.parser.parse(body, into: &scratch!.values)
                    if route == .encode { try encode(rows, m, &scratch!, into: out) } else { try reconstruct(rows, m, &scratch!, into: out) }
                    return .ok
                } catch {
                    return HTTPError.badRequest(error.message).render(into: out)
                }
            }
        }
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
