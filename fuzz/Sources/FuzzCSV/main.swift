import AutoencoderCore
import Foundation

/// Any bytes as a feature CSV file: a table or a `CSVError`, never a crash or a hang.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
    if let table = try? CSVReader().read(path: path) {
        precondition(table.values.count == table.rowCount * table.columnCount, "table shape")
    }
    return 0
}
