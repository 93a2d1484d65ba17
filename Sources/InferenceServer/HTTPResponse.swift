/// What a route answers besides its body (the body goes into the request's `JSONOutput`); the
/// shim copies both into libmicrohttpd's response.
struct HTTPResponse {
    var status: Int
    var contentType: StaticString = "application/json"
    /// One extra header (`Allow` for 405, `WWW-Authenticate` for 401).
    var extraHeader: (name: StaticString, value: StaticString)? = nil

    static let ok = HTTPResponse(status: 200)

    /// Writes `{"error": message}` into `out`.
    static func error(_ status: Int, _ message: String, into out: JSONOutput) -> HTTPResponse {
        out.reset()
        out.error(message)
        return HTTPResponse(status: status)
    }

    static func methodNotAllowed(_ allow: StaticString, into out: JSONOutput) -> HTTPResponse {
        var r = error(405, "method not allowed; use \(allow)", into: out)
        r.extraHeader = ("Allow", allow)
        return r
    }
}
