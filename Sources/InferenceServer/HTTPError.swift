/// An answer other than 200, as the server's routes throw it: its status, the message of its
/// JSON body `{"error": …}`, and the one header some statuses need. It renders itself.
struct HTTPError: Error {
    var status: Int
    var message: String
    var header: (name: StaticString, value: StaticString)? = nil

    static func badRequest(_ message: String) -> HTTPError { HTTPError(status: 400, message: message) }

    static let unauthorized = HTTPError(status: 401, message: "missing or invalid bearer token", header: ("WWW-Authenticate", "Bearer"))

    static func notFound(_ path: String) -> HTTPError {
        HTTPError(status: 404, message: "no such endpoint: \(path.prefix(100)); see /model, /encode, /reconstruct, /v1/models, /livez, /readyz, /metrics")
    }

    static func noSuchModel(_ name: String) -> HTTPError {
        HTTPError(status: 404, message: "no model named '\(name.prefix(64))'; GET /v1/models lists them")
    }

    static func methodNotAllowed(_ allow: StaticString) -> HTTPError {
        HTTPError(status: 405, message: "method not allowed; use \(allow)", header: ("Allow", allow))
    }

    static func unsupportedMediaType(_ contentType: UnsafePointer<CChar>) -> HTTPError {
        HTTPError(status: 415, message: "Content-Type must be application/json, got '\(String(cString: contentType).prefix(80))'")
    }

    static func notReady(_ why: String) -> HTTPError { HTTPError(status: 503, message: "not ready: \(why)") }

    /// Writes `{"error": message}` into `out`, replacing what a route may have begun there.
    func render(into out: JSONOutput) -> HTTPResponse {
        out.reset()
        out.error(message)
        return HTTPResponse(status: status, extraHeader: header)
    }
}
