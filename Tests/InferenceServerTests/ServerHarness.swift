import AutoencoderCore
import Foundation
@_exported import TestSupport
import Logging
@testable import InferenceServer

/// Models and running servers for the tests. Each server binds 127.0.0.1 on a free port and is
/// shut down by the test that started it.
enum ServerHarness {
    static let features = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"]


    /// A small model with random weights (no training needed to test serving).
    static func model(seed: UInt64 = 1, threshold: Float = 0.02, hidden: [Int] = [5], latent: Int = 3) -> TrainedModel {
        let n = features.count
        let net = Autoencoder(inputSize: n, hidden: hidden, latent: latent, seed: seed)
        let scaler = MinMaxScaler(scale: (0..<n).map { 1.0 / Double(10 * ($0 + 1)) }, min: (0..<n).map { -Double($0) * 0.1 })
        let summary = TrainingSummary(epochsRun: 1, finalLoss: 0.1, finalValLoss: 0.1, bestEpoch: 1, trainRows: 10, validationRows: 3,
                                      rows: "benign", seed: seed, batchSize: 32, learningRate: 0.001, dataSHA256: "00", date: "2026-11-29T00:00:00Z", thresholdRows: 3)
        return TrainedModel(network: net, featureNames: features, scaler: scaler, threshold: threshold, thresholdRule: .meanPlusStd(1), training: summary)
    }

    static func writeModel(_ m: TrainedModel, to dir: URL, name: String = "model.safetensors") -> String {
        let path = dir.appendingPathComponent(name).path
        try! ModelFile.write(m, to: path, overwrite: true)
        return path
    }

    static func configuration(modelPath: String, _ edit: (inout ServerConfiguration) -> Void = { _ in }) -> ServerConfiguration {
        var c = ServerConfiguration()
        c.host = "127.0.0.1"
        c.port = 0
        c.threads = 2
        c.modelPath = modelPath
        c.drainTimeoutSeconds = 5
        // Off unless a test is about it: on a loaded machine a slow test could reach the deadline
        // (a test holding a request half sent, starved of CPU by the suite's other tests, once
        // met the 10 s idle timeout).
        c.requestTimeoutSeconds = 0
        c.connectionTimeoutSeconds = 0
        edit(&c)
        return c
    }

    static func start(_ configuration: ServerConfiguration) throws -> AutoencoderServer {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let s = try AutoencoderServer(configuration: configuration, logger: logger)
        try s.start()
        return s
    }

    /// `model` written into `dir` and served on an ephemeral port of 127.0.0.1.
    static func start(serving model: TrainedModel = model(), in dir: URL,
                      _ edit: (inout ServerConfiguration) -> Void = { _ in }) throws -> AutoencoderServer {
        try start(configuration(modelPath: writeModel(model, to: dir), edit))
    }

    /// Raw rows for requests: deterministic values in the features' ranges.
    static func rows(_ count: Int, seed: UInt64 = 3) -> [[Double]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in (0..<features.count).map { j in Double(rng.nextUnitFloat()) * 10 * Double(j + 1) + Double(j) } }
    }

    /// Polls `condition` until it holds or `seconds` pass (for states with no event to wait on:
    /// the server has read a request's headers, the listener has closed); whether it held.
    static func eventually(within seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return true
    }

    /// Whether the server has read the headers of `count` requests still unanswered.
    static func inFlight(_ server: AutoencoderServer, _ count: UInt64) -> Bool {
        server.connectionStats().requests_in_flight == count
    }


    static func json(_ row: [Double]) -> String { "[" + row.map { "\($0)" }.joined(separator: ",") + "]" }
}
