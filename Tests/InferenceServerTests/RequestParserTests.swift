import AutoencoderCore
import Testing
@testable import InferenceServer

@Suite struct RequestParserTests {
    let parser = RequestParser(featureCount: 3, featureIndex: ["a": 0, "b": 1, "c": 2], featureNames: ["a", "b", "c"], maxBatch: 4)

    func parse(_ s: String) throws(RequestError) -> ParsedRows {
        let bytes = Array(s.utf8)
        return try bytes.withUnsafeBufferPointer { (p) throws(RequestError) in try parser.parse(p) }
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
                let r = try bytes.withUnsafeBufferPointer { (p) throws(RequestError) in try parser.parse(p) }
                #expect(r.values.count == r.rows * 3 && r.values.allSatisfy { $0.isFinite })
                accepted += 1
            } catch {
                #expect(!error.message.isEmpty)
                refused += 1
            }
        }
        #expect(refused > 10_000)
    }
}
