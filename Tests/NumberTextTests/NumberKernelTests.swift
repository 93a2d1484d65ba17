import AutoencoderCore
import NumberText
import Testing

/// The AVX-512 kernels must give exactly what the scalar code gives, and stop exactly where they
/// should. (`ae-bench float-text --kernel --stride 1` compares the formatter on all 2³² bit patterns;
/// `ae-bench decimal-check` the parser on millions of decimals.) Each is skipped on a CPU without
/// its instructions (the formatter needs AVX-512 F/BW/DQ/VL/CD, the parser VBMI2 too).
@Suite struct NumberKernelTests {
    // MARK: FloatText.writeLeading and writeList

    /// `FloatText.writeList`'s text of `xs`, and how many values the kernel's first run took.
    func listText(_ xs: [Float]) -> (text: String, firstRun: Int) {
        let room = xs.count * FloatText.leadingBytesPerValue + FloatText.bufferLength
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: room) { buffer in
            xs.withUnsafeBufferPointer { values in
                let firstRun = FloatText.writeLeading(values, to: buffer.baseAddress!).values
                let n = FloatText.writeList(values, to: buffer.baseAddress!)
                return (String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<n]), as: UTF8.self), firstRun)
            }
        }
    }

    func expectedText(_ xs: [Float]) -> String { xs.map { $0.description + "," }.joined() }

    @Test(.enabled(if: FloatText.hasKernel, "no AVX-512 here")) func formatsEveryLayoutAsDescriptionDoes() {
        let xs: [Float] = [
            0, -0.0, 1, -1, 0.1, 0.0001, 0.001, 1e-5, 9.999999e-5, 16_777_216, 16_777_218, 33_554_432, 1e7, 1e8,
            1e9, 1.6969414e9, 123_456.7, 0.5, 100, 1e16, .leastNormalMagnitude, .greatestFiniteMagnitude,
            -.greatestFiniteMagnitude, 3.4e38, 2e-7, 8_388_608, 0.3, 12.239832, -347.13986, 1.2258719e12, -0.1548972,
            4_096, 60, 123_456_792, 0.00012345679, -1.5e-38,
        ]
        let result = listText(xs)
        #expect(result.text == expectedText(xs))
        #expect(result.firstRun == xs.count)   // none of these is left to `write`
    }

    /// 20,000 random bit patterns in lists of every length 1…24 (so every lane position and the
    /// masked tail); the kernel stops before subnormals and non-finite values.
    @Test(.enabled(if: FloatText.hasKernel, "no AVX-512 here")) func matchesWriteOnRandomBitPatterns() {
        var rng = SplitMix64(seed: 11)
        var checked = 0
        while checked < 20_000 {
            let n = 1 + Int(rng.next() % 24)
            let xs = (0..<n).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) }
            let result = listText(xs)
            let expected = xs.map { ($0.isFinite ? $0.description : FloatTextTests().text($0)) + "," }.joined()
            #expect(result.text == expected)
            let firstLeft = xs.firstIndex { !$0.isFinite || ($0 != 0 && $0.magnitude < .leastNormalMagnitude) } ?? n
            #expect(result.firstRun == firstLeft)
            checked += n
        }
    }

    // MARK: DecimalParser.parseLeading

    /// `body` as bytes with a NUL after it; `parseLeading` on it (all of it unless `count`).
    func leading(_ body: String, count: Int? = nil, max: Int = 1_000) -> (values: [Double], bytes: Int) {
        leading(bytes: Array(body.utf8), count: count, max: max)
    }

    func leading(bytes body: [UInt8], count: Int? = nil, max: Int = 1_000) -> (values: [Double], bytes: Int) {
        var bytes = body
        let n = count ?? bytes.count
        bytes.append(0)
        var out = [Double](repeating: .nan, count: max)
        let run = bytes.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { DecimalParser.parseLeading(b.baseAddress!, count: n, max: max, into: $0.baseAddress!) }
        }
        return (Array(out[0..<run.values]), run.bytes)
    }

    /// A JSON decimal without exponent: -?(0|[1-9][0-9]*)(.[0-9]+)?, 1…20 digits in all.
    func plainDecimal(_ rng: inout SplitMix64) -> String {
        let digits = 1 + Int(rng.next() % 20)
        let intDigits = 1 + Int(rng.next() % UInt64(digits))
        var text = rng.next() % 3 == 0 ? "-" : ""
        if intDigits == 1 && rng.next() % 2 == 0 { text += "0" } else {
            text += String(1 + rng.next() % 9)
            for _ in 1..<intDigits { text += String(rng.next() % 10) }
        }
        if digits > intDigits {
            text += "."
            for _ in intDigits..<digits { text += String(rng.next() % 10) }
        }
        return text
    }

    @Test(.enabled(if: DecimalParser.hasKernel, "no AVX-512 VBMI2 here")) func readsWhatParseReadsWithAnyWhitespace() {
        var rng = SplitMix64(seed: 5)
        let spaces = [" ", "\n", "\t", "\r", "  ", "\n    ", ""]
        for _ in 0..<400 {
            let n = 2 + Int(rng.next() % 130)
            let texts = (0..<n).map { _ in plainDecimal(&rng) }
            var body = ""
            for (k, t) in texts.enumerated() {
                body += spaces[Int(rng.next() % 7)] + t + spaces[Int(rng.next() % 7)]
                body += k == n - 1 ? "]" : ","
            }
            let run = leading(body)
            // Taken: every element up to the first with 20 digits; never the last one (before ']').
            let takeable = texts.prefix(n - 1).prefix { $0.filter(\.isNumber).count <= 19 }
            #expect(run.values.count == takeable.count)
            for (k, t) in takeable.enumerated() where k < run.values.count {
                #expect(run.values[k].bitPattern == Double(t)!.bitPattern, "\(t)")
            }
            // The bytes taken end just after the comma of the last element taken.
            let commas = body.utf8.enumerated().filter { $0.element == UInt8(ascii: ",") }.map(\.offset)
            #expect(run.bytes == (takeable.isEmpty ? 0 : commas[takeable.count - 1] + 1))
        }
    }

    /// The first element that is not a plain decimal followed by a comma stops the run, before it:
    /// the caller parses it and reports it.
    @Test(.enabled(if: DecimalParser.hasKernel, "no AVX-512 VBMI2 here"), arguments: [
        "1e5", "1E-5", "01", "-01", "00.5", "1.", ".5", "+1", "-", "--1", "1.2.3", "1 2", "nan", "Infinity", "\"1\"",
        "12345678901234567890", "0.0000000000000000001", "[1", "]", "", " ", "1]", "0x1",
        String(repeating: " ", count: 70) + "1",
    ])
    func stopsBefore(_ element: String) {
        let body = "1.5, -2.25, 0.125,\(element), 4.0]"
        let run = leading(body)
        #expect(run.values == [1.5, -2.25, 0.125])
        #expect(run.bytes == "1.5, -2.25, 0.125,".utf8.count)
    }

    /// Random bytes from JSON's alphabet and a few others, against a model of the rule written
    /// independently: elements are taken while each is at most 63 bytes, is a plain decimal
    /// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`, at most 19 digits) between JSON whitespace, and is followed
    /// by a comma; the values are `strtod`'s.
    @Test(.enabled(if: DecimalParser.hasKernel, "no AVX-512 VBMI2 here")) func matchesAModelOfTheRuleOnRandomBytes() throws {
        let plain = try Regex("^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$")
        let alphabet = Array("01234567890123456789000111999-..,,,,   eE+]x\t\n\r".utf8) + [0, 0xFF, 0x0B]
        var rng = SplitMix64(seed: 99)
        var taken = 0
        for _ in 0..<3_000 {
            // Elements: plain decimals, some with a random byte changed or inserted, some junk.
            var bytes: [UInt8] = []
            for _ in 0..<Int(rng.next() % 40) {
                var element = Array(plainDecimal(&rng).utf8)
                switch rng.next() % 10 {
                case 0: element[Int(rng.next() % UInt64(element.count))] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: element.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: Int(rng.next() % UInt64(element.count + 1)))
                case 2: element = (0..<Int(rng.next() % 6)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                default: break
                }
                let spaces = [[], [0x20], [0x0A, 0x20, 0x20], [0x09]] as [[UInt8]]
                bytes += spaces[Int(rng.next() % 4)] + element + spaces[Int(rng.next() % 4)] + [UInt8(ascii: ",")]
            }
            if rng.next() % 2 == 0 { bytes += Array("1]".utf8) }
            var expected: [Double] = []
            var start = 0
            for (i, b) in bytes.enumerated() where b == UInt8(ascii: ",") {
                let element = bytes[start..<i]
                let trimmed = element.drop { [0x20, 0x09, 0x0A, 0x0D].contains($0) }.reversed().drop { [0x20, 0x09, 0x0A, 0x0D].contains($0) }.reversed()
                let text = String(decoding: Array(trimmed), as: UTF8.self)
                guard element.count <= 63, text.wholeMatch(of: plain) != nil, text.filter(\.isNumber).count <= 19 else { break }
                expected.append(Double(text)!)
                start = i + 1
            }
            let run = leading(bytes: bytes)
            #expect(run.values.map(\.bitPattern) == expected.map(\.bitPattern), "\(bytes)")
            taken += expected.count
        }
        #expect(taken > 10_000)   // the model accepts enough to mean something
    }

    @Test(.enabled(if: DecimalParser.hasKernel, "no AVX-512 VBMI2 here")) func takesElementsWithinReachOfTheCommaLimitAndMax() {
        #expect(leading("1, 2, 3, 4]", max: 2).values == [1, 2])
        #expect(leading("1, 2, 3, 4]", max: 2).bytes == 5)
        #expect(leading("0, -0.0, 7,").values.map(\.bitPattern) == [0.0, -0.0, 7.0].map(\.bitPattern))
        // Bytes past `count` are not read: "2.5," is cut to "2." and the comma is beyond.
        #expect(leading("1.5,2.5,", count: 6).values == [1.5])
        // 19 digits and the largest 19-digit integer; an element of 63 bytes, the most it takes.
        #expect(leading("9999999999999999999,1]").values == [1e19])   // rounds up to 10¹⁹
        #expect(leading("0.123456789012345678,1]").values == [0.123456789012345678])
        let wide = String(repeating: " ", count: 60) + "1.5"
        #expect(leading(wide + ",1]").values == [1.5])
        #expect(leading(wide + " ,1]").values == [])
    }
}
