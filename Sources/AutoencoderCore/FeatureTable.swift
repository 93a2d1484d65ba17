/// Rows of raw (unscaled) features as read from a CSV file, with the optional class label.
///
/// Values stay `Double` until they are scaled, because the seed's pipeline (pandas then
/// scikit-learn) scales in float64 and only Keras casts to float32.
public struct FeatureTable: Sendable {
    /// Feature names, in the column order of `values`.
    public var featureNames: [String]
    /// `rowCount × featureNames.count`, row-major, raw units.
    public var values: [Double]
    /// The `target` column (0 = benign, anything else = an attack class), or nil when the file has none.
    public var targets: [Int]?
    /// Each row's time (epoch seconds), when the file has a `timestamp` column.
    public var timestamps: [Double]?
    /// Where the rows came from, for messages.
    public var source: String
    /// Columns of the file that are neither features nor `target` (only when a feature list was imposed).
    public var ignoredColumns: [String]

    public var rowCount: Int { featureNames.isEmpty ? 0 : values.count / featureNames.count }
    public var columnCount: Int { featureNames.count }

    public init(featureNames: [String], values: [Double], targets: [Int]?, source: String, ignoredColumns: [String] = []) {
        precondition(featureNames.isEmpty || values.count % featureNames.count == 0, "values is not rows × columns")
        self.featureNames = featureNames
        self.values = values
        self.targets = targets
        self.source = source
        self.ignoredColumns = ignoredColumns
    }

    /// The rows whose indices are given, in that order.
    public func selecting(rows indices: [Int]) -> FeatureTable {
        let n = columnCount
        var out = [Double]()
        out.reserveCapacity(indices.count * n)
        for i in indices { out.append(contentsOf: values[(i * n)..<((i + 1) * n)]) }
        var table = FeatureTable(featureNames: featureNames, values: out, targets: targets.map { t in indices.map { t[$0] } },
                                 source: source, ignoredColumns: ignoredColumns)
        table.timestamps = timestamps.map { t in indices.map { t[$0] } }
        return table
    }
}
