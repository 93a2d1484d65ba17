import AutoencoderCore
import Foundation
import Testing
@testable import InferenceServer

@Suite struct LifecycleTests {
    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }

    @Test func reloadSwapsAGoodFileAndKeepsServingOnABadOne() throws {
        let path = ServerHarness.writeModel(ServerHarness.model(seed: 1), to: dir)
        let server = try ServerHarness.start(ServerHarness.configuration(modelPath: path))
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        let before = try c.request("GET", "/model").object["sha256"] as? String
        let body = #"{"features": \#(ServerHarness.json(ServerHarness.rows(1)[0]))}"#
        let latentBefore = try c.request("POST", "/encode", json: body).object["latent"] as? [Double]

        _ = ServerHarness.writeModel(ServerHarness.model(seed: 2), to: dir)
        #expect(server.reload())
        let after = try c.request("GET", "/model").object["sha256"] as? String
        #expect(after != nil && after != before)
        #expect(try c.request("POST", "/encode", json: body).object["latent"] as? [Double] != latentBefore)

        // A corrupt file (truncated) is refused; the previous model keeps serving.
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: path))
        #expect(!server.reload())
        #expect(try c.request("GET", "/model").object["sha256"] as? String == after)
        #expect(try c.request("POST", "/encode", json: body).status == 200)
        #expect(try c.request("GET", "/readyz").status == 200)
        let metrics = try c.request("GET", "/metrics").text
        #expect(metrics.contains(#"ae_model_reload_failures_total{model="model"} 1"#))
        #expect(metrics.contains(#"ae_model_reloads_total{model="model"} 1"#))
    }

    @Test func drainLetsInFlightRequestsFinish() throws {
        // A drain deadline far past the test's own steps: starved of CPU by the suite's other
        // tests, those steps once outlasted the harness's 5 s, and once 120 s (two suites ran
        // at once), and the server stopped before the in-flight request could finish. The
        // deadline itself is drainTimeoutBoundsAStuckRequest's.
        let server = try ServerHarness.start(in: dir) { $0.drainTimeoutSeconds = 600 }
        let port = server.port
        let idle = try TestHTTPClient(port: port)
        #expect(try idle.request("GET", "/readyz").status == 200)
        // A request in flight: headers and half the body sent.
        let body = Array(#"{"features": \#(ServerHarness.json(ServerHarness.rows(1)[0]))}"#.utf8)
        let inFlight = try TestHTTPClient(port: port)
        try inFlight.sendHead("POST", "/encode", headers: ["Content-Type": "application/json"], contentLength: body.count)
        try inFlight.send(Array(body.prefix(body.count / 2)))
        #expect(ServerHarness.eventually { ServerHarness.inFlight(server, 1) })   // its headers are read

        let stopped = DispatchSemaphore(value: 0)
        Thread { server.shutdown(); stopped.signal() }.start()
        #expect(ServerHarness.eventually { !server.isReady })
        // Readiness is off at once; the server no longer accepts connections; it has not stopped.
        #expect(try idle.request("GET", "/readyz").status == 503)
        #expect(ServerHarness.eventually { !server.isListening })
        #expect(stopped.wait(timeout: .now()) == .timedOut)
        // The in-flight request completes normally, then the drain ends.
        try inFlight.send(Array(body.suffix(from: body.count / 2)))
        let r = try inFlight.readResponse()
        #expect(r.status == 200 && (r.object["latent"] as? [Double])?.count == 3)
        #expect(stopped.wait(timeout: .now() + 60) == .success)
    }

    @Test func drainTimeoutBoundsAStuckRequest() throws {
        let server = try ServerHarness.start(in: dir)
        let stuck = try TestHTTPClient(port: server.port)
        try stuck.sendHead("POST", "/encode", headers: [:], contentLength: 100)
        try stuck.send("{")
        #expect(ServerHarness.eventually { ServerHarness.inFlight(server, 1) })
        let t0 = Date()
        server.shutdown(drainTimeout: 0.5)
        let took = Date().timeIntervalSince(t0)
        #expect(took >= 0.4 && took < 4)
    }

    @Test func aModelThatCannotLoadStopsStartUp() throws {
        let bad = dir.appendingPathComponent("bad.safetensors").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: bad))
        #expect(throws: ModelRepositoryError.self) { try ServerHarness.start(ServerHarness.configuration(modelPath: bad)) }
        #expect(throws: ModelRepositoryError.self) { try ServerHarness.start(ServerHarness.configuration(modelPath: dir.appendingPathComponent("none").path)) }
    }

    @Test func aTakenPortIsAClearError() throws {
        let path = ServerHarness.writeModel(ServerHarness.model(), to: dir)
        let first = try ServerHarness.start(ServerHarness.configuration(modelPath: path))
        defer { first.shutdown() }
        let port = first.port
        let error = #expect(throws: ServerStartError.self) { try ServerHarness.start(ServerHarness.configuration(modelPath: path) { $0.port = port }) }
        #expect(error?.message.contains("127.0.0.1:\(port): address in use") == true, "\(error?.message ?? "")")
    }
}
