/// N-BaIoT's split of one device's benign instances, in time order, into thirds: the first trains
/// (Keras's validation split is taken from its end, as in any training), the second (`opt`) sets
/// the threshold and the window size, the last is held out for testing.
///
/// Thirds are `⌊n/3⌋`, `⌊n/3⌋` and the rest, so the test third takes the one or two rows over.
public struct BenignSplit: Sendable, Equatable, Codable {
    /// Each third needs this many rows: below it, the threshold and `ws*` rest on too few instances
    /// to mean anything.
    public static let minimumRowsPerThird = 100

    public var train: Range<Int>
    public var opt: Range<Int>
    public var test: Range<Int>

    public init(rows n: Int) throws(TrainingError) {
        let third = n / 3
        guard third >= Self.minimumRowsPerThird else {
            throw .tooFewRows(have: n, need: "at least \(3 * Self.minimumRowsPerThird) benign rows to cut into thirds of \(Self.minimumRowsPerThird) (train, opt, test)")
        }
        train = 0..<third
        opt = third..<(2 * third)
        test = (2 * third)..<n
    }

    enum CodingKeys: String, CodingKey { case train, opt, test }

    // Ranges as [lower, upper) pairs: plain JSON for readers in other languages.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func range(_ k: CodingKeys) throws -> Range<Int> {
            let p = try c.decode([Int].self, forKey: k)
            guard p.count == 2, p[0] >= 0, p[0] <= p[1] else {
                throw DecodingError.dataCorruptedError(forKey: k, in: c, debugDescription: "expected [lower, upper]")
            }
            return p[0]..<p[1]
        }
        train = try range(.train); opt = try range(.opt); test = try range(.test)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode([train.lowerBound, train.upperBound], forKey: .train)
        try c.encode([opt.lowerBound, opt.upperBound], forKey: .opt)
        try c.encode([test.lowerBound, test.upperBound], forKey: .test)
    }
}
