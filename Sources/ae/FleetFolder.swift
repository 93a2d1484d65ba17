import Foundation
import TrafficFeatures

/// A data folder of N-BaIoT files, in either layout the data is published in:
/// - per device folder (the authors' archive, and `ae synth --fleet`): `<device>/benign_traffic.csv`
///   and optionally `<device>/gafgyt_attacks/*.csv` and `<device>/mirai_attacks/*.csv`;
/// - flat (the UCI repository's download): `<id>.benign.csv`, `<id>.gafgyt.<class>.csv`,
///   `<id>.mirai.<class>.csv`, the ids 1–9 standing for the nine devices (named below).
struct FleetFolder {
    /// The UCI download's device ids (its description and file list).
    static let uciDevices = [
        "1": "Danmini_Doorbell", "2": "Ecobee_Thermostat", "3": "Ennio_Doorbell", "4": "Philips_B120N10_Baby_Monitor",
        "5": "Provision_PT_737E_Security_Camera", "6": "Provision_PT_838_Security_Camera", "7": "Samsung_SNH_1011_N_Webcam",
        "8": "SimpleHome_XCS7_1002_WHT_Security_Camera", "9": "SimpleHome_XCS7_1003_WHT_Security_Camera",
    ]

    static let benignFile = "benign_traffic.csv"
    static let attackFolders = ["gafgyt_attacks", "mirai_attacks"]

    struct Device {
        var name: String
        var folder: String
        /// The benign file.
        var benign: String
        /// (family folder, class, path), in name order.
        var attacks: [(family: String, attack: String, path: String)]
    }

    var path: String
    var devices: [Device]

    /// Every sub-folder in name order (hidden ones skipped); each must hold `benign_traffic.csv`.
    init(_ path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw CLIError("\(path): no such folder")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { !$0.hasPrefix(".") }.sorted()
        var devices: [Device] = []
        // The flat layout: every `<id>.benign.csv` is a device, its attacks `<id>.<family>.<class>.csv`.
        for name in names where name.hasSuffix(".benign.csv") {
            let id = String(name.dropLast(".benign.csv".count))
            var attacks: [(String, String, String)] = []
            for file in names where file.hasPrefix(id + ".") && file.hasSuffix(".csv") && file != name {
                let parts = file.dropFirst(id.count + 1).dropLast(4).split(separator: ".", maxSplits: 1)
                guard parts.count == 2, ["gafgyt", "mirai"].contains(parts[0]) else { continue }
                attacks.append(("\(parts[0])_attacks", String(parts[1]), (path as NSString).appendingPathComponent(file)))
            }
            devices.append(Device(name: Self.uciDevices[id] ?? id, folder: path,
                                  benign: (path as NSString).appendingPathComponent(name), attacks: attacks))
        }
        if !devices.isEmpty {
            self.path = path
            self.devices = devices.sorted { $0.name < $1.name }
            return
        }
        for name in names {
            let folder = (path as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else { continue }
            var attacks: [(String, String, String)] = []
            for family in Self.attackFolders {
                let f = (folder as NSString).appendingPathComponent(family)
                let files = ((try? FileManager.default.contentsOfDirectory(atPath: f)) ?? []).filter { $0.hasSuffix(".csv") }.sorted()
                attacks += files.map { (family, String($0.dropLast(4)), (f as NSString).appendingPathComponent($0)) }
            }
            let device = Device(name: name, folder: folder, benign: (folder as NSString).appendingPathComponent(Self.benignFile), attacks: attacks)
            guard FileManager.default.fileExists(atPath: device.benign) else {
                throw CLIError("\(folder): no \(Self.benignFile); every device folder needs its benign traffic")
            }
            devices.append(device)
        }
        guard !devices.isEmpty else {
            throw CLIError("\(path): no device folders (expected <device>/\(Self.benignFile), or the UCI download's <id>.benign.csv files)")
        }
        self.path = path
        self.devices = devices
    }
}
