import Foundation
import Testing
@testable import InferenceServer

@Suite struct AuthTests {
    @Test func bearerTokensGuardTheModelRoutesOnly() throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        let tokenFile = dir.appendingPathComponent("tokens").path
        try "second-token\n\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let config = ServerHarness.configuration(modelPath: ServerHarness.writeModel(ServerHarness.model(), to: dir)) {
            $0.authTokens = ["first-token"]
            $0.authTokenFile = tokenFile
        }
        let server = try ServerHarness.start(config)
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        let body = #"{"features": \#(ServerHarness.json(ServerHarness.rows(1)[0]))}"#
        for path in ["/encode", "/reconstruct"] {
            let none = try c.request("POST", path, json: body)
            #expect(none.status == 401 && none.object["error"] != nil)
            #expect(none.headers["www-authenticate"] == "Bearer")
            #expect(try c.request("POST", path, json: body, headers: ["Authorization": "Bearer wrong"]).status == 401)
            #expect(try c.request("POST", path, json: body, headers: ["Authorization": "Bearer first-toke"]).status == 401)
            #expect(try c.request("POST", path, json: body, headers: ["Authorization": "Basic first-token"]).status == 401)
            #expect(try c.request("POST", path, json: body, headers: ["Authorization": "Bearer first-token"]).status == 200)
            #expect(try c.request("POST", path, json: body, headers: ["Authorization": "bearer second-token"]).status == 200)
        }
        #expect(try c.request("GET", "/model").status == 401)
        #expect(try c.request("GET", "/model", headers: ["Authorization": "Bearer second-token"]).status == 200)
        // Probes and metrics stay open.
        for path in ["/livez", "/readyz", "/healthz", "/metrics"] { #expect(try c.request("GET", path).status == 200) }
    }

    @Test func metricsCanRequireAuth() throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        let server = try ServerHarness.start(in: dir) {
            $0.authTokens = ["t"]
            $0.authMetrics = true
        }
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        #expect(try c.request("GET", "/metrics").status == 401)
        #expect(try c.request("GET", "/metrics", headers: ["Authorization": "Bearer t"]).status == 200)
        #expect(try c.request("GET", "/readyz").status == 200)
    }

    @Test func constantTimeComparison() {
        #expect(BearerAuth.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!BearerAuth.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!BearerAuth.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!BearerAuth.constantTimeEqual([], Array("a".utf8)))
        // Lengths 256 apart: a difference folded into one byte would call these equal.
        #expect(!BearerAuth.constantTimeEqual(Array("abc".utf8), Array("abc".utf8) + [UInt8](repeating: 0, count: 256)))
        #expect(!BearerAuth.constantTimeEqual([], [UInt8](repeating: 0, count: 256)))
    }

    /// A token with a NUL byte in the middle of the presented value: libmicrohttpd 0.9.75 ends a
    /// header value at a NUL before the server sees it, so only the bytes before it count, and
    /// they must be a whole token (README, "Errors").
    @Test func aNulInTheHeaderGrantsNothingBeyondTheToken() throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        let server = try ServerHarness.start(in: dir) { $0.authTokens = ["secret1"] }
        defer { server.shutdown() }
        for (value, status) in [("Bearer secre\u{0}t1", 401), ("Bearer \u{0}secret1", 401), ("Bearer secret1\u{0}junk", 200)] {
            let c = try TestHTTPClient(port: server.port)
            try c.send("GET /model HTTP/1.1\r\nHost: x\r\nAuthorization: \(value)\r\n\r\n")
            #expect(try c.readResponse().status == status, "\(value.debugDescription)")
        }
        // In the server's own path (no libmicrohttpd in between), a NUL is refused outright.
        let r = server.respond(method: "GET", path: "/model", authorization: "Bearer secret1\u{0}junk", body: [])
        #expect(r.status == 401)
    }
}
