import AutoencoderCore

/// What one worker thread keeps between the requests it answers: for each model it has
/// served, its own `WorkerModel` and that model's metrics; the request buffers; and a response
/// buffer. Only its own thread touches it (the shim tells each request which worker runs it),
/// so a request takes no lock for its buffers and writes no reference count that another
/// thread writes too.
final class WorkerCache: @unchecked Sendable {
    /// One model as this worker serves it.
    final class Slot {
        /// The repository's model this slot was built from (compared by identity).
        let source: LoadedModel
        let model: WorkerModel
        let metrics: RequestRecorder

        init(_ source: LoadedModel, metrics: ServerMetrics) {
            self.source = source
            model = WorkerModel(source)
            self.metrics = metrics.recorder(model: source.name)
        }
    }

    let output = JSONOutput()
    /// The request buffers, for whichever model the request is for (`RequestScratch.fit`).
    var scratch: RequestScratch? = nil
    /// For requests that name no model (probes, metrics, errors before a model is found).
    let metrics: RequestRecorder
    /// The recorder of the request being answered: `metrics`, or its model's. Set by `route`.
    var recorder: RequestRecorder
    private let serverMetrics: ServerMetrics
    /// The repository's `generation` that `models` and `slots` reflect.
    private var generation = -1
    /// The repository's models as of `generation`.
    private(set) var models: [String: LoadedModel] = [:]
    private var slots: [String: Slot] = [:]
    /// The unnamed routes' model, once found for this generation.
    private var defaultSlot: Slot?

    init(metrics: ServerMetrics) {
        serverMetrics = metrics
        self.metrics = metrics.recorder(model: nil)
        recorder = self.metrics
    }

    /// Brings `models` up to the repository's generation, dropping the slots of models that
    /// changed or left (a request still holding one finishes with it).
    @inline(__always)
    func refresh(from repository: ModelRepository) {
        let g = repository.generation.load(ordering: .acquiring)
        guard g != generation else { return }
        models = repository.models
        slots = slots.filter { models[$0.key] === $0.value.source }
        defaultSlot = nil
        generation = g
    }

    /// The slot of the model named `name`, or of the default model when `name` is nil, with
    /// `scratch` fitted to it.
    @inline(__always)
    func slot(_ name: Substring?, in repository: ModelRepository) throws(HTTPError) -> Slot {
        let s = try find(name, in: repository)
        if scratch == nil { scratch = RequestScratch(s.model.frozen) } else { scratch!.fit(s.model.frozen) }
        return s
    }

    /// After a request: a big batch's buffers are not kept.
    @inline(__always)
    func releaseLargeBuffers(_ slot: Slot) {
        if let s = scratch, !s.isSmall { scratch = RequestScratch(slot.model.frozen) }
    }

    @inline(__always)
    private func find(_ name: Substring?, in repository: ModelRepository) throws(HTTPError) -> Slot {
        refresh(from: repository)
        if let name {
            let key = String(name)
            if let s = slots[key] { return s }
            guard let m = models[key] else { throw HTTPError.noSuchModel(key) }
            let s = Slot(m, metrics: serverMetrics)
            slots[key] = s
            return s
        }
        if let defaultSlot { return defaultSlot }
        let m = try repository.defaultModel(in: models).get()
        let s = slots[m.name] ?? Slot(m, metrics: serverMetrics)
        slots[m.name] = s
        defaultSlot = s
        return s
    }
}
