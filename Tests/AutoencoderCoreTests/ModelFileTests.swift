import Foundation
import Testing
@testable import AutoencoderCore

@Suite struct ModelFileTests {
    static func smallModel() -> TrainedModel {
        let net = Autoencoder(inputSize: 5, hidden: [4], latent: 2, seed: 4)
        let summary = TrainingSummary(epochsRun: 3, finalLoss: 0.01, finalValLoss: 0.02, bestEpoch: 3, trainRows: 30, validationRows: 10,
                                      rows: "benign", seed: 4, batchSize: 32, learningRate: 0.001, dataSHA256: "ab", date: "2026-11-28T00:00:00Z",
                                      thresholdRows: 10)
        return TrainedModel(network: net, featureNames: ["a", "b", "c", "d", "e"],
                            scaler: MinMaxScaler(scale: [1, 0.5, 1e-9, 2, 3], min: [0, -1, 0.25, 1e10, -0.125]),
                            threshold: 0.0123, thresholdRule: .percentile(99.5), training: summary)
    }

    @Test func roundTripIsExact() throws {
        let m = Self.smallModel()
        let bytes = ModelFile.encode(m)
        #expect(try ModelFile.decode(bytes) == m)
        // Spec: 8-byte LE length, then the header, padded to a multiple of 8.
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(n % 8 == 0)
        #expect(bytes.count == 8 + n + m.network.parameterCount * 4)
    }

    @Test func scalerValuesReadBackBitForBit() throws {
        // 17-digit values, which Foundation's JSON parser can round one unit off.
        var rng = SplitMix64(seed: 21)
        for _ in 0..<20 {
            var m = Self.smallModel()
            let scale = (0..<5).map { _ in Double(rng.next() >> 11) * 0x1p-53 * 3 + 1e-3 }
            let min = (0..<5).map { _ in (Double(rng.next() >> 11) * 0x1p-53 - 0.5) * 1e6 }
            m.scaler = MinMaxScaler(scale: scale, min: min)
            let back = try ModelFile.decode(ModelFile.encode(m))
            #expect(back.scaler.scale.map(\.bitPattern) == scale.map(\.bitPattern))
            #expect(back.scaler.min.map(\.bitPattern) == min.map(\.bitPattern))
        }
    }

    @Test func windowSettingsRoundTripAndVersionOneFilesStillLoad() throws {
        var m = Self.smallModel()
        m.window = WindowSettings(size: 17, split: try BenignSplit(rows: 900), optInstanceFPR: 0.03125, searchedUpTo: 300)
        #expect(try ModelFile.decode(ModelFile.encode(m)) == m)
        // A version 1 file (no window) reads as a model without window voting.
        let v1 = edited { h in
            var meta = h["__metadata__"] as! [String: String]
            meta["format_version"] = "1"
            h["__metadata__"] = meta
        }
        #expect(try ModelFile.decode(v1) == Self.smallModel())
        let badWindow = edited { h in
            var meta = h["__metadata__"] as! [String: String]
            meta["window"] = "{\"size\": 0}"
            h["__metadata__"] = meta
        }
        #expect(throws: ModelFileError.self) { try ModelFile.decode(badWindow) }
    }

    @Test func writeRefusesToOverwriteUnlessAsked() throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        let path = dir.appendingPathComponent("m.safetensors").path
        try ModelFile.write(Self.smallModel(), to: path)
        #expect(throws: ModelFileError.wouldOverwrite(path: path)) { try ModelFile.write(Self.smallModel(), to: path) }
        try ModelFile.write(Self.smallModel(), to: path, overwrite: true)
        #expect(try ModelFile.read(path: path) == Self.smallModel())
    }

    @Test func refusesTruncatedFiles() {
        let bytes = ModelFile.encode(Self.smallModel())
        for cut in [0, 5, 8, 40, bytes.count - 4] {
            #expect(throws: ModelFileError.self) { try ModelFile.decode(Array(bytes[0..<cut])) }
        }
        do { _ = try ModelFile.decode(Array(bytes.dropLast(4))); Issue.record("accepted") } catch {
            guard case .truncated = error else { Issue.record("expected .truncated, got \(error)"); return }
        }
    }

    @Test func refusesTrailingBytesAndGarbageHeader() {
        var bytes = ModelFile.encode(Self.smallModel())
        bytes += [0, 0, 0, 0]
        #expect(throws: ModelFileError.self) { try ModelFile.decode(bytes) }
        var garbage = ModelFile.encode(Self.smallModel())
        garbage[9] = UInt8(ascii: "#")
        #expect(throws: ModelFileError.self) { try ModelFile.decode(garbage) }
        let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0] + Array(repeating: 0x20, count: 16)
        #expect(throws: ModelFileError.self) { try ModelFile.decode(huge) }
    }

    /// Rewrites the header JSON of an encoded model through `edit`.
    func edited(_ edit: (inout [String: Any]) -> Void) -> [UInt8] {
        let bytes = ModelFile.encode(Self.smallModel())
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var header = try! JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as! [String: Any]
        edit(&header)
        var h = Array(try! JSONSerialization.data(withJSONObject: header))
        while h.count % 8 != 0 { h.append(0x20) }
        var out = [UInt8]()
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
        return out + h + Array(bytes[(8 + n)...])
    }

    @Test func refusesAnotherShape() {
        let wrongShape = edited { h in
            var t = h["dense_0.kernel"] as! [String: Any]
            t["shape"] = [4, 5]
            h["dense_0.kernel"] = t
        }
        do { _ = try ModelFile.decode(wrongShape); Issue.record("accepted") } catch {
            guard case .shapeMismatch = error else { Issue.record("expected .shapeMismatch, got \(error)"); return }
        }
        let fewerNames = edited { h in
            var m = h["__metadata__"] as! [String: String]
            m["feature_names"] = "[\"a\",\"b\"]"
            h["__metadata__"] = m
        }
        #expect(throws: ModelFileError.self) { try ModelFile.decode(fewerNames) }
        let otherFormat = edited { h in
            var m = h["__metadata__"] as! [String: String]
            m["format_version"] = "99"
            h["__metadata__"] = m
        }
        #expect(throws: ModelFileError.self) { try ModelFile.decode(otherFormat) }
        let f16 = edited { h in
            var t = h["dense_1.bias"] as! [String: Any]
            t["dtype"] = "F16"
            h["dense_1.bias"] = t
        }
        #expect(throws: ModelFileError.self) { try ModelFile.decode(f16) }
    }

    @Test func refusesNaNWeights() {
        var bytes = ModelFile.encode(Self.smallModel())
        let nan = Float.nan.bitPattern.littleEndian
        withUnsafeBytes(of: nan) { b in for i in 0..<4 { bytes[bytes.count - 4 + i] = b[i] } }
        #expect(throws: ModelFileError.self) { try ModelFile.decode(bytes) }
    }
}
