import ArgumentParser
import AutoencoderCore
import Configuration
import Dispatch
import Foundation
import InferenceServer
import Logging

/// `ae-server`: serves a model from `ae train` over HTTP. Flags override `AE_*` environment
/// variables, which override the configuration file.
@main
struct AEServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ae-server",
        abstract: "Serve /encode and /reconstruct for an N-BaIoT autoencoder model.")

    @Option(help: "Configuration file (JSON; see config/server.json).") var config: String?
    @Option(help: "Model file (.safetensors from `ae train`).") var model: String?
    @Option(help: "Address to bind.") var host: String?
    @Option(help: "Port to bind; 0 picks a free one.") var port: Int?
    @Option(help: "Worker threads.") var threads: Int?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.") var logLevel: String?
    @Flag(help: "Probe /readyz on the configured port and exit 0 (ready) or 1 (for container health checks).")
    var healthcheck = false

    func run() async throws {
        var overrides: [String: ConfigValue] = [:]
        if let model { overrides["model"] = ConfigValue(.string(model), isSecret: false) }
        if let host { overrides["host"] = ConfigValue(.string(host), isSecret: false) }
        if let port { overrides["port"] = ConfigValue(.int(port), isSecret: false) }
        if let threads { overrides["threads"] = ConfigValue(.int(threads), isSecret: false) }
        if let logLevel { overrides["log_level"] = ConfigValue(.string(logLevel), isSecret: false) }
        let settings: ServerConfiguration
        do { settings = try await ServerConfiguration.load(file: config, overrides: overrides) } catch {
            throw ValidationError("\(error)")
        }
        if healthcheck {
            throw ExitCode(HealthProbe.check(host: settings.host, port: settings.port) ? 0 : 1)
        }
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        var logger = Logger(label: "ae-server")
        logger.logLevel = level
        signal(SIGPIPE, SIG_IGN)
        Autoencoder.useSingleThreadedBLAS()

        let server: AutoencoderServer
        do {
            server = try AutoencoderServer(configuration: settings, logger: logger)
            try server.start()
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        await Signals.run(server: server)
    }
}

/// SIGHUP reloads the model; SIGTERM or SIGINT drains and stops (exit 0).
enum Signals {
    static func run(server: AutoencoderServer) async {
        let queue = DispatchQueue(label: "ae-server.signals")
        for s in [SIGHUP, SIGTERM, SIGINT] { signal(s, SIG_IGN) }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
            hup.setEventHandler { server.reload() }
            hup.resume()
            var sources = [hup]
            let once = Once()
            for s in [SIGTERM, SIGINT] {
                let src = DispatchSource.makeSignalSource(signal: s, queue: queue)
                src.setEventHandler {
                    guard once.first() else { return }   // a second signal while draining changes nothing
                    server.logger.info("signal received: draining", metadata: ["signal": "\(s == SIGTERM ? "SIGTERM" : "SIGINT")"])
                    Watchdog.start(after: server.configuration.drainTimeoutSeconds + 1, logger: server.logger)
                    server.shutdown()
                    done.resume()
                }
                src.resume()
                sources.append(src)
            }
            Retainer.keep(sources)
        }
    }
}

/// True the first time only; used on the serial signal queue.
final class Once: @unchecked Sendable {
    private var done = false
    func first() -> Bool { defer { done = true }; return !done }
}

/// Keeps the signal sources alive for the life of the process.
enum Retainer {
    nonisolated(unsafe) static var kept: [Any] = []
    static func keep(_ x: Any) { kept.append(x) }
}

/// Ends the process if the drain has not ended it in time, whatever the other threads are doing:
/// an orchestrator's SIGTERM must always lead to an exit (non-zero here, after a log line).
enum Watchdog {
    static func start(after seconds: Double, logger: Logger) {
        let thread = Thread {
            Thread.sleep(forTimeInterval: seconds)
            logger.critical("shutdown did not finish within the drain timeout + 1 s; exiting", metadata: ["seconds": "\(seconds)"])
            _exit(2)
        }
        thread.start()
    }
}
