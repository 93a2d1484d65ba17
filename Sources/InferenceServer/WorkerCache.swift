import AutoencoderCore

/// What one worker thread keeps between the requests it answers: for each model it has
/// served, its own `WorkerModel`, that model's request buffers and metrics; and a response
/// buffer. Only its own thread touches it (the shim tells each request which worker runs it),
/// so a request takes no lock for its buffers and writes no reference count that another
/// thread writes too.
final class WorkerCache: @unchecked Sendable {
    /// One model as this worker serves it.
    final class Slot {
        /// The repository's model this slot was built from (compared by identity).
        let source: LoadedModel
        let model: WorkerModel
        var scratch: RequestScratch
        let metrics: RequestRecorder

        init(_ source: LoadedModel, metrics: ServerMetrics) {
            self.source = source
            model = WorkerModel(source)
            scratch = RequestScratch(model.frozen)
            self.metrics = metrics.recorder(model: source.name)
        }
    }

    let output = JSONOutput()
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

    /// The slot of the model named `name`, or of the default model when `name` is nil.
    @inline(__always)
    func slot(_ name: Substring?, in repository: ModelRepository) throws(HTTPError) -> Slot {
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
