/// What a route answers besides its body (the body goes into the request's `JSONOutput`); the
/// shim copies both into libmicrohttpd's response. Answers other than 200 are `HTTPError`s.
struct HTTPResponse {
    var status: Int
    var contentType: StaticString = "application/json"
    /// One extra header (`Allow` for 405, `WWW-Authenticate` for 401).
    var extraHeader: (name: StaticString, value: StaticString)? = nil

    static let ok = HTTPResponse(status: 200)
}
