import ArgumentParser
import AutoencoderCore
import Configuration
import Dispatch
import Foundation
import InferenceServer
import Logging
import ServiceLifecycle

/// `ae-server`: serves a model from `ae train` over HTTP. Flags override `AE_*` environment
/// variables, which override the configuration file.
@main
struct AEServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ae-server",
        abstract: "Serve /encode and /reconstruct for N-BaIoT autoencoder models: one file, or a directory of them by name.")

    @Option(help: "Configuration file (JSON; see config/server.json).") var config: String?
    @Option(help: "Model file (.safetensors from `ae train`).") var model: String?
    @Option(help: "Models directory: serves every <name>.safetensors in it as model <name> (replaces --model).") var models: String?
    @Option(name: .customLong("default-model"), help: "The model /encode and /reconstruct serve (needed when the directory holds several).") var defaultModel: String?
    @Option(help: "Address to bind.") var host: String?
    @Option(help: "Port to bind; 0 picks a free one.") var port: Int?
    @Option(help: "Worker threads.") var threads: Int?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.") var logLevel: String?
    @Flag(help: "Probe /readyz on the configured port and exit 0 (ready) or 1 (for container health checks).")
    var healthcheck = false

    func run() async throws {
        var overrides: [String: ConfigValue] = [:]
        if let model { overrides["model"] = ConfigValue(.string(model), isSecret: false) }
        if let models { overrides["models_dir"] = ConfigValue(.string(models), isSecret: false) }
        if let defaultModel { overrides["default_model"] = ConfigValue(.string(defaultModel), isSecret: false) }
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
        signal(SIGPIPE, SIG_IGN)   // a client gone mid-answer is an error to handle, not the end of the process
        Autoencoder.useSingleThreadedBLAS()

        let server: AutoencoderServer
        do { server = try AutoencoderServer(configuration: settings, logger: logger) } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        // SIGTERM or SIGINT: graceful shutdown (the server drains); SIGHUP: the server reloads.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: server),
                .init(service: Watchdog(seconds: settings.drainTimeoutSeconds + 1, logger: logger), successTerminationBehavior: .ignore),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do { try await group.run() } catch {
            logger.critical("stopped by an error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}

/// Ends the process if the drain has not ended it in time, whatever the other threads are doing:
/// an orchestrator's SIGTERM must always lead to an exit (non-zero here, after a log line).
struct Watchdog: Service {
    let seconds: Double
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()   // returns when the shutdown begins
        let seconds = self.seconds, logger = self.logger
        Thread {
            Thread.sleep(forTimeInterval: seconds)
            logger.critical("shutdown did not finish within the drain timeout + 1 s; exiting", metadata: ["seconds": "\(seconds)"])
            _exit(2)
        }.start()
    }
}
