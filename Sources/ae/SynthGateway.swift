import Foundation
import TrafficFeatures

/// `ae synth --gateway FILE.pcap`: what a home gateway would capture from a fleet's devices, as
/// one pcap, with the devices file `ae detect` reads beside it (each device's MAC → its model,
/// named as `ae train --data` names it). Every device runs its benign traffic; one of them is
/// infected once its warm-up is over and runs an attack, benign flows going on beside it. The
/// devices are simulated with seeds of their own (not the ones `--fleet` trains on), then merged
/// in time order; the network's other hosts come once, from the first device's simulation.
struct GatewayWriter {
    var devices: [DeviceProfile]
    var benignRows: Int
    var attackRows: Int
    var attack: FleetAttack
    var attacked: Int
    var seed: UInt64

    struct Summary { var packets: Int; var attackStart: Double; var devicesFile: String }

    func run(path: String, force: Bool) throws -> Summary {
        let devicesFile = (path.hasSuffix(".pcap") ? String(path.dropLast(5)) : path) + ".devices.json"
        try Output.checkWritable(path, force: force)
        try Output.checkWritable(devicesFile, force: force)
        var merged: [(packet: Packet, table: AddressTable)] = []
        var attackStart = 0.0
        for (d, profile) in devices.enumerated() {
            let table = AddressTable()
            var sim = TrafficSimulator(seed: seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(d) &* 104_729 &+ 0xA11CE, addresses: table, device: profile)
            let packets = d == attacked
                ? sim.simulate(profile, rows: attackRows, attack: attack).packets
                : sim.simulate(profile, rows: benignRows).packets
            if d == attacked { attackStart = packets.first { $0.label != 0 }?.packet.time ?? 0 }
            for lp in packets where lp.isDeviceTraffic || d == 0 { merged.append((lp.packet, table)) }
        }
        merged.sort { $0.packet.time < $1.packet.time }   // (stable: a device's own order is kept on ties)
        let writer = try CaptureWriter(path: path)
        for m in merged { try writer.write(m.packet, addresses: m.table) }
        try writer.flush()
        let map = Dictionary(uniqueKeysWithValues: devices.map { ($0.mac, $0.name) })
        let json = try JSONSerialization.data(withJSONObject: map, options: [.prettyPrinted, .sortedKeys])
        guard FileManager.default.createFile(atPath: devicesFile, contents: json + Data("\n".utf8)) else {
            throw CLIError("\(devicesFile): cannot write")
        }
        return Summary(packets: merged.count, attackStart: attackStart, devicesFile: devicesFile)
    }
}
