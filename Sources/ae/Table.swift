import Foundation

/// A plain text table: columns padded to their widest cell, numbers right-aligned.
struct Table {
    var header: [String]
    var rows: [[String]]

    var text: String {
        let widths = header.indices.map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max()! }
        func line(_ cells: [String], alignNumbers: Bool) -> String {
            cells.enumerated().map { c, s in
                let pad = String(repeating: " ", count: widths[c] - s.count)
                let numeric = alignNumbers && c > 0 && (s.first.map { $0.isNumber || $0 == "-" } ?? false)
                return numeric ? pad + s : s + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        return ([line(header, alignNumbers: false)] + rows.map { line($0, alignNumbers: true) }).joined(separator: "\n")
    }
}
