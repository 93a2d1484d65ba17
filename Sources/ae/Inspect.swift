import ArgumentParser
import AutoencoderCore
import Foundation

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show what a model file holds.")

    @Argument(help: "Model file.") var file: String
    @Flag(help: "List every feature with its scaler values.") var features = false

    func run() throws {
        let m = try ModelFile.read(path: file)
        let s = m.training
        let net = m.network
        print("File:         \(file)")
        print("SHA-256:      \(try Fingerprint.sha256(ofFile: file))")
        print("Format:       \(ModelFile.format) v\(ModelFile.formatVersion) (safetensors)")
        print("Architecture: " + ([String(net.inputSize)] + net.layers.enumerated().map { i, l in
            "\(l.outputSize) \(l.activation.rawValue)\(i == net.latentLayer ? " [latent]" : "")" }).joined(separator: " → "))
        print("Parameters:   \(net.parameterCount)")
        for (i, l) in net.layers.enumerated() {
            print("  dense_\(i).kernel [\(l.inputSize), \(l.outputSize)]  dense_\(i).bias [\(l.outputSize)]")
        }
        print("Threshold:    \(m.threshold) (\(m.thresholdRule), \(s.thresholdRows) rows)")
        print("Training:     \(s.epochsRun) epochs (best \(s.bestEpoch)), loss \(fmt(s.finalLoss)), val_loss \(s.finalValLoss.map(fmt) ?? "n/a")")
        print("              \(s.trainRows) train + \(s.validationRows) validation rows (\(s.rows)), batch \(s.batchSize), lr \(s.learningRate), seed \(s.seed)")
        print("              data sha256 \(s.dataSHA256), \(s.date)")
        if features {
            print("Features (name, scaler min_, scale_):")
            for (i, name) in m.featureNames.enumerated() { print("  \(i)\t\(name)\t\(m.scaler.min[i])\t\(m.scaler.scale[i])") }
        } else {
            print("Features:     \(m.featureNames.count): \(m.featureNames.prefix(3).joined(separator: ", ")), … (--features lists all)")
        }
    }
}
