import Testing
@testable import TrafficFeatures

@Suite struct TrafficSimulatorTests {
    func run(seed: UInt64, rows: Int) -> [TrafficSimulator.LabelledPacket] {
        var s = TrafficSimulator(seed: seed, addresses: AddressTable())
        return s.generate(rows: rows)
    }

    @Test func sameSeedSamePackets() {
        let a = run(seed: 5, rows: 3000), b = run(seed: 5, rows: 3000), c = run(seed: 6, rows: 3000)
        #expect(a.map(\.packet) == b.map(\.packet))
        #expect(a.map(\.label) == b.map(\.label))
        #expect(a.map(\.packet) != c.map(\.packet))
    }

    @Test func classBalanceAndOrder() {
        let p = run(seed: 1, rows: 20_000)
        let rows = p.filter(\.isDeviceTraffic)
        #expect(rows.count == 20_000)
        let attacks = rows.filter { $0.label != 0 }.count
        let share = Double(attacks) / Double(rows.count)
        #expect(share >= 0.10 && share <= 0.30, "attack share \(share)")
        #expect(Set(rows.map(\.label)) == Set(0...5))
        #expect(zip(p, p.dropFirst()).allSatisfy { $0.packet.time <= $1.packet.time })
        #expect(p.allSatisfy { $0.packet.length >= 60 && $0.packet.length <= 1450 })
    }

    @Test func injectsIntoACapture() {
        let addresses = AddressTable()
        var base = TrafficSimulator(seed: 2, addresses: addresses)
        let capture = base.generate(rows: 2000).filter { $0.label == 0 }.map(\.packet)
        var s = TrafficSimulator(seed: 3, addresses: addresses)
        let merged = s.inject(into: capture, device: capture[0].srcIP)!
        let attacks = merged.filter { $0.label != 0 }.count
        #expect(merged.count > capture.count)
        #expect(Double(attacks) / Double(merged.count) > 0.1)
        #expect(merged.filter { $0.label == 0 }.map(\.packet) == capture)   // the real packets are all there, in order
    }
}
