/// Trains one device's model as N-BaIoT does: on the first third of its benign instances (in
/// time order), with the threshold and the window size `ws*` set on the second third (`opt`).
/// The last third is left for testing; the split is recorded in the model.
public struct DeviceTrainer: Sendable {
    public var configuration: TrainingConfiguration
    /// The largest window `ws*` may be.
    public var maxWindow: Int

    public init(configuration: TrainingConfiguration, maxWindow: Int = 1000) {
        self.configuration = configuration
        self.maxWindow = maxWindow
    }

    /// `benign`: one device's benign rows in time order (any `target` column is ignored: the
    /// file's place says it is benign).
    public func fit(_ benign: FeatureTable, dataSHA256: String = "",
                    progress: (TrainingEvent) -> Void = { _ in }) throws(TrainingError) -> Trainer.Result {
        guard maxWindow >= 1 else { throw .invalidConfiguration("the largest window must be ≥ 1, got \(maxWindow)") }
        let split = try BenignSplit(rows: benign.rowCount)
        var rows = benign
        rows.targets = nil
        var config = configuration
        config.rows = .all
        var result = try Trainer(configuration: config).fit(rows.selecting(rows: Array(split.train)),
                                                            dataSHA256: dataSHA256, progress: progress)
        let optErrors = result.model.reconstructionErrors(rows.selecting(rows: Array(split.opt)))
        let threshold = config.threshold.threshold(optErrors)
        let flags = optErrors.map { $0 > threshold }
        switch WindowVote.smallestWindowWithoutAlarms(flags, maxWindow: maxWindow) {
        case .found(let size):
            let fpr = Double(flags.filter { $0 }.count) / Double(flags.count)
            result.model.threshold = threshold
            result.model.training.thresholdRows = optErrors.count
            result.model.window = WindowSettings(size: size, split: split, optInstanceFPR: fpr,
                                                 searchedUpTo: min(maxWindow, flags.count))
            return result
        case let .notFound(best, rate, upTo):
            throw .noQuietWindow(best: best, rate: rate, searchedUpTo: upTo)
        }
    }
}
