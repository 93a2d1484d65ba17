/// Hyper-parameters of a training run. Every default is the seed tutorial's value, or Keras's
/// default where the seed relies on one (`config/train.json` holds the same values).
public struct TrainingConfiguration: Sendable, Equatable {
    /// Which rows of a labelled file train the model.
    public enum Rows: String, Sendable, Equatable {
        /// Every row, as the seed does.
        case all
        /// Benign rows only (`target == 0`): the N-BaIoT method for anomaly detection.
        case benign
        /// `benign` when the file has a `target` column, `all` otherwise.
        case auto
    }

    /// Seed: `epochs=50`.
    public var epochs: Int = 50
    /// Seed: `batch_size=32`.
    public var batchSize: Int = 32
    /// Seed: `validation_split=0.25`; Keras takes the *last* 25% of rows, before any shuffling.
    public var validationSplit: Double = 0.25
    /// Keras `Adam` default `learning_rate=0.001`.
    public var learningRate: Float = 0.001
    /// Encoder hidden sizes (the decoder mirrors them). Seed: Dense(64), Dense(32).
    public var hidden: [Int] = [64, 32]
    /// Latent size. Seed: Dense(16, activation="tanh").
    public var latent: Int = 16
    /// Seed for initialisation and shuffling.
    public var seed: UInt64 = 42
    /// Keras `fit(shuffle=True)`: training rows are reshuffled every epoch.
    public var shuffle: Bool = true
    public var rows: Rows = .auto
    /// Stop when val_loss has not improved for this many epochs and restore the best weights
    /// (Keras `EarlyStopping(monitor="val_loss", restore_best_weights=True)`); nil disables it, as in the seed.
    public var earlyStoppingPatience: Int? = nil
    /// Threshold calibration rule; N-BaIoT's mean + 1 std by default.
    public var threshold: ThresholdRule = .meanPlusStd(1)

    public init() {}

    /// Refuses values that would make training meaningless or crash.
    public func validate() throws(TrainingError) {
        if epochs < 1 { throw .invalidConfiguration("epochs must be ≥ 1, got \(epochs)") }
        if batchSize < 1 { throw .invalidConfiguration("batch_size must be ≥ 1, got \(batchSize)") }
        if !(validationSplit >= 0 && validationSplit < 1) { throw .invalidConfiguration("validation_split must be in [0, 1), got \(validationSplit)") }
        if !(learningRate > 0 && learningRate.isFinite) { throw .invalidConfiguration("learning_rate must be > 0, got \(learningRate)") }
        if latent < 1 || hidden.contains(where: { $0 < 1 }) { throw .invalidConfiguration("layer sizes must be ≥ 1") }
        if let p = earlyStoppingPatience, p < 1 { throw .invalidConfiguration("early_stopping_patience must be ≥ 1, got \(p)") }
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    case noTargetColumn
    case tooFewRows(have: Int, need: String)
    /// No window up to the bound voted without alarms on `opt`: the best size and its windowed FPR.
    case noQuietWindow(best: Int, rate: Double, searchedUpTo: Int)

    public var description: String {
        switch self {
        case .invalidConfiguration(let m): return "invalid training configuration: \(m)"
        case .noTargetColumn: return "--rows benign needs a 'target' column, and the training file has none"
        case .tooFewRows(let have, let need): return "too few training rows: \(have), need \(need)"
        case let .noQuietWindow(best, rate, upTo):
            return "no window of up to \(upTo) instances votes without false alarms on the opt third; the best, \(best), "
                + "has windowed FPR \(rate) (raise --max-window, or the threshold rule)"
        }
    }
}
