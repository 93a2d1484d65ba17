import Crypto
import Foundation

/// SHA-256 fingerprints: of the training data (recorded in the model file) and of model files
/// (the served model's name and `/model`'s `sha256`). swift-crypto's SHA256, in lower-case hex.
public enum Fingerprint {
    public static func sha256<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        hex(SHA256.hash(data: Array(bytes)))
    }

    /// The digest of a file, read in 64 KiB pieces.
    public static func sha256(ofFile path: String) throws(ModelFileError) -> String {
        guard let f = fopen(path, "rb") else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        defer { fclose(f) }
        var hash = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n == 0 { break }
            buffer.withUnsafeBytes { hash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        if ferror(f) != 0 { throw .io(path: path, reason: "read error") }
        return hex(hash.finalize())
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
