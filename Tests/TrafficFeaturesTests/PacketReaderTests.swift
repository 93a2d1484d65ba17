import Testing
@testable import TrafficFeatures

@Suite struct PacketReaderTests {
    static let header = PacketReader.fields.joined(separator: ",")

    func read(_ body: String, skipBad: Bool = false, header: String = PacketReaderTests.header) throws(PacketError) -> (PacketReader, [Packet]) {
        try withTemporaryFile(header + "\n" + body) { (path) throws(PacketError) in
            var r = PacketReader(path: path, skipBad: skipBad, addresses: AddressTable())
            let p = try r.readAll()
            return (r, p)
        }
    }

    @Test func keysPacketsAsKitsuneDoes() throws {
        let body = """
        1.5,60,m1,m2,10.0.0.1,10.0.0.2,1234,80,,,,,,,,,,,
        2.0,86,m2,m1,10.0.0.2,10.0.0.1,1234,80,,,3,3,,,,,,,
        2.5,42,m1,ff,,,,,,,,,1,m1,10.0.0.1,00,10.0.0.2,,
        3.0,98,m1,m2,10.0.0.1,8.8.8.8,,,,,8,0,,,,,,,
        3.5,70,m1,m2,,,,,5353,5353,,,,,,,,fe80::1,ff02::fb
        4.0,60,m1,m2,,,,,,,,,,,,,,,
        """
        let (r, p) = try read(body)
        let a = r.addresses
        #expect(p.count == 6)
        #expect(a.name(p[0].srcProto) == "1234" && a.name(p[0].dstIP) == "10.0.0.2")
        #expect(a.name(p[1].srcProto) == "1234")                               // ICMP error: the quoted ports
        #expect(p[2].isARP && a.name(p[2].srcIP) == "10.0.0.1" && a.name(p[2].srcProto) == "arp")
        #expect(a.name(p[3].srcProto) == "icmp")
        #expect(a.name(p[4].srcIP) == "fe80::1")                                // IPv6
        #expect(a.name(p[5].srcIP) == "m1" && a.name(p[5].dstIP) == "m2")       // no IP layer: MACs
        #expect(p[0].time == 1.5 && p[0].length == 60)
    }

    @Test func readsTSVAndAnyColumnOrder() throws {
        let p = try withTemporaryFile("frame.len\tframe.time_epoch\teth.src\teth.dst\tip.src\tip.dst\textra\n60\t7.25\ta\tb\t1.1.1.1\t2.2.2.2\tz\n") { (path) throws(PacketError) in
            var r = PacketReader(path: path, addresses: AddressTable())
            return try r.readAll()
        }
        #expect(p.count == 1 && p[0].time == 7.25 && p[0].length == 60)
    }

    func error(_ body: String, header: String = PacketReaderTests.header) -> PacketError? {
        do { _ = try read(body, header: header); return nil } catch { return error }
    }

    @Test func malformedLinesNameTheLine() {
        let good = "1,60,m1,m2,1.1.1.1,2.2.2.2,1,2,,,,,,,,,,,"
        #expect(error("\(good)\nabc,60,m1,m2,1.1.1.1,2.2.2.2,1,2,,,,,,,,,,,")?.line == 3)
        #expect(error("\(good)\nabc,60,m1,m2,1.1.1.1,2.2.2.2,1,2,,,,,,,,,,,")?.message.contains("frame.time_epoch") == true)
        #expect(error("1,-5,m1,m2,1.1.1.1,2.2.2.2,1,2,,,,,,,,,,,")?.message.contains("frame.len") == true)
        #expect(error("1,60,m1,m2,1.1.1.1,2.2.2.2,99999,2,,,,,,,,,,,")?.message.contains("tcp.srcport") == true)
        #expect(error("1,60,m1")?.message.contains("expected 19 fields") == true)
        #expect(error("1,60,a,b", header: "frame.time_epoch,frame.len,eth.src,eth.dst")?.message.contains("missing column") == true)
        #expect(error("", header: "")?.message.isEmpty == false)
    }

    @Test func skipBadCountsAndContinues() throws {
        let body = "1,60,m1,m2,1.1.1.1,2.2.2.2,1,2,,,,,,,,,,,\nnope\n2,60,m1,m2,1.1.1.1,2.2.2.2,1,2,,,,,,,,,,,\n"
        let (r, p) = try read(body, skipBad: true)
        #expect(p.count == 2 && r.skipped == 1)
        #expect(r.skippedMessages.first?.contains(":3:") == true)
    }

    @Test func realCaptureReadsCompletely() throws {
        var r = PacketReader(path: fixtures.appendingPathComponent("kitsune_mirai_first_packets.csv").path, addresses: AddressTable())
        var n = 0
        try r.forEach { _ in n += 1 }
        #expect(n == 38_363)
    }
}
