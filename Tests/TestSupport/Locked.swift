import Foundation

/// A value shared by a test's threads, behind an `NSLock` (a pthread mutex).
///
/// Why not `Synchronization.Mutex`: ThreadSanitizer does not see the ordering that Mutex's
/// futex-based lock gives (the toolchain's library is not instrumented), and reported a "Swift
/// access race" on a tally that every thread updated inside `withLock`, once in several runs of
/// `ReliabilityTests`. ThreadSanitizer intercepts pthread mutexes, so it sees this one.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
