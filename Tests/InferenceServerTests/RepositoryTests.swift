import AutoencoderCore
import Foundation
import Synchronization
import Testing
@testable import InferenceServer

/// A directory of models served by name: start-up, named routes, changes on a look at the
/// directory, and failures that stay with their own model.
@Suite struct RepositoryTests {
    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }

    func write(_ name: String, seed: UInt64) -> String {
        ServerHarness.writeModel(ServerHarness.model(seed: seed), to: dir, name: "\(name).safetensors")
    }

    func start(default name: String?, poll: Double = 0) throws -> AutoencoderServer {
        try ServerHarness.start(ServerHarness.configuration(modelPath: "unused") {
            $0.modelsDirectory = dir.path
            $0.defaultModel = name
            $0.pollSeconds = poll
        })
    }

    static let row = ServerHarness.rows(1)[0]
    static let body = #"{"features": \#(ServerHarness.json(row))}"#

    /// The model's latent vector for `row`, offline.
    static func latent(seed: UInt64) -> [Double] {
        let table = FeatureTable(featureNames: ServerHarness.features, values: row, targets: nil, source: "test")
        return ServerHarness.model(seed: seed).encode(table).map(Double.init)
    }

    static func close(_ a: [Double]?, _ b: [Double]) -> Bool {
        guard let a, a.count == b.count else { return false }
        return zip(a, b).allSatisfy { abs($0 - $1) < 1e-6 }
    }

    @Test func threeModelsAnswerByName() throws {
        for (name, seed) in [("a", 1), ("b", 2), ("c.v2", 3)] { _ = write(name, seed: UInt64(seed)) }
        try "notes".write(to: dir.appendingPathComponent("README.txt"), atomically: true, encoding: .utf8)
        _ = write("bad name", seed: 4)   // not a model name: ignored
        let server = try start(default: "b")
        defer { server.shutdown() }
        #expect(server.repository.ignored == ["README.txt", "bad name.safetensors"])   // logged at start-up
        let c = try TestHTTPClient(port: server.port)

        let list = try c.request("GET", "/v1/models")
        #expect(list.status == 200)
        let models = list.object["models"] as? [[String: Any]] ?? []
        #expect(models.map { $0["name"] as? String } == ["a", "b", "c.v2"])
        #expect(list.object["default_model"] as? String == "b")
        for m in models {
            #expect(m["ready"] as? Bool == true)
            #expect((m["sha256"] as? String)?.hasPrefix(m["version"] as? String ?? "-") == true)
            #expect((m["version"] as? String)?.count == 12)
            #expect(m["window_size"] as? Int == 1)
        }

        for (name, seed) in [("a", 1), ("b", 2), ("c.v2", 3)] {
            let r = try c.request("POST", "/v1/models/\(name)/encode", json: Self.body)
            #expect(r.status == 200)
            #expect(Self.close(r.object["latent"] as? [Double], Self.latent(seed: UInt64(seed))), "\(name)")
            #expect((r.object["model"] as? String)?.hasPrefix("\(name)@") == true)
            let meta = try c.request("GET", "/v1/models/\(name)")
            #expect(meta.object["name"] as? String == r.object["model"] as? String)
            let rec = try c.request("POST", "/v1/models/\(name)/reconstruct", json: Self.body)
            #expect(rec.status == 200 && rec.object["mse"] is Double)
        }
        // Models of other shapes take turns on the same workers (their buffers are shared).
        let wide = ServerHarness.model(seed: 6, hidden: [12, 9], latent: 4)
        _ = ServerHarness.writeModel(wide, to: dir, name: "wide.safetensors")
        #expect(server.reload())
        let wideLatent = wide.encode(FeatureTable(featureNames: ServerHarness.features, values: Self.row, targets: nil, source: "test")).map(Double.init)
        for _ in 0..<4 {
            #expect(Self.close(try c.request("POST", "/v1/models/wide/encode", json: Self.body).object["latent"] as? [Double], wideLatent))
            #expect(Self.close(try c.request("POST", "/v1/models/a/encode", json: Self.body).object["latent"] as? [Double], Self.latent(seed: 1)))
            #expect(try c.request("POST", "/v1/models/wide/reconstruct", json: Self.body).status == 200)
        }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("wide.safetensors"))
        #expect(server.reload())

        // The unnamed routes serve the default.
        #expect(Self.close(try c.request("POST", "/encode", json: Self.body).object["latent"] as? [Double], Self.latent(seed: 2)))
        #expect((try c.request("GET", "/model").object["name"] as? String)?.hasPrefix("b@") == true)
        #expect((try c.request("GET", "/readyz").object["models"] as? Int) == 3)

        // Unknown names, bad paths and methods are clear errors.
        let unknown = try c.request("POST", "/v1/models/zz/encode", json: Self.body)
        #expect(unknown.status == 404 && (unknown.object["error"] as? String)?.contains("'zz'") == true)
        #expect(try c.request("GET", "/v1/models/bad%20name").status == 404)
        #expect(try c.request("POST", "/v1/models/a/decode", json: Self.body).status == 404)
        #expect(try c.request("POST", "/v1/models//encode", json: Self.body).status == 404)
        #expect(try c.request("GET", "/v1/models/a/encode").status == 405)
        #expect(try c.request("POST", "/v1/models", json: "{}").status == 405)

        let metrics = try c.request("GET", "/metrics").text
        #expect(metrics.contains("ae_models_loaded 3"), "\(metrics)")
        #expect(metrics.contains(#"ae_http_requests_total{model="a",route="/v1/models/{name}/encode",status="200"} 5"#))
        #expect(metrics.contains(#"ae_http_requests_total{model="b",route="/encode",status="200"} 1"#))
        #expect(metrics.contains(#"ae_model_info{model="c.v2",version=""#))
        #expect(!metrics.contains(#"model="zz""#))   // an unknown name makes no series
    }

    @Test func startUpNeedsAnUnambiguousDefault() throws {
        _ = write("a", seed: 1)
        _ = write("b", seed: 2)
        #expect(throws: ModelRepositoryError.self) { try start(default: nil) }
        #expect(throws: ModelRepositoryError.self) { try start(default: "c") }
        #expect(throws: ModelRepositoryError.self) {
            try ServerHarness.start(ServerHarness.configuration(modelPath: "unused") { $0.modelsDirectory = dir.appendingPathComponent("none").path })
        }
        #expect(throws: ServerConfigurationError.self) { try start(default: "../a") }
    }

    @Test func anEmptyOrPartlyBadDirectoryIsNotReadyUntilFixed() throws {
        let server = try start(default: "a")
        // An empty directory: serving, not ready, and default_model names what it will be.
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        #expect(try c.request("GET", "/readyz").status == 503)
        #expect(try c.request("POST", "/encode", json: Self.body).status == 503)

        // A bad file found later: listed with its error; the good one serves.
        _ = write("a", seed: 1)
        try Data([1, 2, 3]).write(to: dir.appendingPathComponent("b.safetensors"))
        #expect(!server.reload())
        #expect(try c.request("GET", "/readyz").status == 200)
        #expect(try c.request("POST", "/v1/models/a/encode", json: Self.body).status == 200)
        let b = try c.request("POST", "/v1/models/b/encode", json: Self.body)
        #expect(b.status == 404)
        let meta = try c.request("GET", "/v1/models/b")
        #expect(meta.status == 503 && (meta.object["error"] as? String)?.contains("truncated") == true, "\(meta.text)")
        let listed = (try c.request("GET", "/v1/models").object["models"] as? [[String: Any]] ?? []).first { $0["name"] as? String == "b" }
        #expect(listed?["ready"] as? Bool == false && listed?["error"] is String)
    }

    @Test func aBadFileAtStartUpHoldsReadinessUntilItLoads() throws {
        _ = write("a", seed: 1)
        try Data([1, 2, 3]).write(to: dir.appendingPathComponent("b.safetensors"))
        let server = try start(default: "a")
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        let ready = try c.request("GET", "/readyz")
        #expect(ready.status == 503 && (ready.object["error"] as? String)?.contains("'b'") == true)
        #expect(try c.request("POST", "/encode", json: Self.body).status == 200)   // a serves meanwhile
        _ = write("b", seed: 2)
        #expect(server.reload())
        #expect(try c.request("GET", "/readyz").status == 200)
    }

    @Test func changesApplyAndAFailureStaysWithItsModel() throws {
        _ = write("a", seed: 1)
        _ = write("b", seed: 2)
        let server = try start(default: "a")
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        func sha(_ name: String) throws -> String? { try c.request("GET", "/v1/models/\(name)").object["sha256"] as? String }
        let a = try sha("a"), b = try sha("b")

        // Added, and changed.
        _ = write("c", seed: 3)
        _ = write("b", seed: 9)
        #expect(server.reload())
        #expect(Self.close(try c.request("POST", "/v1/models/c/encode", json: Self.body).object["latent"] as? [Double], Self.latent(seed: 3)))
        #expect(Self.close(try c.request("POST", "/v1/models/b/encode", json: Self.body).object["latent"] as? [Double], Self.latent(seed: 9)))
        #expect(try sha("b") != b)
        #expect(try sha("a") == a)

        // A corrupt new version keeps the old one serving, and touches no other model.
        let path = dir.appendingPathComponent("c.safetensors")
        let good = try Data(contentsOf: path)
        try good.prefix(good.count / 2).write(to: path)
        #expect(!server.reload())
        #expect(Self.close(try c.request("POST", "/v1/models/c/encode", json: Self.body).object["latent"] as? [Double], Self.latent(seed: 3)))
        let listed = (try c.request("GET", "/v1/models").object["models"] as? [[String: Any]] ?? []).first { $0["name"] as? String == "c" }
        #expect(listed?["ready"] as? Bool == true && (listed?["error"] as? String)?.contains("truncated") == true)
        #expect(try c.request("GET", "/readyz").status == 200)

        // Deleted: gone; the others stay.
        try FileManager.default.removeItem(atPath: dir.appendingPathComponent("b.safetensors").path)
        #expect(!server.reload())   // c is still corrupt
        #expect(try c.request("POST", "/v1/models/b/encode", json: Self.body).status == 404)
        #expect(try c.request("POST", "/v1/models/a/encode", json: Self.body).status == 200)
        #expect(try sha("a") == a)

        let metrics = try c.request("GET", "/metrics").text
        #expect(metrics.contains("ae_models_loaded 2"), "\(metrics)")
        #expect(metrics.contains(#"ae_model_reloads_total{model="b"} 1"#))
        #expect(metrics.contains(#"ae_model_reload_failures_total{model="c"} 2"#))
        #expect(metrics.contains(#"ae_model_reload_failures_total{model="a"} 0"#))
        #expect(!metrics.contains(#"ae_model_info{model="b""#))   // its gauges left with it
    }

    /// The poll reads a file only when its size or time changed; SIGHUP's look reads them all.
    @Test func thePollSkipsUnchangedFiles() throws {
        _ = write("a", seed: 1)
        let server = try start(default: "a")
        defer { server.shutdown() }
        #expect(server.repository.scan(force: false).changed == false)
        let path = dir.appendingPathComponent("a.safetensors").path
        // The same bytes written again: read (new time) but the same SHA, so nothing changes.
        _ = write("a", seed: 1)
        let same = server.repository.scan(force: false)
        #expect(!same.changed && same.failed.isEmpty)
        _ = write("a", seed: 5)
        #expect(server.repository.scan(force: false).replaced.map(\.name) == ["a"])
        // A bad file is read once; the poll does not read it again until it changes.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        #expect(server.repository.scan(force: false).failed.count == 1)
        #expect(server.repository.scan(force: false).failed.isEmpty)
        #expect(server.repository.scan(force: true).failed.count == 1)
    }

    /// Models not touched answer every request while others are added, changed and removed.
    @Test func untouchedModelsServeThroughChanges() throws {
        _ = write("a", seed: 1)
        _ = write("b", seed: 2)
        let server = try start(default: "a")
        defer { server.shutdown() }
        let failures = Atomic<Int>(0), answered = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
        let expected = Self.latent(seed: 1)
        let port = server.port
        let finished = DispatchGroup()
        for _ in 0..<3 {
            finished.enter()
            Thread {
                defer { finished.leave() }
                guard let c = try? TestHTTPClient(port: port) else { failures.add(1, ordering: .relaxed); return }
                // Bounded: at most 5,000 requests, or until the changes are done.
                for _ in 0..<5_000 where !done.load(ordering: .acquiring) {
                    let r = try? c.request("POST", "/v1/models/a/encode", json: Self.body)
                    if r?.status == 200, Self.close(r?.object["latent"] as? [Double], expected) {
                        answered.add(1, ordering: .relaxed)
                    } else {
                        failures.add(1, ordering: .relaxed)
                    }
                }
            }.start()
        }
        for i in 0..<20 {
            _ = write("c", seed: UInt64(10 + i))       // added, then changed each round
            _ = write("b", seed: UInt64(30 + i))
            server.reload()
            if i % 5 == 4 { try? FileManager.default.removeItem(atPath: dir.appendingPathComponent("c.safetensors").path); server.reload() }
        }
        done.store(true, ordering: .releasing)
        #expect(finished.wait(timeout: .now() + 60) == .success)
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(answered.load(ordering: .relaxed) > 0)
    }
}
