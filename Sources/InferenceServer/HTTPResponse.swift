/// What a route answers besides its body (the body goes into the request's `JSONOutput`); the
/// shim copies both into libmicrohttpd's response. Answers other than 200 are `HTTPError`s.
struct HTTPResponse {
    var status: Int
    var contentType: StaticString = "application/json"
    /// One extra header (`Allow` for 405, `WWW-Authenticate` for 401).
    var extraHeader: (name: StaticString, value: StaticString)? = nil
    /// OIP v2's binary answers: the length of the JSON before the tensors' bytes, sent as
    /// `Inference-Header-Content-Length`.
    var inferenceHeaderLength: Int? = nil

    static let ok = HTTPResponse(status: 200)
}
