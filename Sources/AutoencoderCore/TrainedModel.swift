/// Everything needed to serve: the network, the feature order, the scaler fitted on the
/// training rows, the anomaly threshold and how the model was made. This is what a
/// `.safetensors` model file holds.
public struct TrainedModel: Sendable, Equatable {
    public var network: Autoencoder
    /// Input features, in the network's order.
    public var featureNames: [String]
    public var scaler: MinMaxScaler
    /// Per-sample MSE (scaled space) above which a sample is an anomaly.
    public var threshold: Float
    public var thresholdRule: ThresholdRule
    public var training: TrainingSummary
    /// Window voting, for a model trained on one device's benign thirds (`DeviceTrainer`).
    public var window: WindowSettings?

    public init(network: Autoencoder, featureNames: [String], scaler: MinMaxScaler, threshold: Float,
                thresholdRule: ThresholdRule, training: TrainingSummary, window: WindowSettings? = nil) {
        precondition(featureNames.count == network.inputSize && scaler.featureCount == network.inputSize)
        self.network = network
        self.featureNames = featureNames
        self.scaler = scaler
        self.threshold = threshold
        self.thresholdRule = thresholdRule
        self.training = training
        self.window = window
    }

    /// Scales a table (matched by name already) and returns its per-row reconstruction errors.
    /// Rows are scaled a chunk at a time into one reused buffer: no copy of the whole table.
    public func reconstructionErrors(_ table: FeatureTable) -> [Float] {
        let n = network.inputSize, chunk = 256
        var errors = [Float](repeating: 0, count: table.rowCount)
        var ws = Workspace(for: network, capacity: chunk)
        var scaled = [Float](repeating: 0, count: chunk * n)
        table.values.withUnsafeBufferPointer { values in
            errors.withUnsafeMutableBufferPointer { e in
                scaled.withUnsafeMutableBufferPointer { x in
                    var r = 0
                    while r < table.rowCount {
                        let b = min(chunk, table.rowCount - r)
                        scaler.transform(UnsafeBufferPointer(rebasing: values[(r * n)..<((r + b) * n)]),
                                         into: UnsafeMutableBufferPointer(rebasing: x[0..<(b * n)]))
                        network.reconstruct(UnsafeBufferPointer(rebasing: x[0..<(b * n)]), reconstruction: nil,
                                            errors: UnsafeMutableBufferPointer(rebasing: e[r..<(r + b)]), workspace: &ws)
                        r += b
                    }
                }
            }
        }
        return errors
    }

    /// Latent codes, `rows × latentSize`.
    public func encode(_ table: FeatureTable) -> [Float] {
        let scaled = scaler.transform(table.values)
        var out = [Float](repeating: 0, count: table.rowCount * network.latentSize)
        var ws = Workspace(for: network, capacity: 256)
        scaled.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { network.encode(x, into: $0, workspace: &ws) } }
        return out
    }
}
