/// What a route answers; the shim copies it into libmicrohttpd's response.
struct HTTPResponse {
    var status: Int
    var contentType: StaticString = "application/json"
    var body: [UInt8]
    /// One extra header (`Allow` for 405, `WWW-Authenticate` for 401).
    var extraHeader: (name: StaticString, value: String)? = nil

    static func json(_ status: Int, _ body: [UInt8]) -> HTTPResponse { HTTPResponse(status: status, body: body) }

    static func error(_ status: Int, _ message: String) -> HTTPResponse {
        HTTPResponse(status: status, body: JSONOutput.error(message))
    }

    static func methodNotAllowed(_ allow: String) -> HTTPResponse {
        var r = error(405, "method not allowed; use \(allow)")
        r.extraHeader = ("Allow", allow)
        return r
    }
}
