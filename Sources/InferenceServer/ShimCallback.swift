import MicroHTTPDShim

/// libmicrohttpd's request callback. It lives in its own file, outside any actor-isolated
/// context: a C callback written in `main.swift` inherits main-actor isolation and crashes on
/// MHD's worker threads.
func shimHandler(_ context: UnsafeMutableRawPointer?, _ request: UnsafePointer<shim_request>?) {
    guard let context, let request else { return }
    // Lent, not retained: the server outlives its shim, and every worker thread would otherwise
    // write the server object's reference count on every request.
    Unmanaged<AutoencoderServer>.fromOpaque(context)._withUnsafeGuaranteedRef { $0.handle(request) }
}

/// The shim's log callback (limits reached, rate-limited by the shim), on the shim's own threads.
func shimLogger(_ context: UnsafeMutableRawPointer?, _ level: Int32, _ message: UnsafePointer<CChar>?) {
    guard let context, let message else { return }
    let text = String(cString: message)
    Unmanaged<AutoencoderServer>.fromOpaque(context)._withUnsafeGuaranteedRef {
        if level > 0 { $0.logger.warning("\(text)") } else { $0.logger.info("\(text)") }
    }
}
