/// How well a threshold on reconstruction error separates attacks from benign traffic.
/// Positive = attack (`target != 0`), predicted positive = `mse > threshold`.
public struct DetectionReport: Sendable, Equatable, Codable {
    public struct ClassStats: Sendable, Equatable, Codable {
        public var target: Int
        public var rows: Int
        public var meanMSE: Double
        /// Share of this class's rows flagged as anomalies: TPR for an attack class, FPR for benign.
        public var flaggedRate: Double
        enum CodingKeys: String, CodingKey { case target, rows, meanMSE = "mean_mse", flaggedRate = "flagged_rate" }
    }

    public var rows: Int
    public var threshold: Double
    public var truePositives: Int
    public var falsePositives: Int
    public var trueNegatives: Int
    public var falseNegatives: Int
    /// nil when a ratio's denominator is 0 (no attacks, no benign rows, nothing flagged).
    public var tpr: Double?
    public var fpr: Double?
    public var precision: Double?
    public var f1: Double?
    /// nil unless both benign and attack rows are present.
    public var rocAUC: Double?
    public var classes: [ClassStats]

    enum CodingKeys: String, CodingKey {
        case rows, threshold, truePositives = "tp", falsePositives = "fp", trueNegatives = "tn", falseNegatives = "fn"
        case tpr, fpr, precision, f1, rocAUC = "roc_auc", classes
    }

    public init(errors: [Float], targets: [Int], threshold: Float) {
        precondition(errors.count == targets.count)
        var tp = 0, fp = 0, tn = 0, fn = 0
        var perClass: [Int: (rows: Int, sum: Double, flagged: Int)] = [:]
        for (e, t) in zip(errors, targets) {
            let flagged = e > threshold
            switch (t != 0, flagged) {
            case (true, true): tp += 1
            case (true, false): fn += 1
            case (false, true): fp += 1
            case (false, false): tn += 1
            }
            var c = perClass[t] ?? (0, 0, 0)
            c.rows += 1; c.sum += Double(e); c.flagged += flagged ? 1 : 0
            perClass[t] = c
        }
        func ratio(_ a: Int, _ b: Int) -> Double? { b == 0 ? nil : Double(a) / Double(b) }
        rows = errors.count
        self.threshold = Double(threshold)
        truePositives = tp; falsePositives = fp; trueNegatives = tn; falseNegatives = fn
        tpr = ratio(tp, tp + fn)
        fpr = ratio(fp, fp + tn)
        precision = ratio(tp, tp + fp)
        if let p = precision, let r = tpr, p + r > 0 { f1 = 2 * p * r / (p + r) } else { f1 = nil }
        rocAUC = Self.rocAUC(scores: errors, positive: targets.map { $0 != 0 })
        classes = perClass.keys.sorted().map { k in
            let c = perClass[k]!
            return ClassStats(target: k, rows: c.rows, meanMSE: c.sum / Double(c.rows), flaggedRate: Double(c.flagged) / Double(c.rows))
        }
    }

    /// ROC-AUC as the Mann–Whitney U statistic, ties given half credit (what scikit-learn's
    /// `roc_auc_score` equals). O(n log n).
    public static func rocAUC(scores: [Float], positive: [Bool]) -> Double? {
        let pos = positive.filter { $0 }.count
        let neg = positive.count - pos
        guard pos > 0, neg > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSumPositive = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let averageRank = Double(i + j) / 2 + 1
            for k in i...j where positive[order[k]] { rankSumPositive += averageRank }
            i = j + 1
        }
        let u = rankSumPositive - Double(pos) * Double(pos + 1) / 2
        return u / (Double(pos) * Double(neg))
    }
}
