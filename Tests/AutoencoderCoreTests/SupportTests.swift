import Foundation
import Testing
@testable import AutoencoderCore

@Suite struct SupportTests {
    @Test func fingerprintsMatchTheNISTVectors() {
        #expect(Fingerprint.sha256(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Fingerprint.sha256([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Fingerprint.sha256(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Fingerprint.sha256([UInt8](repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // A file is read in pieces: the same digest as its bytes at once.
        let temporary = TemporaryDirectory()
        let path = temporary.url.appendingPathComponent("a").path
        let bytes = [UInt8](repeating: 0x61, count: 1_000_000)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect((try? Fingerprint.sha256(ofFile: path)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(throws: ModelFileError.self) { try Fingerprint.sha256(ofFile: temporary.url.appendingPathComponent("none").path) }
    }

    @Test func rocAUCHandlesTies() {
        #expect(DetectionReport.rocAUC(scores: [0.1, 0.4, 0.35, 0.8], positive: [false, false, true, true]) == 0.75)
        #expect(DetectionReport.rocAUC(scores: [1, 1, 1, 1], positive: [false, true, false, true]) == 0.5)
        #expect(DetectionReport.rocAUC(scores: [1, 2], positive: [true, true]) == nil)
    }

    @Test func detectionReportCounts() {
        let r = DetectionReport(errors: [0.1, 0.5, 0.2, 0.9, 0.05], targets: [0, 0, 1, 2, 2], threshold: 0.3)
        #expect(r.truePositives == 1 && r.falseNegatives == 2 && r.falsePositives == 1 && r.trueNegatives == 1)
        #expect(r.tpr == 1.0 / 3 && r.fpr == 0.5 && r.precision == 0.5)
        #expect(r.classes.map(\.target) == [0, 1, 2])
        #expect(r.classes[2].flaggedRate == 0.5)
    }

    @Test func thresholdRules() {
        let e: [Float] = [1, 2, 3, 4]
        // mean 2.5, population std √1.25
        #expect(abs(ThresholdRule.meanPlusStd(1).threshold(e) - Float(2.5 + 1.25.squareRoot())) < 1e-6)
        #expect(ThresholdRule.percentile(50).threshold(e) == 2.5)     // numpy: linear interpolation
        #expect(ThresholdRule.percentile(100).threshold(e) == 4)
        #expect(ThresholdRule("mean+std") == .meanPlusStd(1))
        #expect(ThresholdRule("mean+2std") == .meanPlusStd(2))
        #expect(ThresholdRule("p99.9") == .percentile(99.9))
        #expect(ThresholdRule("p101") == nil && ThresholdRule("median") == nil)
        #expect(ThresholdRule.percentile(99.9).description == "p99.9")
    }
}
