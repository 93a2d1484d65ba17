import Foundation
@testable import TrafficFeatures

/// Real data the tests read, copied into the repository so that a clone alone passes:
/// the N-BaIoT column header (`demonstrate_structure.csv`) and the 38,363 real packets of a Mirai
/// capture as tshark fields (`kitsune_mirai_first_packets.csv`), the same packets as a capture
/// (`kitsune_mirai_first_packets.pcap`) and the first 5,000 as pcapng.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// `text` written to a file in a fresh folder, for `body`; the folder is removed afterwards.
func withTemporaryFile<T, E: Error>(_ text: String, name: String = "packets.csv", _ body: (String) throws(E) -> T) throws(E) -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ae-tests-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent(name).path
    try! text.write(toFile: path, atomically: true, encoding: .utf8)
    return try body(path)
}

/// A small harness: packets between named hosts, features by name.
struct Harness {
    let addresses = AddressTable()
    var extractor: FeatureExtractor
    var row = [Double](repeating: .nan, count: FeatureNames.count)

    init(mode: FeatureExtractor.Mode = .nbaiot, idleTimeout: Double = 0, maxStreams: Int = 500_000) {
        extractor = FeatureExtractor(mode: mode, idleTimeout: idleTimeout, maxStreams: maxStreams, addresses: addresses)
    }

    func packet(_ t: Double, _ len: Double, _ src: String, _ dst: String, sport: String = "1000", dport: String = "80") -> Packet {
        Packet(time: t, length: len, srcMAC: addresses.intern("mac-" + src), dstMAC: addresses.intern("mac-" + dst),
               srcIP: addresses.intern(src), dstIP: addresses.intern(dst),
               srcProto: addresses.intern(sport), dstProto: addresses.intern(dport), isARP: false)
    }

    mutating func send(_ p: Packet) {
        row.withUnsafeMutableBufferPointer { extractor.process(p, into: $0.baseAddress!) }
    }

    subscript(_ name: String) -> Double { row[FeatureNames.all.firstIndex(of: name)!] }
}
