/// Trains a model as N-BaIoT does: on the first third of a device's benign instances (in time
/// order), with the threshold and the window size `ws*` set on the second third (`opt`). The last
/// third is left for testing; the split is recorded in the model.
///
/// Given several devices (the `--global` comparison), it trains one model on every device's first
/// third, sets the threshold over all `opt` thirds together, and takes as `ws*` the smallest
/// window that raises no alarm on any device's `opt` (windows never span two devices).
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
        try fit(devices: [benign], dataSHA256: dataSHA256, progress: progress)
    }

    public func fit(devices: [FeatureTable], dataSHA256: String = "",
                    progress: (TrainingEvent) -> Void = { _ in }) throws(TrainingError) -> Trainer.Result {
        guard maxWindow >= 1 else { throw .invalidConfiguration("the largest window must be ≥ 1, got \(maxWindow)") }
        precondition(!devices.isEmpty)
        var splits: [BenignSplit] = []
        for d in devices { splits.append(try BenignSplit(rows: d.rowCount)) }
        var train = devices[0].selecting(rows: Array(splits[0].train))
        for (d, s) in zip(devices.dropFirst(), splits.dropFirst()) {
            guard d.featureNames == train.featureNames else {
                throw .invalidConfiguration("\(d.source) has other feature columns than \(devices[0].source)")
            }
            train.values += d.selecting(rows: Array(s.train)).values
        }
        train.targets = nil
        var config = configuration
        config.rows = .all
        var result = try Trainer(configuration: config).fit(train, dataSHA256: dataSHA256, progress: progress)
        let optErrors = zip(devices, splits).map { d, s in result.model.reconstructionErrors(d.selecting(rows: Array(s.opt))) }
        let all = optErrors.flatMap { $0 }
        let threshold = config.threshold.threshold(all)
        let flags = optErrors.map { $0.map { $0 > threshold } }
        switch WindowVote.smallestWindowWithoutAlarms(flags, maxWindow: maxWindow) {
        case .found(let size):
            result.model.threshold = threshold
            result.model.training.thresholdRows = all.count
            result.model.window = WindowSettings(size: size, split: devices.count == 1 ? splits[0] : nil,
                                                 optInstanceFPR: Double(flags.joined().filter { $0 }.count) / Double(all.count),
                                                 searchedUpTo: min(maxWindow, flags.map(\.count).min()!))
            return result
        case let .notFound(best, rate, upTo):
            throw .noQuietWindow(best: best, rate: rate, searchedUpTo: upTo)
        }
    }
}
