import AutoencoderCore
import Glibc
import NumberText

/// The shape of a parsed request body; its values went into the caller's buffer.
struct ParsedRows {
    var rows: Int
    /// `instances` form: the answer is a list.
    var batched: Bool
    /// `"window": true` (with `instances`): also vote over the rows in order, as `ae evaluate` does.
    var window = false
}

/// Why a request body was refused (always a 400).
struct RequestError: Error {
    var message: String
    init(_ m: String) { message = m }
}

/// A strict (RFC 8259) parser for the three request forms, straight from the body's bytes:
///
///     {"features": [x1, …, xn]}
///     {"features": {"name": x, …}}          every name required, no unknown names
///     {"instances": [row, row, …]}          each row an array or an object, 1…max_batch rows
///     {"instances": […], "window": true}    also a window verdict over the rows in order
///
/// Nesting is fixed by this grammar, so depth is bounded; numbers must be JSON numbers, finite,
/// and within Float's range. The byte just past the body must be readable and not part of a
/// number (the shim ends every body with a NUL): `strtod`, for the rare numbers that need it,
/// stops there.
struct RequestParser {
    /// The model's features, in its order.
    let featureNames: [String]
    let maxBatch: Int
    /// The names by their bytes, for the named form's keys.
    private let names: NameTable
    /// `featureNames.count`, kept at hand for the per-number loops.
    let featureCount: Int
    /// Whether the AVX-512 number kernel runs here (asked once, not once per number).
    private let numberKernel = DecimalParser.hasKernel

    init(featureNames: [String], maxBatch: Int) {
        self.featureNames = featureNames
        featureCount = featureNames.count
        self.maxBatch = maxBatch
        names = NameTable(featureNames)
    }

    /// Parses `body` into `values` (replaced: `rows × featureCount`, raw client units, in the
    /// model's feature order). `values` is a reused buffer, so its capacity is kept.
    func parse(_ body: UnsafeBufferPointer<UInt8>, into values: inout [Double]) throws(RequestError) -> ParsedRows {
        values.removeAll(keepingCapacity: true)
        var c = Cursor(base: body.baseAddress ?? Self.empty, end: body.count)
        return try parseTop(&c, &values)
    }

    private static let features: StaticString = "features"
    private static let instances: StaticString = "instances"

    /// An empty body's bytes: its NUL. Written once, never mutated.
    nonisolated(unsafe) private static let empty: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    struct Cursor {
        let base: UnsafePointer<UInt8>
        let end: Int
        var i = 0
        init(base: UnsafePointer<UInt8>, end: Int) { self.base = base; self.end = end }

        @inline(__always) mutating func skipSpace() {
            while i < end, base[i] == 0x20 || base[i] == 0x0A || base[i] == 0x0D || base[i] == 0x09 { i += 1 }
        }
        @inline(__always) func peek() -> UInt8? { i < end ? base[i] : nil }
        mutating func expect(_ ch: UInt8, _ what: String) throws(RequestError) {
            skipSpace()
            guard i < end, base[i] == ch else { throw RequestError("malformed JSON at byte \(i): expected \(what)") }
            i += 1
        }
        /// After an element of an array or object: true at its closing `close`, false at a
        /// comma (either consumed); anything else is an error, `context` saying where.
        @inline(__always)
        mutating func endOfElement(_ close: UInt8, _ context: @autoclosure () -> String) throws(RequestError) -> Bool {
            skipSpace()
            if i < end, base[i] == close { i += 1; return true }
            if i < end, base[i] == UInt8(ascii: ",") { i += 1; return false }
            throw separatorError(close, context())
        }
        private func separatorError(_ close: UInt8, _ context: String) -> RequestError {
            i == end ? RequestError("malformed JSON: unexpected end of body")
                : RequestError("malformed JSON at byte \(i): expected ',' or '\(Character(Unicode.Scalar(close)))'\(context)")
        }
    }

