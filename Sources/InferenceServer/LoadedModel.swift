import AutoencoderCore
import Foundation
import Synchronization

/// A model file loaded and validated in full, with what the server reports about it. Immutable:
/// a reload builds a new one and swaps the reference, so a request sees one model throughout.
final class LoadedModel: Sendable {
    let model: TrainedModel
    let path: String
    let sha256: String
    /// The repository name: the file name without its extension (`/v1/models/{name}/…`).
    let name: String
    /// The first 12 hex digits of the SHA-256: the model's version.
    let version: Substring
    /// `<name>@<version>`: what every answer calls the model.
    let tag: String
    let loadedAt: Date
    let loadSeconds: Double
    /// The server's `max_batch`, for the request parsers built from this model (`WorkerModel`).
    let maxBatch: Int
    /// The scaler and network in read-only memory, which every worker reads (`WorkerModel.frozen`).
    let frozen: FrozenModel
    /// `GET /model`'s answer.
    let metadataJSON: [UInt8]
    /// The tag as a JSON string literal, for `/readyz`.
    let tagJSON: QuotedStrings

    /// Reads the file once and validates it in full. `maxBatch`: the most rows one request may
    /// carry (the server's `max_batch`).
    convenience init(path: String, maxBatch: Int) throws(ModelFileError) {
        let start = DispatchTime.now().uptimeNanoseconds
        try self.init(bytes: Self.read(path), path: path, maxBatch: maxBatch, since: start)
    }

    /// The file's bytes, read once: what is hashed is what is parsed, so a file replaced
    /// mid-load cannot mix two versions.
    static func read(_ path: String) throws(ModelFileError) -> [UInt8] {
        do { return Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw .io(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
        }
    }

    /// `since`: when reading began (`DispatchTime` nanoseconds), for `loadSeconds`.
    init(bytes: [UInt8], path: String, maxBatch: Int, since start: UInt64) throws(ModelFileError) {
        model = try ModelFile.decode(bytes, path: path)
        frozen = FrozenModel(model)
        self.path = path
        sha256 = Fingerprint.sha256(bytes)
        version = sha256.prefix(12)
        name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        tag = "\(name)@\(version)"
        loadedAt = Date()
        self.maxBatch = maxBatch
        tagJSON = QuotedStrings([tag])
        loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        metadataJSON = Self.describe(model, tag: tag, version: version, sha256: sha256, path: path, loadedAt: loadedAt, loadSeconds: loadSeconds)
    }

    /// `GET /model`'s body, built once per load: nothing in it changes until the next reload.
    static func describe(_ model: TrainedModel, tag: String, version: Substring, sha256: String, path: String, loadedAt: Date, loadSeconds: Double) -> [UInt8] {
        let net = model.network
        let s = model.training
        var training: [String: Any] = [
            "epochs_run": s.epochsRun, "best_epoch": s.bestEpoch, "final_loss": s.finalLoss,
            "train_rows": s.trainRows, "validation_rows": s.validationRows, "rows": s.rows, "seed": s.seed,
            "batch_size": s.batchSize, "learning_rate": s.learningRate, "data_sha256": s.dataSHA256, "date": s.date,
            "threshold_rows": s.thresholdRows,
        ]
        training["final_val_loss"] = s.finalValLoss ?? NSNull()
        let object: [String: Any] = [
            "name": tag, "version": String(version), "sha256": sha256, "path": path,
            "window_size": model.window?.size ?? 1,
            "loaded_at": ISO8601DateFormatter().string(from: loadedAt),
            "load_seconds": loadSeconds,
            "feature_names": model.featureNames,
            "input_size": net.inputSize, "latent_size": net.latentSize,
            "architecture": net.layers.map { ["units": $0.outputSize, "activation": $0.activation.rawValue] as [String: Any] },
            "threshold": Double(model.threshold.description) ?? Double(model.threshold),
            "threshold_rule": model.thresholdRule.description,
            "training": training,
        ]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
    }
}

