import Foundation
import Testing
@testable import TrafficFeatures

/// What `CaptureWriter` writes, `CaptureReader` reads back as the same packets: the same
/// addresses, ports and protocols by name, lengths and times to the nanosecond.
@Suite struct CaptureWriterTests {
    @Test func simulatedTrafficRoundTrips() throws {
        let simulated = AddressTable()
        var sim = TrafficSimulator(seed: 5, addresses: simulated, device: DeviceProfile.fleet[2])
        let attack = sim.simulate(DeviceProfile.fleet[2], rows: 300, attack: .mirai(.scan), warmUp: 120).packets
        var gafgyt = TrafficSimulator(seed: 6, addresses: simulated)
        let packets = attack.map(\.packet) + gafgyt.generate(rows: 800).map(\.packet)
        // ARP, UDP and TCP ports, and frames whose ports are both present are all in the sample.
        #expect(packets.contains { $0.isARP })
        #expect(packets.contains { Int(simulated.name($0.srcProto)).map(CaptureWriter.udpServices.contains) == true })
        #expect(packets.contains { Int(simulated.name($0.srcProto)).map { !CaptureWriter.udpServices.contains($0) } == true })
        try withTemporaryFile("", name: "sim.pcap") { path in
            let writer = try CaptureWriter(path: path)
            for p in packets { try writer.write(p, addresses: simulated) }
            try writer.flush()
            #expect(writer.written == packets.count)
            let read = AddressTable()
            var reader = CaptureReader(path: path, addresses: read)
            let back = try reader.readAll()
            #expect(back.count == packets.count)
            for (a, b) in zip(packets, back) {
                let same = [a.srcMAC, a.dstMAC, a.srcIP, a.dstIP, a.srcProto, a.dstProto].map(simulated.name)
                    == [b.srcMAC, b.dstMAC, b.srcIP, b.dstIP, b.srcProto, b.dstProto].map(read.name)
                #expect(same && a.isARP == b.isARP && a.length == b.length && abs(a.time - b.time) <= 1e-9 * a.time, "\(a) \(b)")
                if !same { break }
            }
        }
    }

    @Test func anUnwritablePathIsAnErrorNamingIt() {
        #expect(throws: PacketError.self) { try CaptureWriter(path: "/nonexistent-dir/x.pcap") }
    }
}
