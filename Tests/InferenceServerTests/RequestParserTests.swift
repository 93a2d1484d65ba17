import Foundation
import AutoencoderCore
import Testing
@testable import InferenceServer

@Suite struct RequestParserTests {
    let parser = RequestParser(featureNames: ["a", "b", "c"], maxBatch: 4)

    struct Parsed { var rows: Int; var batched: Bool; var values: [Double] }

    /// Parses `bytes` as the server does: from a buffer with a NUL just past the body.
    func parse(_ bytes: [UInt8], with parser: RequestParser? = nil) throws(RequestError) -> Parsed {
        let padded = bytes + [0]
        var values: [Double] = [99, 99]   // a reused buffer's leftovers must not leak through
        let shape = try padded.withUnsafeBufferPointer { (p) throws(RequestError) in
            try (parser ?? self.parser).parse(UnsafeBufferPointer(rebasing: p.dropLast()), into: &values)
        }
        return Parsed(rows: shape.rows, batched: shape.batched, values: values)
    }

    func parse(_ s: String) throws(RequestError) -> Parsed { try parse(Array(s.utf8)) }

    /// Keys are UTF-8: a key with a broken sequence is refused, plainly written or escaped.
    @Test func keysMustBeValidUTF8() {
        for bytes in [Array(#"{"feat"#.utf8) + [0xFF] + Array(#"": [1,2,3]}"#.utf8),
                      Array(#"{"features": {"a": 1, "b"#.utf8) + [0xC3] + Array(#"": 2, "c": 3}}"#.utf8),
                      Array(#"{"x\n"#.utf8) + [0xE2, 0x82] + Array(#"": 1}"#.utf8)] {
            do {
                _ = try parse(bytes)
                Issue.record("accepted \(bytes)")
            } catch {
                #expect(error.message.contains("UTF-8") || error.message.contains("unknown"), "\(error.message)")
            }
        }
        // Valid multi-byte keys are read (and, not being feature names, refused as unknown).
        do { _ = try parse(#"{"features": {"ä": 1, "b": 2, "c": 3}}"#); Issue.record("accepted an unknown name") } catch {
            #expect(error.message.contains("unknown feature 'ä'"), "\(error.message)")
        }
    }

    @Test func acceptsTheThreeForms() throws {
        #expect(try parse(#" {"features":[1,-2.5e1,0]} "#).values == [1, -25, 0])
        #expect(try parse(#"{"features":{"c":3,"a":1,"b":2}}"#).values == [1, 2, 3])
        #expect(try parse("{\"features\":{\"\\u0061\":1,\"b\":2,\"c\":3}}").values == [1, 2, 3])   // escaped name
        let batch = try parse(#"{"instances":[[1,2,3],{"a":4,"b":5,"c":6}]}"#)
        #expect(batch.rows == 2 && batch.batched && batch.values == [1, 2, 3, 4, 5, 6])
    }

    /// Random corruptions of valid bodies: every one parses or is refused with a message; none crashes.
    @Test func survivesRandomCorruption() {
        var rng = SplitMix64(seed: 2026)
        let seeds = [#"{"features":[1.5,2e3,-0.25]}"#, #"{"features":{"a":1,"b":2,"c":3}}"#, #"{"instances":[[1,2,3],{"a":1,"b":2,"c":3}]}"#]
        let alphabet = Array("{}[]\":,.-+eE0123456789abcnulltrue \\u\t\n".utf8) + [0, 0xFF, 0xC3]
        var refused = 0, accepted = 0
        for i in 0..<20_000 {
            var bytes = Array(seeds[i % seeds.count].utf8)
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let pos = Int(rng.next() % UInt64(bytes.count + 1))
                switch rng.next() % 3 {
                case 0: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: pos)
                case 1: if pos < bytes.count { bytes.remove(at: pos) }
                default: if pos < bytes.count { bytes[pos] = alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                }
            }
            do {
                let r = try parse(bytes)
                #expect(r.values.count == r.rows * 3 && r.values.allSatisfy { $0.isFinite })
                accepted += 1
            } catch {
                #expect(!error.message.isEmpty)
                refused += 1
            }
        }
        #expect(refused > 10_000)
    }

    /// Numbers in every JSON form come out as the correctly rounded double (what `strtod`, and so
    /// `Double(String)`, gives): typical 17-digit reprs, exponents, leading zeros, >19 digits.
    @Test func numbersAreCorrectlyRounded() throws {
        let one = RequestParser(featureNames: ["a"], maxBatch: 1)
        func value(_ text: String) throws -> Double {
            try parse(Array("{\"features\":[\(text)]}".utf8), with: one).values[0]
        }
        let fixed = ["0", "-0", "1", "-1", "60.0", "0.5", "1E2", "1e+2", "1e-2", "-2.5E-3", "0.000123", "0.0000000000000000000001",
                     "123456789012345678901234", "1.00000000000000000000001", "9007199254740993", "4.9e-324", "2.2250738585072014e-308", "1505784517.123456", "0.1", "0.30000000000000004",
                     "11.757000446401248", "62.3892622657479", "1.0e-30", "3.4028234663852886e38"]
        for t in fixed {
            let v = try value(t)
            #expect(v == Double(t)!, "\(t)")
            #expect(v.sign == Double(t)!.sign, "\(t)")
        }
        var rng = SplitMix64(seed: 42)
        for i in 0..<20_000 {
            let magnitude = [1e-6, 1e-2, 1, 60, 1e3, 1e6, 1.5e9, 1e15, 1e20, 1e30][i % 10]
            let x = (Double(rng.nextUnitFloat()) + Double(rng.nextUnitFloat()) / 16_777_216) * magnitude * (i % 3 == 0 ? -1 : 1)
            for t in ["\(x)", String(format: "%.6g", x), String(format: "%.9e", x), String(format: "%.17g", x)] {
                #expect(try value(t) == Double(t)!, "\(t)")
            }
        }
    }

    /// Long rows, where plain decimals go through the AVX-512 kernel (on a CPU that has it) and the
    /// rest (exponents, over 19 digits, each row's last number) through the scalar path: every
    /// value as `strtod` reads it, whatever the mix and the whitespace around the commas.
    @Test func longRowsMatchStrtodWhicheverPathReadsThem() throws {
        let width = 40
        let wide = RequestParser(featureNames: (0..<width).map { "f\($0)" }, maxBatch: 4)
        var rng = SplitMix64(seed: 77)
        let spaces = ["", " ", "\n  ", "\t"]
        for _ in 0..<500 {
            var texts: [String] = []
            for i in 0..<width {
                let x = (Double(rng.nextUnitFloat()) + Double(rng.nextUnitFloat()) / 16_777_216) * [1e-6, 1, 60, 1e6, 1.5e9, 1e20][i % 6]
                let forms = ["\(x)", String(format: "%.6g", x), String(format: "%.9e", x), String(format: "%.17g", x),
                             String(format: "%.3f", -x), "0", "-0.0", "\(Int(x.truncatingRemainder(dividingBy: 1000)))"]
                texts.append(forms[Int(rng.next() % UInt64(forms.count))])
            }
            let row = texts.map { spaces[Int(rng.next() % 4)] + $0 + spaces[Int(rng.next() % 4)] }.joined(separator: ",")
            let values = try parse(Array("{\"instances\":[[\(row)],[\(row)]]}".utf8), with: wide).values
            let expected = texts.map { Double($0)! }
            #expect(values.map(\.bitPattern) == (expected + expected).map(\.bitPattern), "\(row)")
        }
    }

    /// Named rows: keys matched on their bytes, escaped keys decoded first, in any order;
    /// prefixes, empty and unknown names refused, each name at most once, every name required.
    @Test func namedRows() throws {
        let p = RequestParser(featureNames: ["ab", "a", "H_L0.1_mean"], maxBatch: 2)
        #expect(try parse(Array(#"{"features":{"H_L0.1_mean":3,"a":2,"ab":1}}"#.utf8), with: p).values == [1, 2, 3])
        #expect(try parse(Array(#"{"features":{"\u0061b":1,"\u0061":2,"H_L0.1\u005fmean":3}}"#.utf8), with: p).values == [1, 2, 3])
        let batch = try parse(Array(#"{"instances":[{"a":5,"ab":4,"H_L0.1_mean":6},[7,8,9]]}"#.utf8), with: p)
        #expect(batch.values == [4, 5, 6, 7, 8, 9])
        for (body, message) in [
            (#"{"features":{"abc":1,"a":2,"H_L0.1_mean":3}}"#, "unknown feature 'abc'"),
            (#"{"features":{"":1,"a":2,"H_L0.1_mean":3}}"#, "unknown feature ''"),
            (#"{"features":{"H_L0.1_mea":1}}"#, "unknown feature 'H_L0.1_mea'"),
            (#"{"features":{"a\u0062c":1}}"#, "unknown feature 'abc'"),
            (#"{"features":{"a":1,"ab":2,"a":3}}"#, "feature 'a' appears twice"),
            (#"{"features":{"a":1,"\u0061":3}}"#, "feature 'a' appears twice"),
            (#"{"features":{"a":1}}"#, "missing 2 feature(s): ab, H_L0.1_mean"),
        ] {
            #expect(throws: RequestError.self, "\(body)") { try parse(Array(body.utf8), with: p) }
            do { _ = try parse(Array(body.utf8), with: p) } catch { #expect(error.message.contains(message), "\(error.message)") }
        }
    }

    /// What follows an element is a comma or the closing bracket; anything else is named, with
    /// where it happened.
    @Test func separatorsAreChecked() {
        for (body, message) in [
            (#"{"features":[1,2 3]}"#, "expected ',' or ']' in features"),
            (#"{"features":{"a":1 "b":2,"c":3}}"#, "expected ',' or '}' in features"),
            (#"{"instances":[[1,2,3] [1,2,3]]}"#, "expected ',' or ']' in 'instances'"),
            (#"{"features":[1,2,3] "x":1}"#, "byte 20: expected ',' or '}'"),
            (#"{"features":[1,2,3]"#, "unexpected end of body"),
            (#"{"instances":[[1,2,3],"#, "unexpected end of body"),
        ] {
            do { _ = try parse(body); Issue.record("\(body) was accepted") } catch { #expect(error.message.contains(message), "\(body): \(error.message)") }
        }
    }

    /// The top-level key is matched on its bytes when written plainly; near misses and escaped
    /// spellings take the general path and get the same answers as before.
    @Test func topLevelKeysPlainEscapedAndNearMisses() throws {
        #expect(try parse(#"{"features":[1,2,3]}"#).values == [1, 2, 3])
        #expect(try parse("{\"\\u0066eatures\":[1,2,3]}").values == [1, 2, 3])
        #expect(try parse("{\"instance\\u0073\":[[1,2,3]]}").rows == 1)
        for (key, message) in [("featuresX", "unknown key 'featuresX'"), ("feature", "unknown key 'feature'"),
                               ("instancess", "unknown key 'instancess'"), ("", "unknown key ''")] {
            #expect(throws: RequestError.self) { try parse("{\"\(key)\":[1,2,3]}") }
            do { _ = try parse("{\"\(key)\":[1,2,3]}") } catch { #expect(error.message.hasPrefix(message), "\(key)") }
        }
        #expect(throws: RequestError.self) { try parse(#"{"features"#) }   // the key cut short
    }

    /// An unknown key is echoed cut short, as every other echo is: a 1 MB key is not a 1 MB error.
    @Test func anUnknownKeyIsEchoedCutShort() {
        let key = String(repeating: "k", count: 1 << 20)
        for body in ["{\"\(key)\":[1,2,3]}", "{\"features\":[1,2,3],\"\(key)\":1}"] {
            do { _ = try parse(body); Issue.record("accepted") } catch {
                #expect(error.message.count < 200 && error.message.contains("unknown key 'kkk"), "\(error.message.count) characters")
            }
        }
    }

    @Test func refusesWhatJSONDoesNotAllow() {
        for t in ["01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "Infinity", "NaN", "-Infinity", "1.5.2", "--1", "1e5.5", "\"1\""] {
            #expect(throws: RequestError.self, "\(t)") { try parse("{\"features\":[\(t),2,3]}") }
        }
        #expect(throws: RequestError.self) { try parse("{\"features\":[3.5e38,2,3]}") }   // overflows Float
        #expect(throws: RequestError.self) { try parse("{\"features\":[1e400,2,3]}") }
        // A number at the very end of a truncated body reads nothing past it.
        #expect(throws: RequestError.self) { try parse("{\"features\":[1,2,123456789012345678901234") }
    }
}
