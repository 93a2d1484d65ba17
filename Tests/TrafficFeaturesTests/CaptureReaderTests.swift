import Foundation
import Testing
@testable import TrafficFeatures

@Suite struct CaptureReaderTests {
    /// The capture and its tshark fields give the same packets, hence the same features, bit for bit.
    @Test func aCaptureReadsAsItsTsharkFields() throws {
        let addresses = AddressTable()
        var csv = PacketReader(path: fixtures.appendingPathComponent("kitsune_mirai_first_packets.csv").path, addresses: addresses)
        let expected = try csv.readAll()
        var pcap = CaptureReader(path: fixtures.appendingPathComponent("kitsune_mirai_first_packets.pcap").path, addresses: addresses)
        let packets = try pcap.readAll()
        #expect(packets.count == 38_363 && packets == expected)
        if let i = packets.indices.first(where: { $0 < expected.count && packets[$0] != expected[$0] }) { Issue.record("packet \(i + 1): \(packets[i]) vs \(expected[i])") }
        var pcapng = CaptureReader(path: fixtures.appendingPathComponent("kitsune_mirai_first_5000_packets.pcapng").path, addresses: addresses)
        #expect(try pcapng.readAll() == Array(expected.prefix(5000)))
        // Features in both modes (kitsune mode keys by the address strings, so it checks them too).
        for mode in FeatureExtractor.Mode.allCases {
            var a = FeatureExtractor(mode: mode, addresses: addresses), b = FeatureExtractor(mode: mode, addresses: addresses)
            var ra = [Double](repeating: 0, count: FeatureNames.count), rb = ra
            for (p, q) in zip(packets.prefix(5000), expected.prefix(5000)) {
                ra.withUnsafeMutableBufferPointer { a.process(p, into: $0.baseAddress!) }
                rb.withUnsafeMutableBufferPointer { b.process(q, into: $0.baseAddress!) }
                guard ra.map(\.bitPattern) == rb.map(\.bitPattern) else { Issue.record("\(mode): rows differ"); break }
            }
        }
    }

    /// A pcap file: the global header, then each record's header and bytes.
    func pcap(linkType: UInt32 = 1, records: [(caplen: Int, len: Int, bytes: [UInt8])]) -> Data {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        u32(0xA1B2_C3D4); u16(2); u16(4); u32(0); u32(0); u32(65535); u32(linkType)
        for (i, r) in records.enumerated() {
            u32(1_540_446_382 + UInt32(i)); u32(933_899); u32(UInt32(r.caplen)); u32(UInt32(r.len))
            d.append(contentsOf: r.bytes)
        }
        return d
    }

