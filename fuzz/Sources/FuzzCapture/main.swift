import Foundation
import TrafficFeatures

/// Any bytes as a capture file (libpcap reads pcap and pcapng; we decode the frames): packets or
/// a `PacketError`, never a crash or a hang.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
    for skipBad in [false, true] {
        var reader = CaptureReader(path: path, skipBad: skipBad, addresses: AddressTable())
        _ = try? reader.readAll()
    }
    return 0
}
