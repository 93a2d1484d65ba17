/// The 115 N-BaIoT feature names, in the order of the dataset's files
/// (`demonstrate_structure.csv`): for each group, for each λ, its statistics.
/// Magnitude comes before radius here, unlike Kitsune-py's own header.
public enum FeatureNames {
    /// Decay factors, in column order. A statistic decays by 2^(−λ·Δt).
    public static let lambdas: [Double] = [5, 3, 1, 0.1, 0.01]
    static let lambdaLabels = ["5", "3", "1", "0.1", "0.01"]

    public static let oneDimensional = ["weight", "mean", "variance"]
    public static let twoDimensional = ["weight", "mean", "std", "magnitude", "radius", "covariance", "pcc"]

    public static let all: [String] = {
        func group(_ prefix: String, _ stats: [String]) -> [String] {
            lambdaLabels.flatMap { l in stats.map { "\(prefix)_L\(l)_\($0)" } }
        }
        return group("MI_dir", oneDimensional) + group("H", oneDimensional) + group("HH", twoDimensional)
            + group("HH_jit", oneDimensional) + group("HpHp", twoDimensional)
    }()

    public static let count = 115
}
