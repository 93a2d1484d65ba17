import Foundation
import ServiceLifecycle
import UnixSignals

/// The server as a swift-service-lifecycle `Service`: run it in a `ServiceGroup` whose graceful
/// shutdown signals are SIGTERM and SIGINT (as `ae-server` does).
extension AutoencoderServer: Service {
    /// Binds and serves; reloads the model on every SIGHUP; on graceful shutdown, drains
    /// (`shutdown()`: readiness off, the listener closed, what clients sent answered) and returns.
    public func run() async throws {
        try start()
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            reload()
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
