import MicroHTTPDShim

/// libmicrohttpd's request callback. It lives in its own file, outside any actor-isolated
/// context: a C callback written in `main.swift` inherits main-actor isolation and crashes on
/// MHD's worker threads.
func shimHandler(_ context: UnsafeMutableRawPointer?, _ request: UnsafePointer<shim_request>?) {
    guard let context, let request else { return }
    Unmanaged<AutoencoderServer>.fromOpaque(context).takeUnretainedValue().handle(request)
}
