import Foundation
import Glibc
import Testing
@testable import InferenceServer

/// The `ae-server` executable itself: flags, signals, health-check mode.
@Suite(.serialized) struct ExecutableTests {
    static var binary: String? {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ae-server").path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug/ae-server").standardized.path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    final class Running {
        let process = Process()
        let errors = Pipe()
        var port = 0
        var log = ""

        init(_ arguments: [String], environment: [String: String] = [:]) throws {
            process.executableURL = URL(fileURLWithPath: ExecutableTests.binary!)
            process.arguments = arguments
            var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AE_") }
            env.merge(environment) { $1 }
            process.environment = env
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // The start-up line names the bound port.
            let deadline = Date().addingTimeInterval(10)
            while port == 0 && Date() < deadline && process.isRunning {
                let chunk = errors.fileHandleForReading.availableData
                log += String(decoding: chunk, as: UTF8.self)
                if let r = log.range(of: #"address=127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                    port = Int(log[r].split(separator: ":").last!)!
                }
            }
        }

        /// Reads the process's log until it contains `text`, for at most `seconds`.
        func waitForLog(_ text: String, seconds: Double = 10) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while !log.contains(text) && Date() < deadline && process.isRunning {
                log += String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
            }
            return log.contains(text)
        }

        func stop(_ signal: Int32 = SIGTERM) -> Int32 {
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    @Test func servesReloadsOnSIGHUPAndDrainsOnSIGTERM() throws {
        guard Self.binary != nil else { Issue.record("ae-server binary not found; build it first (swift build)"); return }
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        let path = ServerHarness.writeModel(ServerHarness.model(seed: 1), to: dir)
        let config = dir.appendingPathComponent("server.json").path
        try #"{"host": "127.0.0.1", "port": 8080, "threads": 2, "model": "nowhere", "drain_timeout_seconds": 5}"#
            .write(toFile: config, atomically: true, encoding: .utf8)
        // Flags override the file (port, model); the environment overrides the file too.
        let server = try Running(["--config", config, "--port", "0", "--model", path], environment: ["AE_LOG_LEVEL": "info"])
        #expect(server.port > 0, "log: \(server.log)")
        let c = try TestHTTPClient(port: server.port)
        let sha1 = try c.request("GET", "/model").object["sha256"] as? String

        // Health-check mode against the running server.
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: Self.binary!)
        probe.arguments = ["--config", config, "--port", String(server.port)]  + ["--healthcheck"]
        try probe.run(); probe.waitUntilExit()
        #expect(probe.terminationStatus == 0)

        _ = ServerHarness.writeModel(ServerHarness.model(seed: 9), to: dir)
        kill(server.process.processIdentifier, SIGHUP)
        #expect(ServerHarness.eventually { (try? c.request("GET", "/model").object["sha256"] as? String) != sha1 })

        // A request in flight at SIGTERM completes; the process exits 0.
        let body = Array(#"{"features": \#(ServerHarness.json(ServerHarness.rows(1)[0]))}"#.utf8)
        let inFlight = try TestHTTPClient(port: server.port)
        try inFlight.sendHead("POST", "/reconstruct", headers: [:], contentLength: body.count)
        try inFlight.send(Array(body.prefix(10)))
        // Its headers are read: two requests in flight, it and the /metrics request asking.
        #expect(ServerHarness.eventually { (try? c.request("GET", "/metrics").text.contains("ae_requests_in_flight 2\n")) == true })
        kill(server.process.processIdentifier, SIGTERM)
        // The drain has begun (the listener is closed: its log line) and waits for the request in flight.
        #expect(server.waitForLog("no longer accepting connections"), "log: \(server.log)")
        #expect(server.process.isRunning)
        try inFlight.send(Array(body.dropFirst(10)))
        #expect(try inFlight.readResponse().status == 200)
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)

        // Where nothing listens, the health check fails. (Not the stopped server's port: in a
        // suite run in parallel another test's server may have it by now. This port is held,
        // bound but not listening, until the probe is done.)
        let held = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(held) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(held, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(held, $0, &length) } }
        let down = Process()
        down.executableURL = URL(fileURLWithPath: Self.binary!)
        down.arguments = ["--config", config, "--port", String(UInt16(bigEndian: address.sin_port)), "--healthcheck"]
        try down.run(); down.waitUntilExit()
        #expect(down.terminationStatus == 1)
    }

    /// A burst of connections far past the limit (which once deadlocked libmicrohttpd 0.9.75 for
    /// good) leaves the process answering, and SIGTERM still ends it within the drain timeout.
    @Test func aConnectionBurstLeavesTheProcessServingAndStoppable() throws {
        guard Self.binary != nil else { Issue.record("ae-server binary not found"); return }
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        let path = ServerHarness.writeModel(ServerHarness.model(), to: dir)
        let server = try Running(["--model", path, "--host", "127.0.0.1", "--port", "0"],
                                 environment: ["AE_CONNECTION_LIMIT": "4", "AE_DRAIN_TIMEOUT_SECONDS": "2"])
        #expect(server.port > 0, "log: \(server.log)")
        ReliabilityTests.burst(port: server.port, count: 200)
        #expect(ReliabilityTests.firstAnswer(port: server.port)?.status == 200)
        let t0 = Date()
        #expect(server.stop() == 0)
        #expect(Date().timeIntervalSince(t0) < 3)
        let log = server.log + String(decoding: server.errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("connection limit (4) reached"), "\(log)")
    }

    /// `--models` with `poll_seconds`: a file copied into the directory is served without a
    /// signal, a deleted one leaves; SIGHUP looks at once.
    @Test func aModelsDirectoryIsPolledAndRescannedOnSIGHUP() throws {
        guard Self.binary != nil else { Issue.record("ae-server binary not found"); return }
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        _ = ServerHarness.writeModel(ServerHarness.model(seed: 1), to: dir, name: "a.safetensors")
        let server = try Running(["--port", "0", "--host", "127.0.0.1", "--models", dir.path, "--default-model", "a"],
                                 environment: ["AE_POLL_SECONDS": "0.2", "AE_LOG_LEVEL": "info"])
        defer { if server.process.isRunning { _ = server.stop() } }
        #expect(server.port > 0, "log: \(server.log)")
        let c = try TestHTTPClient(port: server.port)
        let body = #"{"features": \#(ServerHarness.json(ServerHarness.rows(1)[0]))}"#
        #expect(try c.request("POST", "/v1/models/b/encode", json: body).status == 404)
        _ = ServerHarness.writeModel(ServerHarness.model(seed: 2), to: dir, name: "b.safetensors")
        #expect(ServerHarness.eventually(within: 10) { (try? c.request("POST", "/v1/models/b/encode", json: body).status) == 200 })
        try FileManager.default.removeItem(at: dir.appendingPathComponent("b.safetensors"))
        #expect(ServerHarness.eventually(within: 10) { (try? c.request("POST", "/v1/models/b/encode", json: body).status) == 404 })
        // SIGHUP reads every file at once, whatever the poll has seen.
        let before = try c.request("GET", "/v1/models/a").object["sha256"] as? String
        _ = ServerHarness.writeModel(ServerHarness.model(seed: 3), to: dir, name: "a.safetensors")
        kill(server.process.processIdentifier, SIGHUP)
        #expect(ServerHarness.eventually(within: 10) { (try? c.request("GET", "/v1/models/a").object["sha256"] as? String) != before })
        #expect(server.stop() == 0)
    }

    @Test func badConfigurationStopsStartUpWithAMessage() throws {
        guard Self.binary != nil else { Issue.record("ae-server binary not found"); return }
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        let config = dir.appendingPathComponent("server.json").path
        try #"{"port": 8080, "colour": "blue"}"#.write(toFile: config, atomically: true, encoding: .utf8)
        for (args, env, fragment) in [
            (["--config", config], [String: String](), "colour"),
            (["--port", "0", "--model", "/nonexistent/model.safetensors"], [:], "no such file"),
            (["--port", "0"], ["AE_THREADS": "many"], "threads"),
            (["--port", "70000"], [:], "port"),
        ] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.binary!)
            p.arguments = args
            var e = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AE_") }
            e.merge(env) { $1 }
            p.environment = e
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(p.terminationStatus != 0)
            #expect(text.contains(fragment), "\(args) \(env): \(text)")
        }
    }
}
