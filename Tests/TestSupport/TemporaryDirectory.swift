import Foundation

/// A fresh folder for a test's files, removed with everything in it when the value goes away:
/// a suite holding one as a stored property loses it after each test, passed or failed. (The
/// test targets' one shared piece: a library target that only tests depend on.)
public final class TemporaryDirectory: @unchecked Sendable {
    public let url: URL

    public init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ae-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
