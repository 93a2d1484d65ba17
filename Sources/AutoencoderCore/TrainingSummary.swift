/// What a model file records about the run that made it.
public struct TrainingSummary: Sendable, Equatable, Codable {
    public var epochsRun: Int
    public var finalLoss: Double
    /// nil when there was no validation split.
    public var finalValLoss: Double?
    /// The epoch (1-based) whose weights were kept (differs from `epochsRun` after early stopping).
    public var bestEpoch: Int
    public var trainRows: Int
    public var validationRows: Int
    /// `all` or `benign`.
    public var rows: String
    public var seed: UInt64
    public var batchSize: Int
    public var learningRate: Double
    /// SHA-256 of the training data file, hex.
    public var dataSHA256: String
    /// ISO 8601.
    public var date: String
    /// Rows the threshold was calibrated on.
    public var thresholdRows: Int

    public init(epochsRun: Int, finalLoss: Double, finalValLoss: Double?, bestEpoch: Int, trainRows: Int, validationRows: Int,
                rows: String, seed: UInt64, batchSize: Int, learningRate: Double, dataSHA256: String, date: String, thresholdRows: Int) {
        self.epochsRun = epochsRun; self.finalLoss = finalLoss; self.finalValLoss = finalValLoss; self.bestEpoch = bestEpoch
        self.trainRows = trainRows; self.validationRows = validationRows; self.rows = rows; self.seed = seed
        self.batchSize = batchSize; self.learningRate = learningRate; self.dataSHA256 = dataSHA256; self.date = date
        self.thresholdRows = thresholdRows
    }

    enum CodingKeys: String, CodingKey {
        case epochsRun = "epochs_run", finalLoss = "final_loss", finalValLoss = "final_val_loss", bestEpoch = "best_epoch"
        case trainRows = "train_rows", validationRows = "validation_rows", rows, seed, batchSize = "batch_size"
        case learningRate = "learning_rate", dataSHA256 = "data_sha256", date, thresholdRows = "threshold_rows"
    }
}
