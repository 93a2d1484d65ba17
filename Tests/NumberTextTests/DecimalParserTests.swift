import AutoencoderCore
import NumberText
import Testing

/// The one decimal grammar, in its CSV and JSON dialects: what each accepts, where a JSON token
/// ends, and that every accepted number is correctly rounded.
@Suite struct DecimalParserTests {
    /// `scan` in the JSON dialect, on `text` followed by a `]` (as in a body).
    func json(_ text: String) -> (result: DecimalParser.Result, next: Int) {
        let bytes = Array((text + "]").utf8)
        return bytes.withUnsafeBufferPointer { DecimalParser.scan($0.baseAddress!, 0, bytes.count - 1, .json) }
    }

    @Test func csvGrammar() {
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

    @Test func jsonGrammar() {
        #expect(json("60.5") == (.value(60.5), 4))
        #expect(json("-0") == (.value(-0.0), 2) && json("0") == (.value(0), 1))
        #expect(json("1.505784517e9") == (.value(1_505_784_517), 13))
        #expect(json("2E-3") == (.value(0.002), 4) && json("2e+3") == (.value(2000), 4))
        #expect(json("123456789012345678901234") == (.value(123456789012345678901234.0), 24))
        // A JSON number ends where the grammar does: the rest is the caller's to refuse.
        #expect(json("012") == (.value(0), 1))
        #expect(json("0x10") == (.value(0), 1))
        #expect(json("1.5.2") == (.value(1.5), 3))
        // Nothing starts a number: next is where it began.
        for text in ["+1", ".5", "", "nan", "NaN", "Infinity", "-Infinity", "-", "-x", "\"1\"", "null"] {
            #expect(json(text) == (.notNumeric, 0), "\(text)")
        }
        // A number that started and went wrong: next is where.
        #expect(json("5.") == (.notNumeric, 2) && json("5.e3") == (.notNumeric, 2))
        #expect(json("1e") == (.notNumeric, 2) && json("1e+") == (.notNumeric, 3) && json("-1E-]") == (.notNumeric, 4))
        #expect(json("1e999") == (.nonFinite, 5) && json("-1e400") == (.nonFinite, 6))
        #expect(json("1e-999") == (.value(0), 6))
    }

    /// Both dialects give the same value wherever both accept the text.
    @Test func dialectsAgreeOnTheirCommonGround() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<20_000 {
            let digits = 1 + Int(rng.next() % 22)
            var text = String(1 + rng.next() % 9) + String((1..<digits).map { _ in Character(Unicode.Scalar(UInt8(48 + rng.next() % 10))) })
            if rng.next() % 2 == 0 { text += "." + String(rng.next() % 1_000_000_007) }
            if rng.next() % 3 == 0 { text += "e" + (rng.next() % 2 == 0 ? "-" : "") + String(rng.next() % 320) }
            if rng.next() % 2 == 0 { text = "-" + text }
            let csv = DecimalParser.parse(text)
            let (value, next) = json(text)
            #expect(value == csv && next == text.utf8.count, "\(text)")
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