    func read(_ data: Data, skipBad: Bool = false) throws(PacketError) -> (packets: [Packet], skipped: Int, addresses: AddressTable) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ae-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.pcap").path
        try! data.write(to: URL(fileURLWithPath: path))
        let addresses = AddressTable()
        var r = CaptureReader(path: path, skipBad: skipBad, addresses: addresses)
        let packets = try r.readAll()
        return (packets, r.skipped, addresses)
    }

    static let eth: [UInt8] = [0x4c, 0x09, 0xd4, 0xc6, 0x12, 0x7b, 0x5c, 0xcf, 0x7f, 0x05, 0xf2, 0xc6]
    /// IPv4 from 192.168.2.108 to 8.8.8.8, protocol `proto`, then `payload`.
    static func ipv4(_ proto: UInt8, _ payload: [UInt8], src: [UInt8] = [192, 168, 2, 108], dst: [UInt8] = [8, 8, 8, 8]) -> [UInt8] {
        [0x45, 0, 0, UInt8(20 + payload.count), 0, 0, 0x40, 0, 64, proto, 0, 0] + src + dst + payload
    }

    @Test func vlanTagsAndICMPErrorsDecodeAsTsharkShowsThem() throws {
        // An ICMP port unreachable from 8.8.8.8, quoting the UDP datagram 192.168.2.108:5353 → 8.8.8.8:53,
        // inside an 802.1Q tag.
        let quoted = Self.ipv4(17, [0x14, 0xE9, 0x00, 0x35, 0, 8, 0, 0])
        let icmp: [UInt8] = [3, 3, 0, 0, 0, 0, 0, 0] + quoted
        let frame = Self.eth + [0x81, 0x00, 0x00, 0x07, 0x08, 0x00] + Self.ipv4(1, icmp, src: [8, 8, 8, 8], dst: [192, 168, 2, 108])
        let decoded = try frame.withUnsafeBufferPointer { try CaptureReader.decode($0, length: 90, seconds: 1_540_446_382, nanoseconds: 933_899_000) }
        let f = decoded.fields
        // Keyed from the numbers as from the text: the same packet, the same ids.
        let byNumbers = AddressTable(), byText = AddressTable()
        #expect(decoded.packet(Frame.Keys(byNumbers)) == Packet(f, addresses: byText) && byNumbers.names == byText.names)
        #expect(f.ethDst == "4c:09:d4:c6:12:7b" && f.ethSrc == "5c:cf:7f:05:f2:c6")
        #expect(f.ipSrc == "8.8.8.8" && f.ipDst == "192.168.2.108" && f.icmpType == "3")
        #expect(f.udpSrcPort == "5353" && f.udpDstPort == "53" && f.tcpSrcPort.isEmpty)
        #expect(f.time == Double("1540446382.933899000")! && f.length == 90)
        // A nanosecond stamp: the decimal read back, correctly rounded.
        #expect(CaptureReader.time(seconds: 1_540_446_382, nanoseconds: 933_899_123) == Double("1540446382.933899123")!)
        #expect(CaptureReader.time(seconds: 1, nanoseconds: -5) == nil && CaptureReader.time(seconds: 1, nanoseconds: 1_000_000_000) == nil)
        // Any nanosecond stamp, as tshark's nine decimals read back.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let s = Int.random(in: 0..<20_000_000_000, using: &rng), ns = Int.random(in: 0..<1_000_000_000, using: &rng)
            let text = "\(s)." + String(String(ns).reversed()).padding(toLength: 9, withPad: "0", startingAt: 0).reversed()
            #expect(CaptureReader.time(seconds: s, nanoseconds: ns) == Double(String(text)), "\(text)")
        }
    }

    @Test func badCapturesNameFileAndRecord() throws {
        let good = Self.eth + [0x08, 0x00] + Self.ipv4(6, [0x52, 0x52, 0x00, 0x50] + [UInt8](repeating: 0, count: 16))
        // The IPv4 header cut by the snap length: 20 bytes of a 54-byte frame.
        do { _ = try read(pcap(records: [(20, 54, Array(good.prefix(20)))])); Issue.record("accepted") } catch {
            #expect(error.description.contains("c.pcap: record 1: 20 bytes captured, the IPv4 header needs 34"), "\(error)")
        }
        // Skipped and counted with skipBad; the good records around it are read.
        let skipped = try read(pcap(records: [(good.count, good.count, good), (20, 54, Array(good.prefix(20))), (good.count, good.count, good)]), skipBad: true)
        #expect(skipped.packets.count == 2 && skipped.skipped == 1)
        // A file cut inside a record.
        let cut = pcap(records: [(good.count, good.count, good), (good.count, good.count, good)]).dropLast(10)
        do { _ = try read(Data(cut)); Issue.record("accepted") } catch {
            #expect(error.description.contains("record 2") && error.description.contains("truncated"), "\(error)")
        }
        // Not Ethernet.
        do { _ = try read(pcap(linkType: 105, records: [(good.count, good.count, good)])); Issue.record("accepted") } catch {
            #expect(error.description.contains("link type 105") && error.description.contains("not Ethernet"), "\(error)")
        }
        // Not a capture at all.
        do { _ = try read(Data("frame.time_epoch,frame.len\n".utf8)); Issue.record("accepted") } catch {
            #expect(error.description.contains("cannot read as pcap or pcapng"), "\(error)")
        }
    }
}
