import AutoencoderCore
import Foundation
import Synchronization

/// A model file loaded and validated in full, with what the server reports about it. Immutable:
/// a reload builds a new one and swaps the reference, so a request sees one model throughout.
final class LoadedModel: Sendable {
    let model: TrainedModel
    let path: String
    let sha256: String
    /// `<file name without extension>@<first 12 hex of the SHA-256>`.
    let name: String
    let loadedAt: Date
    let loadSeconds: Double
    /// The server's `max_batch`, for the request parsers built from this model (`WorkerModel`).
    let maxBatch: Int
    /// `GET /model`'s answer.
    let metadataJSON: [UInt8]
    /// The name as a JSON string literal, for `/readyz`.
    let nameJSON: QuotedStrings

    /// `maxBatch`: the most rows one request may carry (the server's `max_batch`).
    init(path: String, maxBatch: Int) throws(ModelFileError) {
        let start = DispatchTime.now().uptimeNanoseconds
        // Hash what is parsed: read once, so a file replaced mid-load cannot mix two versions.
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw .io(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
        }
        model = try ModelFile.decode(bytes, path: path)
        self.path = path
        sha256 = Fingerprint.sha256(bytes)
        let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        name = "\(base)@\(sha256.prefix(12))"
        loadedAt = Date()
        self.maxBatch = maxBatch
        nameJSON = QuotedStrings([name])
        loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        metadataJSON = Self.describe(model, name: name, sha256: sha256, path: path, loadedAt: loadedAt, loadSeconds: loadSeconds)
    }

    /// `GET /model`'s body, built once per load: nothing in it changes until the next reload.
    static func describe(_ model: TrainedModel, name: String, sha256: String, path: String, loadedAt: Date, loadSeconds: Double) -> [UInt8] {
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
            "name": name, "sha256": sha256, "path": path,
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

/// Holds the model being served; a swap is atomic (one lock-protected reference). Its
/// generation counts swaps, so a worker can tell with one atomic read that its copy is current.
final class ModelStore: Sendable {
    private let current: Mutex<LoadedModel?>
    let generation = Atomic<Int>(0)
    init(_ model: LoadedModel?) { current = Mutex(model) }
    var model: LoadedModel? { current.withLock { $0 } }
    func replace(with m: LoadedModel) {
        current.withLock { $0 = m }
        generation.add(1, ordering: .releasing)
    }
}

/// What one worker thread keeps between the requests it answers: its own `WorkerModel` of the
/// model being served, that model's request buffers, and a response buffer. Only its own thread touches it (the shim tells each request which worker runs it),
/// so a request takes no lock for its buffers and writes no reference count that another
/// thread writes too.
final class WorkerCache: @unchecked Sendable {
    let output = JSONOutput()
    let metrics: RequestRecorder
    /// The store's model this worker's `model` was built from (compared by identity).
    private var source: LoadedModel?
    private var model: Unmanaged<WorkerModel>?
    private var generation = -1
    private var scratch: RequestScratch?

    init(metrics: RequestRecorder) { self.metrics = metrics }

    deinit { model?.release() }

    /// Runs `body` with the store's current model (nil: none loaded) and this worker's buffers
    /// for it, refreshing them after a swap. Inlined, so that `body` is too: as a closure
    /// passed to a separate function, it retained the server it captures on every request.
    @inline(__always)
    func withModel<R>(from store: ModelStore, _ body: (WorkerModel?, inout RequestScratch?) -> R) -> R {
        let g = store.generation.load(ordering: .acquiring)
        if g != generation || model == nil {
            let current = store.model
            if current !== source {
                model?.release()
                source = current
                let built = current.map(WorkerModel.init)
                model = built.map { Unmanaged.passRetained($0) }
                scratch = built.map { RequestScratch($0.frozen) }
            }
            generation = g
        }
        guard let model else { return body(nil, &scratch) }
        return model._withUnsafeGuaranteedRef { body($0, &scratch) }
    }
}

/// The buffers one `/encode` or `/reconstruct` request works in. Each worker keeps one for the
/// model it serves, so a request allocates nothing in the common case; a large batch grows them
/// and they are then replaced by small ones.
struct RequestScratch: Sendable {
    /// Rows the forward pass runs at once; bigger batches go through it in chunks.
    static let chunkRows = 64
    /// Every layer's outputs for `chunkRows` rows.
    var activations: [Float]
    /// Raw features as parsed, `rows × n`.
    var values: [Double] = []
    /// Scaled features, `rows × n`.
    var scaled: [Float] = []
    /// Reconstructions (`rows × n`) or latent vectors (`rows × k`).
    var output: [Float] = []
    /// Per-row reconstruction errors.
    var errors: [Float] = []
    /// One row back in the client's units.
    var unscaled: [Float]

    init(_ model: FrozenModel) {
        activations = [Float](repeating: 0, count: Self.chunkRows * model.activationsPerRow)
        unscaled = [Float](repeating: 0, count: model.inputSize)
    }

    var isSmall: Bool { values.capacity <= Self.chunkRows * unscaled.count }

    /// Sizes `array` to `count` zeros, keeping its storage when it is big enough.
    static func resize(_ array: inout [Float], _ count: Int) {
        if array.count != count {
            array.removeAll(keepingCapacity: true)
            array.append(contentsOf: repeatElement(0, count: count))
        }
    }
}