    private func parseTop(_ c: inout Cursor, _ values: inout [Double]) throws(RequestError) -> ParsedRows {
        c.skipSpace()
        if c.i == c.end { throw RequestError("empty body: expected a JSON object with 'features' or 'instances'") }
        try c.expect(UInt8(ascii: "{"), "'{'")
        var result: ParsedRows? = nil
        var window: Bool? = nil
        c.skipSpace()
        if c.peek() == UInt8(ascii: "}") { throw RequestError("expected 'features' or 'instances'") }
        while true {
            c.skipSpace()
            let key = try parseString(&c)
            try c.expect(UInt8(ascii: ":"), "':'")
            switch key {
            case "features", "instances":
                guard result == nil else { throw RequestError("give exactly one of 'features' and 'instances'") }
                if key == "features" {
                    values.append(contentsOf: repeatElement(0, count: featureCount))
                    try values.withUnsafeMutableBufferPointer { (v) throws(RequestError) in try parseRow(&c, into: v.baseAddress!, label: "features") }
                    result = ParsedRows(rows: 1, batched: false)
                } else {
                    result = try parseInstances(&c, &values)
                }
            case "window":
                guard window == nil else { throw RequestError("'window' is given twice") }
                window = try parseBool(&c, label: "window")
            default:
                throw RequestError("unknown key '\(key.prefix(80))'; expected 'features' or 'instances' (and optionally 'window')")
            }
            if try c.endOfElement(UInt8(ascii: "}"), "") { break }
        }
        c.skipSpace()
        if c.i != c.end { throw RequestError("malformed JSON at byte \(c.i): trailing data after the object") }
        guard var rows = result else { throw RequestError("expected 'features' or 'instances'") }
        if window == true {
            guard rows.batched else { throw RequestError("'window' votes over a batch: send a device's consecutive rows as 'instances'") }
            rows.window = true
        }
        return rows
    }

    /// `true` or `false`, nothing else (not 1, not "true").
    func parseBool(_ c: inout Cursor, label: String) throws(RequestError) -> Bool {
        c.skipSpace()
        for (word, value) in [("true", true), ("false", false)] {
            let bytes = Array(word.utf8)
            if c.end - c.i >= bytes.count, (0..<bytes.count).allSatisfy({ c.base[c.i + $0] == bytes[$0] }) {
                c.i += bytes.count
                return value
            }
        }
        throw RequestError("'\(label)' must be true or false")
    }

    private func parseInstances(_ c: inout Cursor, _ values: inout [Double]) throws(RequestError) -> ParsedRows {
        try c.expect(UInt8(ascii: "["), "'[' after 'instances'")
        var rows = 0
        c.skipSpace()
        if c.peek() == UInt8(ascii: "]") { throw RequestError("'instances' is empty; send 1…\(maxBatch) rows") }
        while true {
            if rows == maxBatch { throw RequestError("'instances' has more than max_batch = \(maxBatch) rows") }
            values.append(contentsOf: repeatElement(0, count: featureCount))
            let start = rows * featureCount
            try values.withUnsafeMutableBufferPointer { (v) throws(RequestError) in
                try parseRow(&c, into: v.baseAddress! + start, label: "instances[\(rows)]")
            }
            rows += 1
            if try c.endOfElement(UInt8(ascii: "]"), " in 'instances'") { break }
        }
        return ParsedRows(rows: rows, batched: true)
    }

    /// One row: an array of exactly `featureCount` numbers, or an object naming every feature.
    private func parseRow(_ c: inout Cursor, into out: UnsafeMutablePointer<Double>, label: String) throws(RequestError) {
        c.skipSpace()
        guard let ch = c.peek() else { throw RequestError("malformed JSON: unexpected end of body") }
        if ch == UInt8(ascii: "[") {
            c.i += 1
            var k = 0
            c.skipSpace()
            if c.peek() == UInt8(ascii: "]") { throw RequestError("\(label): expected \(featureCount) features, got 0") }
            while true {
                if k == featureCount { throw RequestError("\(label): expected \(featureCount) features, got more") }
                // Plain decimals, each followed by a comma, through the AVX-512 kernel where there is
                // one; the one it stops at (at least the last), here.
                let run = numberKernel ? DecimalParser.parseLeading(c.base + c.i, count: c.end - c.i, max: featureCount - k, into: out + k) : (values: 0, bytes: 0)
                if run.values > 0 {
                    k += run.values
                    c.i += run.bytes
                    continue
                }
                out[k] = try parseNumber(&c, label: "\(label)[\(k)]")
                k += 1
                if try c.endOfElement(UInt8(ascii: "]"), " in \(label)") { break }
            }
            if k != featureCount { throw RequestError("\(label): expected \(featureCount) features, got \(k)") }
        } else if ch == UInt8(ascii: "{") {
            c.i += 1
            for k in 0..<featureCount { out[k] = .nan }   // not named yet (a parsed number is never NaN)
            let featureNames = self.featureNames   // (error labels capture this, not all of self)
            var count = 0
            c.skipSpace()
            if c.peek() == UInt8(ascii: "}") { throw RequestError("\(label): no features named; all \(featureCount) are required") }
            while true {
                c.skipSpace()
                let j = try parseName(&c, label: label)
                if !out[j].isNaN { throw RequestError("\(label): feature '\(featureNames[j])' appears twice") }
                try c.expect(UInt8(ascii: ":"), "':'")
                out[j] = try parseNumber(&c, label: "\(label).\(featureNames[j])")
                count += 1
                if try c.endOfElement(UInt8(ascii: "}"), " in \(label)") { break }
            }
            if count != featureCount {
                let missing = featureNames.indices.filter { out[$0].isNaN }.map { featureNames[$0] }
                throw RequestError("\(label): missing \(missing.count) feature(s): \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", …" : "")")
            }
        } else {
            throw RequestError("\(label): expected an array of \(featureCount) numbers or an object of named features")
        }
    }

