import Glibc
import NumberText

/// Reads N-BaIoT feature files: the Kaggle form (115 named features plus `target`) and the
/// UCI per-class form (features only).
///
/// Columns are matched by name, never by position. The file is streamed in fixed-size chunks,
/// so peak memory is the parsed rows plus one chunk, not the file's size.
public struct CSVReader: Sendable {
    /// The label column's name. It is never a feature, wherever it stands.
    public static let targetColumn = "target"
    /// An optional column of packet times (epoch seconds), never a feature either: `ae synth
    /// --fleet` writes it so that detection delays are in seconds. The UCI files have none.
    public static let timestampColumn = "timestamp"

    /// Features to take, in this order; nil means every column but `target`, in file order.
    public var features: [String]?
    /// Bytes read per `read(2)`.
    public var chunkSize: Int = 1 << 20

    public init(features: [String]? = nil) {
        self.features = features
    }

    /// Reads the whole file. Every fault is a `CSVError` naming the file, line and column.
    public func read(path: String) throws(CSVError) -> FeatureTable {
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw CSVError(.cannotOpen(reason: String(cString: strerror(errno))), file: path) }
        defer { close(fd) }
        var state = ParseState(path: path, wanted: features)
        // One extra byte past the data is always a sentinel '\n', so the number parser can look one past a token.
        var buffer = [UInt8](repeating: 0, count: chunkSize + 1)
        var filled = 0
        var eof = false
        while !eof {
            let n = buffer.withUnsafeMutableBufferPointer { p in Glibc.read(fd, p.baseAddress! + filled, chunkSize - filled) }
            if n < 0 { throw CSVError(.cannotOpen(reason: String(cString: strerror(errno))), file: path) }
            if n == 0 { eof = true }
            filled += n
            let consumed = try buffer.withUnsafeMutableBufferPointer { (p) throws(CSVError) -> Int in
                try state.consume(p.baseAddress!, filled, final: eof)
            }
            if consumed < filled {
                buffer.withUnsafeMutableBufferPointer { p in
                    _ = memmove(p.baseAddress!, p.baseAddress! + consumed, filled - consumed)
                }
            }
            filled -= consumed
            if !eof && filled == chunkSize {
                // One line longer than a whole chunk: start again with chunks twice as large.
                return try CSVReader(features: features, chunkSize: chunkSize * 2).read(path: path)
            }
        }
        return try state.finish()
    }

    private init(features: [String]?, chunkSize: Int) {
        self.features = features
        self.chunkSize = chunkSize
    }
}

/// The streaming state: header mapping, then rows.
private struct ParseState {
    let path: String
    let wanted: [String]?
    var line = 0
    var header: [String]?
    /// For each file column: the feature slot it fills, -1 for target, -2 to ignore, -3 for the timestamp.
    var slots: [Int] = []
    var featureNames: [String] = []
    var ignored: [String] = []
    var hasTarget = false
    var hasTimestamp = false
    var values: [Double] = []
    var targets: [Int] = []
    var timestamps: [Double] = []
    var row: [Double] = []
    var bom = true

    init(path: String, wanted: [String]?) {
        self.path = path
        self.wanted = wanted
    }

    /// Parses every complete line in `base[0..<count]`; returns how many bytes were used.
    mutating func consume(_ base: UnsafeMutablePointer<UInt8>, _ count: Int, final: Bool) throws(CSVError) -> Int {
        base[count] = UInt8(ascii: "\n")   // sentinel (the buffer has one spare byte)
        var start = 0
        if bom, count >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF { start = 3 }
        if count > 0 { bom = false }
        while start < count {
            guard let nl = memchr(base + start, Int32(UInt8(ascii: "\n")), count - start) else {
                if !final { return start }
                try handleLine(base, start, count)
                return count
            }
            let end = UnsafeMutablePointer<UInt8>(nl.assumingMemoryBound(to: UInt8.self)) - base
            try handleLine(base, start, end)
            start = end + 1
        }
        return start
    }

    mutating func handleLine(_ base: UnsafeMutablePointer<UInt8>, _ start: Int, _ rawEnd: Int) throws(CSVError) {
        line += 1
        var end = rawEnd
        if end > start, base[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        if header == nil {
            if end == start { throw CSVError(.emptyFile, file: path, line: line) }
            try readHeader(splitHeader(base, start, end))
            return
        }
        if end == start { return }  // blank lines (e.g. a trailing one) carry no row
        try readRow(base, start, end)
    }

    func splitHeader(_ base: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int) -> [String] {
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self)
        return text.split(separator: ",", omittingEmptySubsequences: false).map { field in
            var s = field.trimmingSpaces()
            if s.count >= 2, s.first == "\"", s.last == "\"" { s = String(s.dropFirst().dropLast()) }
            return s
        }
    }

