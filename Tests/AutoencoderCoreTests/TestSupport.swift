import Foundation
@_exported import TestSupport
@testable import AutoencoderCore

@discardableResult
func writeFile(_ text: String, in dir: URL, name: String = "data.csv") -> String {
    let path = dir.appendingPathComponent(name).path
    try! text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A labelled table whose benign rows lie near a low-dimensional manifold and whose attack
/// rows do not: learnable, but not to zero error.
func generatedTable(rows: Int, features: Int = 12, attackShare: Double = 0.2, seed: UInt64 = 7) -> FeatureTable {
    var rng = SplitMix64(seed: seed)
    let basis = (0..<(3 * features)).map { _ in Double(rng.nextUnitFloat()) * 2 - 1 }
    var values: [Double] = []
    var targets: [Int] = []
    for _ in 0..<rows {
        let attack = Double(rng.nextUnitFloat()) < attackShare
        let z = (0..<3).map { _ in Double(rng.nextUnitFloat()) * 2 - 1 }
        for j in 0..<features {
            let clean = (0..<3).reduce(0.0) { $0 + z[$1] * basis[$1 * features + j] }
            let noise = Double(rng.nextUnitFloat() - 0.5) * 0.05
            values.append(attack ? Double(rng.nextUnitFloat()) * 6 - 3 : clean + noise)
        }
        targets.append(attack ? 1 + Int(rng.next() % 3) : 0)
    }
    return FeatureTable(featureNames: (0..<features).map { "f\($0)" }, values: values, targets: targets, source: "generated")
}

/// The CSV text of a table (features then target).
func csvText(_ t: FeatureTable) -> String {
    var s = (t.featureNames + (t.targets == nil ? [] : ["target"])).joined(separator: ",") + "\n"
    for r in 0..<t.rowCount {
        var cells = (0..<t.columnCount).map { String(t.values[r * t.columnCount + $0]) }
        if let tg = t.targets { cells.append(String(tg[r])) }
        s += cells.joined(separator: ",") + "\n"
    }
    return s
}
