import Foundation
import Testing

/// iproute2's `ip`, wherever the distribution puts it (nil: not installed; the namespace tests
/// are then disabled).
let ipTool = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// Runs `ip …` to completion; a failure records the command and its message.
@discardableResult
func ip(_ args: [String]) throws -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: ipTool!)
    p.arguments = args
    let err = Pipe()
    p.standardError = err
    try p.run()
    let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    if p.terminationStatus != 0 { Issue.record("ip \(args.joined(separator: " ")): \(message)") }
    return p.terminationStatus == 0
}
