import Glibc
import Foundation

/// One epoch's numbers, as Keras prints them.
public struct EpochResult: Sendable, Equatable {
    public var epoch: Int
    public var epochs: Int
    /// Mean per-sample training loss over the epoch (Keras's running mean, weighted by batch size).
    public var loss: Double
    public var valLoss: Double?
    public var seconds: Double
}

/// What the trainer reports while it runs.
public enum TrainingEvent: Sendable {
    /// A batch finished: `batch` of `batches` in `epoch`, with the epoch's running loss.
    case batch(epoch: Int, batch: Int, batches: Int, loss: Double)
    case epochEnd(EpochResult)
    case earlyStop(epoch: Int, bestEpoch: Int)
}

/// `autoencoder.fit(x, x, epochs, batch_size, validation_split)` on a labelled table, then the
/// threshold calibration. Deterministic for a seed: same data and seed give bit-identical weights.
public struct Trainer: Sendable {
    public var configuration: TrainingConfiguration

    public init(configuration: TrainingConfiguration) {
        self.configuration = configuration
    }

    public struct Result: Sendable {
        public var model: TrainedModel
        public var history: [EpochResult]
    }

    public func fit(_ table: FeatureTable, dataSHA256: String = "", progress: (TrainingEvent) -> Void = { _ in }) throws(TrainingError) -> Result {
        let config = configuration
        try config.validate()
        BLAS.useOneThread()

        // Which rows train.
        var rowsMode = config.rows
        if rowsMode == .auto { rowsMode = table.targets == nil ? .all : .benign }
        var data = table
        if rowsMode == .benign {
            guard let targets = table.targets else { throw .noTargetColumn }
            data = table.selecting(rows: targets.indices.filter { targets[$0] == 0 })
        }
        let total = data.rowCount
        let n = data.columnCount
        // Keras `train_validation_split`: split_at = floor(N · (1 − validation_split)); the last rows validate.
        let splitAt = Int((Double(total) * (1 - config.validationSplit)).rounded(.down))
        guard splitAt >= 1 else { throw .tooFewRows(have: total, need: "at least one training row after the validation split") }
        let valRows = total - splitAt

        // The seed fits the scaler on every (selected) row, before Keras splits off validation.
        let scaler = MinMaxScaler(fitting: data.values, columns: n)
        var x = scaler.transform(data.values)
        let labels = data.targets
        data.values = []   // the raw copy is no longer needed: keep peak memory down

        var network = Autoencoder(inputSize: n, hidden: config.hidden, latent: config.latent, seed: config.seed)
        var adam = AdamOptimizer(for: network, learningRate: config.learningRate)
        let batch = min(config.batchSize, splitAt)
        var ws = Workspace(for: network, capacity: max(batch, 256))
        var grads = Gradients(for: network)
        var batchX = [Float](repeating: 0, count: batch * n)
        var order = Array(0..<splitAt)
        // Shuffling uses its own stream, so changing the architecture does not change the batches.
        var shuffleRNG = SplitMix64(seed: config.seed ^ 0x5EED_5EED_5EED_5EED)
        var valErrors = [Float](repeating: 0, count: valRows)

        var history: [EpochResult] = []
        var best: (loss: Double, epoch: Int, network: Autoencoder)? = nil
        var sinceBest = 0
        let batches = (splitAt + batch - 1) / batch

        for epoch in 1...config.epochs {
            let start = DispatchTime.now().uptimeNanoseconds
            if config.shuffle { order.shuffle(using: &shuffleRNG) }
            var lossSum = 0.0
            var seen = 0
            x.withUnsafeBufferPointer { xs in
                for b in 0..<batches {
                    let lo = b * batch, hi = min(lo + batch, splitAt)
                    let rows = hi - lo
                    batchX.withUnsafeMutableBufferPointer { bx in
                        for (k, i) in order[lo..<hi].enumerated() {
                            (bx.baseAddress! + k * n).update(from: xs.baseAddress! + i * n, count: n)
                        }
                        network.forward(bx.baseAddress!, rows: rows, through: network.layers.count - 1, workspace: &ws, product: .batched)
                        let loss = network.backward(bx.baseAddress!, rows: rows, workspace: &ws, gradients: &grads)
                        lossSum += Double(loss) * Double(rows)
                        seen += rows
                    }
                    adam.step(&network, grads)
                    progress(.batch(epoch: epoch, batch: b + 1, batches: batches, loss: lossSum / Double(seen)))
                }
            }
            var valLoss: Double? = nil
            if valRows > 0 {
                x.withUnsafeBufferPointer { xs in
                    let v = UnsafeBufferPointer(rebasing: xs[(splitAt * n)...])
                    valErrors.withUnsafeMutableBufferPointer { network.reconstruct(v, reconstruction: nil, errors: $0, workspace: &ws, product: .batched) }
                }
                valLoss = valErrors.reduce(0.0) { $0 + Double($1) } / Double(valRows)
            }
            let result = EpochResult(epoch: epoch, epochs: config.epochs, loss: lossSum / Double(seen), valLoss: valLoss,
                                     seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            history.append(result)
            progress(.epochEnd(result))

            if let patience = config.earlyStoppingPatience {
                let monitored = valLoss ?? result.loss
                if best == nil || monitored < best!.loss {
                    best = (monitored, epoch, network)
                    sinceBest = 0
                } else {
                    sinceBest += 1
                    if sinceBest >= patience {
                        progress(.earlyStop(epoch: epoch, bestEpoch: best!.epoch))
                        break
                    }
                }
            }
        }
        var bestEpoch = history.count
        if let best { network = best.network; bestEpoch = best.epoch }

        // Threshold: per-sample errors of the benign validation rows (all validation rows when
        // unlabelled; the training rows when there is no validation split).
        var calibration = Array(splitAt..<total)
        if let labels { calibration = calibration.filter { labels[$0] == 0 } }
        if calibration.isEmpty { calibration = Array(0..<splitAt).filter { labels?[$0] ?? 0 == 0 } }
        if calibration.isEmpty { calibration = Array(0..<splitAt) }
        var calX = [Float](); calX.reserveCapacity(calibration.count * n)
        for i in calibration { calX.append(contentsOf: x[(i * n)..<((i + 1) * n)]) }
        x = []
        var calErrors = [Float](repeating: 0, count: calibration.count)
        calX.withUnsafeBufferPointer { cx in
            calErrors.withUnsafeMutableBufferPointer { network.reconstruct(cx, reconstruction: nil, errors: $0, workspace: &ws) }
        }
        let threshold = config.threshold.threshold(calErrors)

        let kept = history[bestEpoch - 1]
        let summary = TrainingSummary(
            epochsRun: history.count, finalLoss: kept.loss, finalValLoss: kept.valLoss, bestEpoch: bestEpoch,
            trainRows: splitAt, validationRows: valRows, rows: rowsMode.rawValue, seed: config.seed,
            batchSize: config.batchSize, learningRate: Double(config.learningRate.description) ?? Double(config.learningRate), dataSHA256: dataSHA256,
            date: ISO8601DateFormatter().string(from: Date()), thresholdRows: calibration.count)
        let model = TrainedModel(network: network, featureNames: data.featureNames, scaler: scaler,
                                 threshold: threshold, thresholdRule: config.threshold, training: summary)
        return Result(model: model, history: history)
    }
}