    /// A JSON number (`DecimalParser`'s JSON grammar), finite and representable as Float.
    @inline(__always)
    func parseNumber(_ c: inout Cursor, label: @autoclosure () -> String) throws(RequestError) -> Double {
        c.skipSpace()
        let start = c.i
        let (result, next) = DecimalParser.scan(c.base, start, c.end, .json)
        switch result {
        case .value(let v):
            c.i = next
            guard abs(v) <= Double(Float.greatestFiniteMagnitude) else {
                throw RequestError("\(label()): \(String(decoding: UnsafeBufferPointer(start: c.base + start, count: min(next - start, 40)), as: UTF8.self)) overflows Float")
            }
            return v
        case .notNumeric where next == start:
            throw notANumber(&c, label())
        case .notNumeric:
            c.i = next
            throw RequestError("\(label()): malformed number")
        case .nonFinite:
            c.i = next
            throw RequestError("\(label()): number overflows Float")
        }
    }

    private func notANumber(_ c: inout Cursor, _ label: String) -> RequestError {
        let rest = String(decoding: UnsafeBufferPointer(start: c.base + c.i, count: min(c.end - c.i, 12)), as: UTF8.self)
        if rest.hasPrefix("NaN") || rest.hasPrefix("Infinity") || rest.hasPrefix("-Infinity") {
            return RequestError("\(label): NaN and Infinity are not valid JSON numbers and not accepted")
        }
        if rest.hasPrefix("null") || rest.hasPrefix("\"") || rest.hasPrefix("true") || rest.hasPrefix("false") || rest.hasPrefix("[") || rest.hasPrefix("{") {
            return RequestError("\(label): is not a number")
        }
        return RequestError("malformed JSON at byte \(c.i) in \(label)")
    }

    /// A key naming a feature, as its index. A key without escapes (the usual case) is matched
    /// on its raw bytes; one with escapes is decoded first. Unknown names are refused.
    private func parseName(_ c: inout Cursor, label: String) throws(RequestError) -> Int {
        guard c.peek() == UInt8(ascii: "\"") else { throw RequestError("malformed JSON at byte \(c.i): expected a string key") }
        var i = c.i + 1
        var hash = NameTable.seed                  // hashed while scanned: one pass over the key
        while i < c.end, c.base[i] != UInt8(ascii: "\""), c.base[i] != UInt8(ascii: "\\"), c.base[i] >= 0x20 {
            hash = NameTable.mix(hash, c.base[i])
            i += 1
        }
        if i < c.end, c.base[i] == UInt8(ascii: "\""),
           let j = names.index(of: UnsafeBufferPointer(start: c.base + c.i + 1, count: i - c.i - 1), hash: hash) {
            c.i = i + 1
            return j
        }
        let name = Array(try parseString(&c).utf8)
        guard let j = name.withUnsafeBufferPointer({ names.index(of: $0, hash: NameTable.hash($0)) }) else {
            throw RequestError("\(label): unknown feature '\(String(decoding: name, as: UTF8.self).prefix(80))'")
        }
        return j
    }

