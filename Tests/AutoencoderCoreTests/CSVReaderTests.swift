import Foundation
import Testing
@testable import AutoencoderCore

@Suite struct CSVReaderTests {
    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }

    func read(_ text: String, features: [String]? = nil, chunk: Int? = nil) throws(CSVError) -> FeatureTable {
        var reader = CSVReader(features: features)
        if let chunk { reader.chunkSize = chunk }
        return try reader.read(path: writeFile(text, in: dir))
    }

    func error(_ text: String, features: [String]? = nil) -> CSVError? {
        do { _ = try read(text, features: features); return nil } catch { return error }
    }

    @Test func readsKaggleFormWithTargetAnywhere() throws {
        let t = try read("a,target,b\n1,0,2\n3.5,2,-4e2\n")
        #expect(t.featureNames == ["a", "b"])
        #expect(t.values == [1, 2, 3.5, -400])
        #expect(t.targets == [0, 2])
    }

    @Test func aTimestampColumnIsNeverAFeature() throws {
        let t = try read("a,timestamp,b\n1,1505000000.25,2\n3,1505000001.5,4\n")
        #expect(t.featureNames == ["a", "b"])
        #expect(t.values == [1, 2, 3, 4])
        #expect(t.timestamps == [1505000000.25, 1505000001.5])
        #expect(t.selecting(rows: [1]).timestamps == [1505000001.5])
        // Imposed features: still read, not reported as ignored.
        let m = try read("b,a,timestamp\n2,1,7\n", features: ["a", "b"])
        #expect(m.values == [1, 2] && m.timestamps == [7] && m.ignoredColumns.isEmpty)
        #expect(try read("a,b\n1,2\n").timestamps == nil)
    }

    @Test func readsUCIFormWithoutTarget() throws {
        let t = try read("a,b\r\n1,2\r\n3,4\r\n")
        #expect(t.targets == nil)
        #expect(t.values == [1, 2, 3, 4])
    }

    @Test func matchesColumnsByNameInAnyOrder() throws {
        let t = try read("\u{FEFF}b,extra,a,target\n2,9,1,0\n", features: ["a", "b"])
        #expect(t.values == [1, 2])
        #expect(t.ignoredColumns == ["extra"])
    }

    @Test func linesSpanningChunkBoundaries() throws {
        var text = "a,b,target\n"
        for i in 0..<500 { text += "\(i).25,\(i * 2),\(i % 3)\n" }
        let t = try read(text, chunk: 64)
        #expect(t.rowCount == 500)
        #expect(t.values[2 * 499] == 499.25 && t.values[2 * 499 + 1] == 998)
        #expect(t.targets![499] == 499 % 3)
    }

    @Test func numberGrammar() {
        #expect(DecimalParser.parse("60.000000") == .value(60))
        #expect(DecimalParser.parse("1.505784517e9") == .value(1_505_784_517))
        #expect(DecimalParser.parse("-0.0000012") == .value(-0.0000012))
        #expect(DecimalParser.parse("0.12345678901234568") == .value(0.12345678901234568))
        #expect(DecimalParser.parse("123456789012345678901234") == .value(123456789012345678901234.0))
        #expect(DecimalParser.parse("5.67e+17") == .value(5.67e17))
        #expect(DecimalParser.parse(".5") == .value(0.5))
        #expect(DecimalParser.parse("0x10") == .notNumeric)
        #expect(DecimalParser.parse("1e") == .notNumeric)
        #expect(DecimalParser.parse("1.2.3") == .notNumeric)
        #expect(DecimalParser.parse("") == .notNumeric)
        #expect(DecimalParser.parse("NaN") == .nonFinite)
        #expect(DecimalParser.parse("-inf") == .nonFinite)
        #expect(DecimalParser.parse("1e999") == .nonFinite)
        #expect(DecimalParser.parse("5.") == .value(5) && DecimalParser.parse("+007") == .value(7))
        #expect(DecimalParser.parse("-0.000") == .value(-0.0) && DecimalParser.parse(".") == .notNumeric)
    }

    /// Random decimals of every length and exponent parse to what `strtod` (`Double(String)`) gives.
    @Test func numbersAreCorrectlyRounded() {
        var rng = SplitMix64(seed: 11)
        for i in 0..<30_000 {
            let digits = 1 + Int(rng.next() % 24)
            var text = String((0..<digits).map { _ in Character(Unicode.Scalar(UInt8(48 + rng.next() % 10))) })
            let point = Int(rng.next() % UInt64(digits + 1))
            text.insert(".", at: text.index(text.startIndex, offsetBy: point))
            if i % 3 == 0 { text += "e\(Int(rng.next() % 80) - 40)" }
            if i % 2 == 0 { text = "-" + text }
            guard let expected = Double(text) else { continue }
            #expect(DecimalParser.parse(text) == .value(expected), "\(text)")
        }
        // Exact ties between two doubles round to even: m + 0.5 for m in [2⁵², 2⁵³) (spacing 1),
        // odd multiples of 2^s above 2⁵³, and their neighbours a quarter away.
        for _ in 0..<3_000 {
            let m = (1 << 52) + rng.next() % (1 << 52)
            var texts = ["\(m).5", "\(m).25", "\(m).75", "\(m)5e-1", "0.\(m)5e17"]
            for shift in 1...9 { texts.append("\(((2 * m + 1) << UInt64(shift)) >> 1)") }
            for text in texts { #expect(DecimalParser.parse(text) == .value(Double(text)!), "\(text)") }
        }
    }

    /// The word-at-a-time digit readers: every 4-digit string, random 8-digit ones, and a
    /// non-digit (including '/' and ':', the bytes around '0'…'9') in any position.
    @Test func digitBlocks() {
        for v in 0..<10_000 {
            let bytes = Array(String(format: "%04d", v).utf8)
            #expect(bytes.withUnsafeBufferPointer { DecimalParser.fourDigits($0.baseAddress!) } == UInt64(v))
        }
        var rng = SplitMix64(seed: 5)
        for _ in 0..<10_000 {
            let v = rng.next() % 100_000_000
            var bytes = Array(String(format: "%08llu", v).utf8)
            #expect(bytes.withUnsafeBufferPointer { DecimalParser.eightDigits($0.baseAddress!) } == v)
            bytes[Int(rng.next() % 8)] = [UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "."), UInt8(ascii: "e"), 0, 0xB0][Int(rng.next() % 6)]
            #expect(bytes.withUnsafeBufferPointer { DecimalParser.eightDigits($0.baseAddress!) } == nil)
            #expect(bytes.withUnsafeBufferPointer { DecimalParser.fourDigits($0.baseAddress!) == nil || DecimalParser.fourDigits($0.baseAddress! + 4) == nil })
        }
    }

    @Test func refusesNonNumericCellNamingLineAndColumn() {
        let e = error("a,b\n1,2\n3,abc\n")
        #expect(e?.kind == .notNumeric("abc"))
        #expect(e?.line == 3 && e?.column == "b")
        #expect(e?.description.contains("data.csv:3: column 'b'") == true)
    }

    @Test func refusesWrongFieldCount() {
        #expect(error("a,b\n1,2,3\n")?.kind == .fieldCount(expected: 2, found: 3))
        #expect(error("a,b\n1\n")?.kind == .fieldCount(expected: 2, found: 1))
    }

    @Test func refusesMissingAndDuplicateColumns() {
        #expect(error("a,c\n1,2\n", features: ["a", "b"])?.kind == .missingFeatures(["b"]))
        #expect(error("a,b,a\n1,2,3\n")?.kind == .duplicateColumn("a"))
        #expect(error("a,,b\n1,2,3\n")?.kind == .emptyColumnName(index: 2))
        #expect(error("target\n1\n")?.kind == .noFeatureColumns)
    }

    @Test func refusesNaNAndInf() {
        #expect(error("a,b\n1,nan\n")?.kind == .nonFinite("nan"))
        #expect(error("a,b\n1,-Infinity\n")?.kind == .nonFinite("-Infinity"))
        #expect(error("a,b\n1,1e400\n")?.kind == .nonFinite("1e400"))
    }

    @Test func refusesEmptyFileNoHeaderNoRows() {
        #expect(error("")?.kind == .emptyFile)
        #expect(error("1,2\n3,4\n")?.kind == .noHeader)
        #expect(error("a,b\n")?.kind == .noRows)
    }

    @Test func refusesBadTarget() {
        #expect(error("a,target\n1,0.5\n")?.kind == .badTarget("0.5"))
        #expect(error("a,target\n1,x\n")?.kind == .badTarget("x"))
    }

    @Test func missingFileIsAnError() {
        do {
            _ = try CSVReader().read(path: dir.appendingPathComponent("nope.csv").path)
            Issue.record("expected an error")
        } catch {
            guard case .cannotOpen = error.kind else { Issue.record("wrong kind \(error)"); return }
        }
    }
}

