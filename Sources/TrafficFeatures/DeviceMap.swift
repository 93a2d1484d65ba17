import Glibc

/// Which device a packet belongs to, and so which model scores it: a gateway's list of its
/// devices, each named by its MAC address or its IP address, with the model it runs.
///
/// A packet belongs to the first device named by its source MAC, its source IP, its destination
/// MAC, then its destination IP: what a device sends is its own, and so is what it receives from
/// a host that is not itself a device. Addresses are matched in the text the capture and tshark
/// readers give (`aa:bb:cc:dd:ee:ff`, `192.168.2.108`, RFC 5952 IPv6), whatever form the list used.
public struct DeviceMap {
    /// One device: the address that names it (normalized) and its model's name.
    public struct Device: Sendable, Equatable {
        public let address: String
        public let model: String
    }

    public let devices: [Device]
    /// Interned address id → index in `devices`.
    private let byAddress: [Int32: Int]

    /// `entries`: address → model name, as a devices file gives them (`source` names the file in
    /// errors). Every address must be a MAC, IPv4 or IPv6 address, each device named once.
    public init(_ entries: [(address: String, model: String)], source: String, addresses: AddressTable) throws(DeviceMapError) {
        var devices: [Device] = []
        var byAddress: [Int32: Int] = [:]
        for (address, model) in entries {
            guard let normal = Self.normalize(address) else {
                throw DeviceMapError("\(source): '\(address)' is not a MAC address (aa:bb:cc:dd:ee:ff) or an IP address")
            }
            guard Self.isModelName(model) else {
                throw DeviceMapError("\(source): '\(address)': model name '\(model)' must be 1–64 of A–Z a–z 0–9 _ . -")
            }
            let id = addresses.intern(normal)
            if let other = byAddress[id] {
                throw DeviceMapError("\(source): '\(address)' names the same device as '\(devices[other].address)'")
            }
            byAddress[id] = devices.count
            devices.append(Device(address: normal, model: model))
        }
        self.devices = devices
        self.byAddress = byAddress
    }

    /// Marks the ids of the listed addresses (`AddressTable.collect`).
    public func markAddresses(_ marks: inout AddressTable.Marks) {
        for id in byAddress.keys { marks.insert(id) }
    }

    /// The index in `devices` of the device `p` belongs to, or nil.
    @inline(__always)
    public func device(of p: Packet) -> Int? {
        byAddress[p.srcMAC] ?? byAddress[p.srcIP] ?? byAddress[p.dstMAC] ?? byAddress[p.dstIP]
    }

    /// Model names as model files are named: `[A-Za-z0-9_.-]{1,64}`.
    public static func isModelName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) || c == 0x5F || c == 0x2E || c == 0x2D
        }
    }

    /// The text the readers give for `s`, if it is a MAC (`:` or `-` separated, any case), IPv4
    /// or IPv6 address.
    public static func normalize(_ s: String) -> String? {
        let parts = s.split(separator: s.contains("-") ? "-" : ":", omittingEmptySubsequences: false)
        if parts.count == 6, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }) {
            return parts.joined(separator: ":").lowercased()
        }
        var v4 = in_addr()
        if inet_pton(AF_INET, s, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { b in "\(b[0]).\(b[1]).\(b[2]).\(b[3])" }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, s, &v6) == 1 {
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &v6, &text, socklen_t(text.count)) != nil else { return nil }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return nil
    }
}

public struct DeviceMapError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ d: String) { description = d }
}