    /// A JSON string with every escape decoded; control characters and bad escapes refused.
    func parseString(_ c: inout Cursor) throws(RequestError) -> String {
        guard c.peek() == UInt8(ascii: "\"") else { throw RequestError("malformed JSON at byte \(c.i): expected a string key") }
        c.i += 1
        // Every request's top-level key, written plainly: matched on its bytes, no String built.
        if let key = plainKey(&c, Self.features) ?? plainKey(&c, Self.instances) { return key }
        // A string without escapes (keys, names, types: nearly every one) straight from its bytes,
        // with no buffer built on the way.
        var j = c.i
        while j < c.end, c.base[j] != UInt8(ascii: "\""), c.base[j] != UInt8(ascii: "\\"), c.base[j] >= 0x20 { j += 1 }
        if j < c.end, c.base[j] == UInt8(ascii: "\"") {
            guard let s = String(validating: UnsafeBufferPointer(start: c.base + c.i, count: j - c.i), as: UTF8.self) else {
                throw RequestError("malformed JSON: invalid UTF-8 in a string")
            }
            c.i = j + 1
            return s
        }
        var bytes: [UInt8] = []
        while true {
            guard c.i < c.end else { throw RequestError("malformed JSON: unterminated string") }
            let ch = c.base[c.i]
            c.i += 1
            if ch == UInt8(ascii: "\"") { break }
            if ch < 0x20 { throw RequestError("malformed JSON: control character in a string") }
            if ch != UInt8(ascii: "\\") { bytes.append(ch); continue }
            guard c.i < c.end else { throw RequestError("malformed JSON: unterminated escape") }
            let e = c.base[c.i]
            c.i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(&c)
                if (0xD800..<0xDC00).contains(scalar) {
                    guard c.i + 1 < c.end, c.base[c.i] == UInt8(ascii: "\\"), c.base[c.i + 1] == UInt8(ascii: "u") else { throw RequestError("malformed JSON: lone surrogate") }
                    c.i += 2
                    let low = try hex4(&c)
                    guard (0xDC00..<0xE000).contains(low) else { throw RequestError("malformed JSON: bad surrogate pair") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw RequestError("malformed JSON: lone surrogate")
                }
                bytes.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default: throw RequestError("malformed JSON: bad escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw RequestError("malformed JSON: invalid UTF-8 in a string") }
        return s
    }

    /// `key` if the string at the cursor (past its opening quote) is exactly it, without escapes;
    /// the cursor then moves past the closing quote.
    @inline(__always)
    private func plainKey(_ c: inout Cursor, _ key: StaticString) -> String? {
        let n = key.utf8CodeUnitCount
        guard c.i + n < c.end, memcmp(c.base + c.i, key.utf8Start, n) == 0, c.base[c.i + n] == UInt8(ascii: "\"") else { return nil }
        c.i += n + 1
        return key.description
    }

    private func hex4(_ c: inout Cursor) throws(RequestError) -> UInt32 {
        guard c.i + 4 <= c.end else { throw RequestError("malformed JSON: short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let h = c.base[c.i]
            c.i += 1
            let d: UInt8
            switch h {
            case 48...57: d = h - 48
            case 65...70: d = h - 55
            case 97...102: d = h - 87
            default: throw RequestError("malformed JSON: bad \\u escape")
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }
}

/// Feature names found by their UTF-8 bytes (FNV-1a, open addressing), so a named row's 115
/// keys are matched without building or hashing a String each. Immutable after `init`; its
/// tables live in memory it owns, read through pointers, so a lookup takes no reference counts.
final class NameTable: @unchecked Sendable {
    private let bytes: UnsafeMutablePointer<UInt8>     // every name, one after another
    private let offsets: UnsafeMutablePointer<Int>     // name k is bytes[offsets[k] ..< offsets[k + 1]]
    private let slots: UnsafeMutablePointer<Int32>     // name index, or -1 for an empty slot
    private let mask: Int

    init(_ names: [String]) {
        let all = names.flatMap { Array($0.utf8) }
        bytes = .allocate(capacity: max(all.count, 1))
        bytes.initialize(from: all, count: all.count)
        offsets = .allocate(capacity: names.count + 1)
        offsets[0] = 0
        for (k, n) in names.enumerated() { offsets[k + 1] = offsets[k] + n.utf8.count }
        var size = 16
        while size < names.count * 2 { size *= 2 }
        slots = .allocate(capacity: size)
        slots.initialize(repeating: -1, count: size)
        mask = size - 1
        for k in names.indices {
            var s = Int(truncatingIfNeeded: Self.hash(UnsafeBufferPointer(start: bytes + offsets[k], count: offsets[k + 1] - offsets[k]))) & mask
            while slots[s] >= 0 { s = (s + 1) & mask }
            slots[s] = Int32(k)
        }
    }

    deinit {
        bytes.deallocate()
        offsets.deallocate()
        slots.deallocate()
    }

    static let seed: UInt64 = 0xCBF2_9CE4_8422_2325

    @inline(__always) static func mix(_ h: UInt64, _ b: UInt8) -> UInt64 { (h ^ UInt64(b)) &* 0x100_0000_01B3 }

    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 { key.reduce(seed, mix) }

    /// The index of the name whose bytes are `key` (`hash` = `Self.hash(key)`), or nil.
    func index(of key: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int? {
        var s = Int(truncatingIfNeeded: hash) & mask
        while true {
            let k = Int(slots[s])
            if k < 0 { return nil }
            let start = offsets[k], n = offsets[k + 1] - start
            if n == key.count, n == 0 || memcmp(bytes + start, key.baseAddress!, n) == 0 { return k }
            s = (s + 1) & mask
        }
    }
}
