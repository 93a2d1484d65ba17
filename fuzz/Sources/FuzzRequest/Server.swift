import AutoencoderCore
import Foundation
import InferenceServer

/// The server the inputs go to, with a seed-sized model (115 features) written to a temporary
/// file. A global outside main.swift (whose top-level code never runs: libFuzzer owns `main`),
/// initialised on first use.
let server: AutoencoderServer = {
    let n = 115
    let names = (0..<n).map { "f\($0)" }
    let scaler = MinMaxScaler(scale: (0..<n).map { 1 / Double($0 + 1) }, min: [Double](repeating: 0, count: n))
    let summary = TrainingSummary(epochsRun: 1, finalLoss: 0.1, finalValLoss: 0.1, bestEpoch: 1, trainRows: 10, validationRows: 3,
                                  rows: "benign", seed: 1, batchSize: 32, learningRate: 0.001, dataSHA256: "00",
                                  date: "2026-11-30T00:00:00Z", thresholdRows: 3)
    let model = TrainedModel(network: Autoencoder(inputSize: n, seed: 1), featureNames: names, scaler: scaler, threshold: 0.01,
                             thresholdRule: .meanPlusStd(1), training: summary)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-model-\(getpid()).safetensors").path
    try! ModelFile.write(model, to: path, overwrite: true)
    var configuration = ServerConfiguration()
    configuration.modelPath = path
    configuration.maxBatch = 64
    configuration.threads = 1
    return try! AutoencoderServer(configuration: configuration)
}()
