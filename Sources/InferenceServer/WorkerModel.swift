import AutoencoderCore

/// What `/encode` and `/reconstruct` read of a loaded model, built by each worker thread for
/// itself (`WorkerCache`), once per model and version.
///
/// Why not share one: a request lends its worker's model, but the compiled code still retains
/// and releases the model and its parts (seen in `perf`: the `swift_retain` of the model in
/// `WorkerCache.withModel`). A reference count lives in its object's header, so with one model
/// shared by all workers those counts moved between cores on every request. A worker's own
/// copy is written by its own thread only. (Built from a `LoadedModel`, which is validated in
/// full: the file is not read again.) The weights themselves are not copied: they are read-only
/// memory, reached through an unowned reference that no request retains (see `frozen`).
final class WorkerModel {
    /// Reads request bodies in the model's feature order.
    let parser: RequestParser
    /// Reads OIP v2 inference requests (`POST /v2/models/{name}/infer`).
    let inferParser: InferRequestParser
    /// The model's name and version as JSON string literals, for OIP v2's answers.
    let nameAndVersionJSON: QuotedStrings
    /// The model's tag and each feature name as JSON string literals, for the answers.
    let tagJSON: QuotedStrings
    let featureNamesJSON: QuotedStrings
    /// The anomaly threshold, and as a JSON number (the same in every `/reconstruct` answer).
    let threshold: Float
    let thresholdJSON: [UInt8]
    /// `ws*` for window verdicts: the model's, or 1 for a model without one (each row its own window).
    let windowSize: Int
    /// The scaler and network (`FrozenModel`: read-only memory), shared by every worker: one copy
    /// of each model's weights, so a hundred models on two workers read 8 MB, not 16. Unowned and
    /// unsafe so that reading it writes no reference count; the `LoadedModel` that owns it lives
    /// as long as this does (`WorkerCache.Slot.source`).
    unowned(unsafe) let frozen: FrozenModel

    init(_ loaded: LoadedModel) {
        let model = loaded.model
        parser = RequestParser(featureNames: model.featureNames.map { $0 }, maxBatch: loaded.maxBatch)
        inferParser = InferRequestParser(parser)
        nameAndVersionJSON = QuotedStrings([loaded.name, String(loaded.version)])
        tagJSON = QuotedStrings([loaded.tag])
        featureNamesJSON = QuotedStrings(model.featureNames)
        threshold = model.threshold
        let text = JSONOutput(capacity: 64)
        text.number(model.threshold)
        thresholdJSON = text.bytes
        windowSize = model.window?.size ?? 1
        frozen = loaded.frozen
    }
}