@Suite struct DecimalParserRoundingTests {
    /// Every fast path must round exactly as a correctly rounded parser (Swift's `Double(String)`).
    @Test func agreesWithCorrectRoundingOnRandomNumbers() {
        var rng = SplitMix64(seed: 77)
        var checked = 0
        for _ in 0..<60_000 {
            let mantissa = Double(rng.next() >> 11) * 0x1p-53
            let scale = Double(sign: .plus, exponent: Int(rng.next() % 80) - 40, significand: 1)
            let x = mantissa * scale
            for text in [x.description, String(format: "%.17g", x), String(format: "%.19g", x), String(format: "%.15e", x), String(format: "%.6f", x)] {
                guard case .value(let v) = DecimalParser.parse(text) else { Issue.record("refused \(text)"); continue }
                let want = Double(text)!
                if v.bitPattern != want.bitPattern { Issue.record("\(text): \(v) != \(want)") }
                checked += 1
            }
        }
        #expect(checked == 300_000)
    }
}

@Suite struct PandasIndexColumnTests {
    @Test func anUnnamedFirstColumnIsAnIndex() throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        for header in [",a,b,target", "Unnamed: 0,a,b,target"] {
            let t = try CSVReader().read(path: writeFile("\(header)\n0,1,2,0\n1,3,4,1\n", in: dir))
            #expect(t.featureNames == ["a", "b"])
            #expect(t.values == [1, 2, 3, 4])
            #expect(t.ignoredColumns.count == 1)
            let named = try CSVReader(features: ["b", "a"]).read(path: writeFile("\(header)\n0,1,2,0\n", in: dir))
            #expect(named.values == [2, 1])
        }
        // Only the first column: an empty name elsewhere is still an error.
        #expect(throws: CSVError.self) { try CSVReader().read(path: writeFile("a,,b\n1,2,3\n", in: dir)) }
    }
}
