/// Why a CSV file was refused. The description names the file, the line and the column.
public struct CSVError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case cannotOpen(reason: String)
        case emptyFile
        case noHeader
        case emptyColumnName(index: Int)
        case duplicateColumn(String)
        case missingFeatures([String])
        case noFeatureColumns
        case fieldCount(expected: Int, found: Int)
        case notNumeric(String)
        case nonFinite(String)
        case badTarget(String)
        case noRows
    }

    public var kind: Kind
    public var file: String
    /// 1-based line number, when the fault is on one line.
    public var line: Int?
    /// The column's name (or its 1-based index when it has none).
    public var column: String?

    public init(_ kind: Kind, file: String, line: Int? = nil, column: String? = nil) {
        self.kind = kind
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let column { place += ": column '\(column)'" }
        let what: String
        switch kind {
        case .cannotOpen(let reason): what = "cannot open: \(reason)"
        case .emptyFile: what = "the file is empty"
        case .noHeader: what = "no header row: the first line holds numbers, not column names"
        case .emptyColumnName(let index): what = "column \(index) has an empty name"
        case .duplicateColumn(let name): what = "column '\(name)' appears more than once"
        case .missingFeatures(let names):
            let shown = names.prefix(5).joined(separator: ", ")
            what = "missing \(names.count) feature column(s): \(shown)\(names.count > 5 ? ", …" : "")"
        case .noFeatureColumns: what = "no feature columns (only 'target')"
        case .fieldCount(let expected, let found): what = "expected \(expected) fields, found \(found)"
        case .notNumeric(let cell): what = "'\(cell)' is not a number"
        case .nonFinite(let cell): what = "'\(cell)' is not finite (NaN and Inf are refused)"
        case .badTarget(let cell): what = "target '\(cell)' is not a whole number"
        case .noRows: what = "the file has a header but no data rows"
        }
        return "\(place): \(what)"
    }
}
