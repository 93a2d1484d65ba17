import AutoencoderCore
import Foundation
import Testing
@testable import InferenceServer

@Suite struct ConcurrencyTests {
    @Test func manyClientsEachGetTheirOwnAnswer() throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        let model = ServerHarness.model()
        let server = try ServerHarness.start(serving: model, in: dir)
        defer { server.shutdown() }
        let clients = 16, perClient = 40
        let rows = ServerHarness.rows(clients * perClient, seed: 11)
        let table = FeatureTable(featureNames: ServerHarness.features, values: rows.flatMap { $0 }, targets: nil, source: "t")
        let expected = model.encode(table)
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        for k in 0..<clients {
            group.enter()
            Thread {
            defer { group.leave() }
            do {
                let c = try TestHTTPClient(port: server.port)
                for i in 0..<perClient {
                    let r = k * perClient + i
                    let res = try c.request("POST", "/encode", json: #"{"features": \#(ServerHarness.json(rows[r]))}"#)
                    let latent = res.object["latent"] as? [Double] ?? []
                    if res.status != 200 || latent.count != 3 || (0..<3).contains(where: { abs(latent[$0] - Double(expected[r * 3 + $0])) > 1e-6 }) {
                        failures.withLock { $0.append("client \(k) row \(r): \(res.status) \(res.text.prefix(100))") }
                    }
                }
            } catch {
                failures.withLock { $0.append("client \(k): \(error)") }
            }
            }.start()
        }
        #expect(group.wait(timeout: .now() + 120) == .success)
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(3) })")
        let metrics = try TestHTTPClient(port: server.port).request("GET", "/metrics").text
        #expect(metrics.contains(#"ae_http_requests_total{model="model",route="/encode",status="200"} \#(clients * perClient)"#))
    }

    @Test func aStalledClientTimesOutWithoutBlockingOthers() throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        let server = try ServerHarness.start(in: dir) {
            $0.connectionTimeoutSeconds = 5
            $0.threads = 1   // the worst case: one worker thread
        }
        defer { server.shutdown() }
        let stalled = try TestHTTPClient(port: server.port, timeoutSeconds: 15)
        try stalled.sendHead("POST", "/encode", headers: ["Content-Type": "application/json"], contentLength: 500)
        try stalled.send("{\"features\": [1,")
        let t0 = Date()
        let other = try TestHTTPClient(port: server.port)
        let body = #"{"features": \#(ServerHarness.json(ServerHarness.rows(1)[0]))}"#
        for _ in 0..<50 { #expect(try other.request("POST", "/encode", json: body).status == 200) }
        // All of that was served while the stalled request still held its connection (checked
        // when it took well under the timeout: under ThreadSanitizer it can take longer) …
        if Date().timeIntervalSince(t0) < 4 { #expect(stalled.isOpen()) }
        // … which the connection timeout then closes.
        #expect(stalled.isClosedByServer())
    }

    /// Connections past `connection_limit` are closed at once; the ones inside it keep working,
    /// and a freed place is taken by the next connection.
    @Test func connectionsPastTheLimitAreClosed() throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        let server = try ServerHarness.start(in: dir) {
            $0.connectionLimit = 2
            $0.threads = 1
        }
        defer { server.shutdown() }
        var a: TestHTTPClient? = try TestHTTPClient(port: server.port)
        let b = try TestHTTPClient(port: server.port)
        #expect(try a!.request("GET", "/livez").status == 200)
        #expect(try b.request("GET", "/livez").status == 200)
        let c = try TestHTTPClient(port: server.port, timeoutSeconds: 5)
        #expect(c.isClosedByServer())
        #expect(try a!.request("GET", "/livez").status == 200 && b.request("GET", "/livez").status == 200)
        a = nil   // closes it
        // The server notices the close within a moment.
        let served = ServerHarness.eventually { (try? TestHTTPClient(port: server.port, timeoutSeconds: 2).request("GET", "/livez").status) == 200 }
        #expect(served)
    }
}
