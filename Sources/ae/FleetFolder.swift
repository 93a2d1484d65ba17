import Foundation
import TrafficFeatures

/// A data folder in the UCI N-BaIoT layout: one sub-folder per device, each holding
/// `benign_traffic.csv` and optionally `gafgyt_attacks/*.csv` and `mirai_attacks/*.csv`.
struct FleetFolder {
    static let benignFile = "benign_traffic.csv"
    static let attackFolders = ["gafgyt_attacks", "mirai_attacks"]

    struct Device {
        var name: String
        var folder: String
        var benign: String { (folder as NSString).appendingPathComponent(FleetFolder.benignFile) }
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
        for name in names {
            let folder = (path as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else { continue }
            var attacks: [(String, String, String)] = []
            for family in Self.attackFolders {
                let f = (folder as NSString).appendingPathComponent(family)
                let files = ((try? FileManager.default.contentsOfDirectory(atPath: f)) ?? []).filter { $0.hasSuffix(".csv") }.sorted()
                attacks += files.map { (family, String($0.dropLast(4)), (f as NSString).appendingPathComponent($0)) }
            }
            let device = Device(name: name, folder: folder, attacks: attacks)
            guard FileManager.default.fileExists(atPath: device.benign) else {
                throw CLIError("\(folder): no \(Self.benignFile); every device folder needs its benign traffic")
            }
            devices.append(device)
        }
        guard !devices.isEmpty else { throw CLIError("\(path): no device folders (expected <device>/\(Self.benignFile))") }
        self.path = path
        self.devices = devices
    }
}
