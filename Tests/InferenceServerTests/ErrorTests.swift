import AutoencoderCore
import Foundation
import Testing
@testable import InferenceServer

@Suite struct ErrorTests {
    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }

    func withServer(_ edit: (inout ServerConfiguration) -> Void = { _ in }, _ body: (AutoencoderServer) throws -> Void) throws {
        let server = try ServerHarness.start(in: dir, edit)
        defer { server.shutdown() }
        try body(server)
    }

    /// Every refusal is a JSON object with an "error" string.
    func expectError(_ r: TestHTTPClient.Response, _ status: Int, _ fragment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "\(r.text)", sourceLocation: sourceLocation)
        let message = r.object["error"] as? String
        #expect(message != nil, "body: \(r.text)", sourceLocation: sourceLocation)
        if !fragment.isEmpty { #expect(message?.contains(fragment) == true, "\(message ?? "")", sourceLocation: sourceLocation) }
    }

    @Test func badBodiesAre400() throws {
        try withServer { server in
            let c = try TestHTTPClient(port: server.port)
            let good = ServerHarness.json(ServerHarness.rows(1)[0])
            let cases: [(String, String)] = [
                ("", "empty body"),
                ("{", "malformed JSON"),
                ("[1,2]", "malformed JSON"),
                (#"{"features": [1,2,3]}"#, "expected 7 features, got 3"),
                (#"{"features": [1,2,3,4,5,6,7,8]}"#, "expected 7 features, got more"),
                (#"{"features": [1,2,3,4,5,6,"7"]}"#, "is not a number"),
                (#"{"features": [1,2,3,4,5,6,null]}"#, "is not a number"),
                (#"{"features": [1,2,3,4,5,6,NaN]}"#, "NaN"),
                (#"{"features": [1,2,3,4,5,6,1e39]}"#, "overflows Float"),
                (#"{"features": [1,2,3,4,5,6,1e400]}"#, "overflows Float"),
                (#"{"features": [1,2,3,4,5,6,7,]}"#, ""),
                (#"{"features": [01,2,3,4,5,6,7]}"#, "malformed JSON"),
                (#"{"features": [1,2,3,4,5,6,.5]}"#, ""),
                (#"{"features": {"alpha": 1}}"#, "missing 6 feature"),
                (#"{"features": {"alpha": 1, "omega": 2}}"#, "unknown feature 'omega'"),
                (#"{"features": {"alpha": 1, "alpha": 2}}"#, "appears twice"),
                (#"{"instances": []}"#, "empty"),
                (#"{"features": \#(good), "features": \#(good)}"#, "exactly one"),
                (#"{"feature": \#(good)}"#, "unknown key 'feature'"),
                (#"{"features": \#(good)} x"#, "trailing data"),
                (#"{"features": "abc"}"#, "expected an array"),
                ("{\"features\": [1,2,3,4,5,6,7]}\u{0}", "trailing"),
            ]
            for (body, fragment) in cases {
                expectError(try c.request("POST", "/encode", json: body), 400, fragment)
            }
            expectError(try c.request("POST", "/reconstruct", json: #"{"features": [1]}"#), 400)
        }
    }

    @Test func batchLimit() throws {
        try withServer({ $0.maxBatch = 3 }) { server in
            let c = try TestHTTPClient(port: server.port)
            let rows = ServerHarness.rows(4).map(ServerHarness.json)
            #expect(try c.request("POST", "/encode", json: #"{"instances": [\#(rows[0...2].joined(separator: ","))]}"#).status == 200)
            expectError(try c.request("POST", "/encode", json: #"{"instances": [\#(rows.joined(separator: ","))]}"#), 400, "max_batch")
        }
    }

    @Test func statusCodesForPathMethodAndType() throws {
        try withServer { server in
            let c = try TestHTTPClient(port: server.port)
            expectError(try c.request("GET", "/nope"), 404)
            let wrong = try c.request("GET", "/encode")
            expectError(wrong, 405)
            #expect(wrong.headers["allow"] == "POST")
            let wrong2 = try c.request("POST", "/livez", json: "{}")
            expectError(wrong2, 405)
            #expect(wrong2.headers["allow"] == "GET, HEAD")
            expectError(try c.request("POST", "/encode", body: Array("{}".utf8), headers: ["Content-Type": "text/plain"]), 415)
            // A missing content type is accepted.
            let body = Array(#"{"features": \#(ServerHarness.json(ServerHarness.rows(1)[0]))}"#.utf8)
            #expect(try c.request("POST", "/encode", body: body, json: false).status == 200)
            #expect(try c.request("POST", "/encode", body: body, headers: ["Content-Type": "application/json; charset=utf-8"]).status == 200)
        }
    }

    @Test func oversizedBodiesAre413WithoutBuffering() throws {
        try withServer({ $0.maxBodyBytes = 1000 }) { server in
            // Announced by Content-Length: refused before the body is sent.
            let c = try TestHTTPClient(port: server.port)
            try c.sendHead("POST", "/encode", headers: ["Content-Type": "application/json"], contentLength: 50_000_000)
            let r = try c.readResponse()
            expectError(r, 413, "exceeds max_body_bytes (1000 bytes)")
            // Chunked, with no length: refused once the running total passes the limit.
            let d = try TestHTTPClient(port: server.port)
            try d.sendHead("POST", "/encode", headers: ["Content-Type": "application/json", "Transfer-Encoding": "chunked"], contentLength: nil)
            let chunk = String(repeating: " ", count: 600)
            for _ in 0..<3 { try d.send(String(600, radix: 16) + "\r\n" + chunk + "\r\n") }
            try d.send("0\r\n\r\n")
            expectError(try d.readResponse(), 413, "(1000 bytes)")
            // Under the limit, a chunked body works.
            let e = try TestHTTPClient(port: server.port)
            let body = #"{"features": \#(ServerHarness.json(ServerHarness.rows(1)[0]))}"#
            try e.sendHead("POST", "/encode", headers: ["Content-Type": "application/json", "Transfer-Encoding": "chunked"], contentLength: nil)
            try e.send(String(body.utf8.count, radix: 16) + "\r\n" + body + "\r\n0\r\n\r\n")
            #expect(try e.readResponse().status == 200)
        }
    }
}

@Suite struct ExtremeValueTests {
    /// Valid Floats that overflow once scaled (found by schemathesis) are refused, not answered with nulls.
    @Test func valuesThatOverflowTheModelAre400() throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        var model = ServerHarness.model()
        model.scaler = MinMaxScaler(scale: Array(repeating: 10, count: 7), min: Array(repeating: 0, count: 7))   // trained on values in [0, 0.1]
        let server = try ServerHarness.start(serving: model, in: dir)
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        let extreme = #"{"features": [3.4e38, -3.4e38, 3.4e38, 1e38, -1e38, 3e38, 2e38]}"#
        for path in ["/encode", "/reconstruct"] {
            let r = try c.request("POST", path, json: extreme)
            #expect(r.status == 400)
            #expect((r.object["error"] as? String)?.contains("too extreme") == true)
        }
    }
}