    mutating func readHeader(_ names: [String]) throws(CSVError) {
        // A header made of numbers is a data row: the file has no header.
        var numeric = 0
        for name in names where !name.isEmpty {
            if case .value = DecimalParser.parse(name) { numeric += 1 }
        }
        if numeric == names.count { throw CSVError(.noHeader, file: path, line: line) }
        // pandas' `to_csv` writes its index as an unnamed first column ("" or, once re-read and
        // saved, "Unnamed: 0"): that column is an index, not a feature.
        let indexColumn = names.first.map { $0.isEmpty || $0 == "Unnamed: 0" } ?? false
        var seen = Set<String>()
        for (i, name) in names.enumerated() where !(i == 0 && indexColumn) {
            if name.isEmpty { throw CSVError(.emptyColumnName(index: i + 1), file: path, line: line, column: "#\(i + 1)") }
            if !seen.insert(name).inserted { throw CSVError(.duplicateColumn(name), file: path, line: line, column: name) }
        }
        header = names
        hasTarget = seen.contains(CSVReader.targetColumn)
        hasTimestamp = seen.contains(CSVReader.timestampColumn)
        func special(_ n: String) -> Int? { n == CSVReader.targetColumn ? -1 : (n == CSVReader.timestampColumn ? -3 : nil) }
        if let wanted {
            var index = [String: Int]()
            for (i, n) in wanted.enumerated() { index[n] = i }
            let missing = wanted.filter { !seen.contains($0) }
            if !missing.isEmpty { throw CSVError(.missingFeatures(missing), file: path, line: line) }
            featureNames = wanted
            slots = names.enumerated().map { i, n in i == 0 && indexColumn ? -2 : (special(n) ?? index[n] ?? -2) }
            ignored = names.enumerated().filter { i, n in (i == 0 && indexColumn) || (special(n) == nil && index[n] == nil) }
                .map { i, n in n.isEmpty ? "#1 (index)" : n }
        } else {
            var k = 0
            slots = names.enumerated().map { i, n in
                if i == 0 && indexColumn { return -2 }
                if let s = special(n) { return s }
                defer { k += 1 }
                return k
            }
            featureNames = names.enumerated().filter { i, n in !(i == 0 && indexColumn) && special(n) == nil }.map(\.element)
            if indexColumn { ignored = [names[0].isEmpty ? "#1 (index)" : names[0]] }
            if featureNames.isEmpty { throw CSVError(.noFeatureColumns, file: path, line: line) }
        }
        row = [Double](repeating: 0, count: featureNames.count)
    }

    mutating func readRow(_ base: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int) throws(CSVError) {
        let expected = slots.count
        var field = 0
        var p = start
        var target = 0
        var time = 0.0
        while true {
            var q = p
            while q < end, base[q] != UInt8(ascii: ",") { q += 1 }
            if field >= expected { throw CSVError(.fieldCount(expected: expected, found: countFields(base, start, end)), file: path, line: line) }
            let slot = slots[field]
            if slot != -2 {
                // Trim spaces and one pair of quotes.
                var a = p, b = q
                while a < b, base[a] == 32 || base[a] == 9 { a += 1 }
                while b > a, base[b - 1] == 32 || base[b - 1] == 9 { b -= 1 }
                if b - a >= 2, base[a] == 34, base[b - 1] == 34 { a += 1; b -= 1 }
                let saved = base[b]
                base[b] = UInt8(ascii: ",")   // the parser may look one byte past the token
                let parsed = DecimalParser.parse(UnsafePointer(base), a, b)
                base[b] = saved
                switch parsed {
                case .value(let v):
                    if slot >= 0 {
                        row[slot] = v
                    } else if slot == -3 {
                        time = v
                    } else {
                        guard v == v.rounded(), abs(v) < 1e15 else { throw cellError(.badTarget(cell(base, a, b)), field) }
                        target = Int(v)
                    }
                case .notNumeric:
                    throw cellError(slot >= 0 ? .notNumeric(cell(base, a, b)) : .badTarget(cell(base, a, b)), field)
                case .nonFinite:
                    throw cellError(.nonFinite(cell(base, a, b)), field)
                }
            }
            field += 1
            if q >= end { break }
            p = q + 1
        }
        if field != expected { throw CSVError(.fieldCount(expected: expected, found: field), file: path, line: line) }
        values.append(contentsOf: row)
        if hasTarget { targets.append(target) }
        if hasTimestamp { timestamps.append(time) }
    }

    func cellError(_ kind: CSVError.Kind, _ field: Int) -> CSVError {
        CSVError(kind, file: path, line: line, column: header![field])
    }

    func cell(_ base: UnsafeMutablePointer<UInt8>, _ a: Int, _ b: Int) -> String {
        let s = String(decoding: UnsafeBufferPointer(start: base + a, count: min(b - a, 40)), as: UTF8.self)
        return b - a > 40 ? s + "…" : s
    }

    func countFields(_ base: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var n = 1
        for i in start..<end where base[i] == UInt8(ascii: ",") { n += 1 }
        return n
    }

    func finish() throws(CSVError) -> FeatureTable {
        if header == nil { throw CSVError(.emptyFile, file: path) }
        if values.isEmpty { throw CSVError(.noRows, file: path) }
        var table = FeatureTable(featureNames: featureNames, values: values, targets: hasTarget ? targets : nil,
                                 source: path, ignoredColumns: ignored)
        if hasTimestamp { table.timestamps = timestamps }
        return table
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
