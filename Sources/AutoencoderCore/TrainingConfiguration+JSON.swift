import Foundation

extension TrainingConfiguration {
    /// Every key `config/train.json` may hold. An unknown key is an error, so a typo never
    /// silently trains with a default.
    public static let jsonKeys: Set<String> = [
        "epochs", "batch_size", "validation_split", "learning_rate", "hidden", "latent", "seed",
        "shuffle", "rows", "early_stopping_patience", "threshold",
    ]

    /// Reads a training configuration file; keys absent from the file keep their defaults.
    public init(jsonFile path: String) throws(TrainingError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw .invalidConfiguration("\(path): cannot read the file") }
        guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
            throw .invalidConfiguration("\(path): not a JSON object")
        }
        self.init()
        let unknown = Set(dict.keys).subtracting(Self.jsonKeys)
        if !unknown.isEmpty { throw .invalidConfiguration("\(path): unknown key(s) \(unknown.sorted().joined(separator: ", ")); known: \(Self.jsonKeys.sorted().joined(separator: ", "))") }
        // Decoding through Codable keeps types strict (a string or a bool is never taken for a number).
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch let DecodingError.typeMismatch(_, ctx) {
            throw .invalidConfiguration("\(path): '\(ctx.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type (\(ctx.debugDescription))")
        } catch {
            throw .invalidConfiguration("\(path): \(error)")
        }
        if let v = file.epochs { epochs = v }
        if let v = file.batch_size { batchSize = v }
        if let v = file.validation_split { validationSplit = v }
        if let v = file.learning_rate { learningRate = Float(v) }
        if let v = file.latent { latent = v }
        if let v = file.hidden { hidden = v }
        if let v = file.seed { seed = v }
        if let v = file.shuffle { shuffle = v }
        if let v = file.rows {
            guard let r = Rows(rawValue: v) else { throw .invalidConfiguration("\(path): 'rows' must be all, benign or auto") }
            rows = r
        }
        if let v = file.early_stopping_patience { earlyStoppingPatience = v == 0 ? nil : v }
        if let v = file.threshold {
            guard let r = ThresholdRule(v) else { throw .invalidConfiguration("\(path): 'threshold' must be mean+std, mean+Kstd or pQ (e.g. p99)") }
            threshold = r
        }
        try validate()
    }

    /// The file's shape; every key optional.
    private struct File: Decodable {
        var epochs: Int?, batch_size: Int?, validation_split: Double?, learning_rate: Double?
        var hidden: [Int]?, latent: Int?, seed: UInt64?, shuffle: Bool?, rows: String?
        var early_stopping_patience: Int?, threshold: String?
    }
}
