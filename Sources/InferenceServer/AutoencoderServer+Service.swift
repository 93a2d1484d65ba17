import Foundation
import ServiceLifecycle
import UnixSignals

/// The server as a swift-service-lifecycle `Service`: run it in a `ServiceGroup` whose graceful
/// shutdown signals are SIGTERM and SIGINT (as `ae-server` does).
extension AutoencoderServer: Service {
    /// Binds and serves; looks at the models on every SIGHUP and, with `poll_seconds`, on a
    /// timer; on graceful shutdown, drains (`shutdown()`: readiness off, the listener closed,
    /// what clients sent answered) and returns.
    public func run() async throws {
        try start()
        let poll = configuration.pollSeconds
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
                    self.reload()
                }
            }
            if poll > 0 {
                group.addTask {
                    while !Task.isCancelled, !Task.isShuttingDownGracefully {
                        try? await Task.sleep(for: .milliseconds(Int(poll * 1000)))
                        if Task.isCancelled || Task.isShuttingDownGracefully { break }
                        self.reload(force: false)
                    }
                }
            }
            await group.next()   // the signal loop ends at the graceful shutdown
            group.cancelAll()
        }
        logger.info("shutting down: draining")
        // The drain blocks (it waits on the shim's condition variable), so not on a task's thread.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread {
                self.shutdown()
                done.resume()
            }.start()
        }
    }
}
