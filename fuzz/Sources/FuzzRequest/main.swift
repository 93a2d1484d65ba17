import AutoencoderCore
import Foundation
import InferenceServer

/// Any bytes as the body of every POST route, through everything the server does between the
/// complete body and the queued response: a 200 or a 4xx with a JSON body, never a crash or a 5xx.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    for path in ["/encode", "/reconstruct"] {
        let r = server.respond(method: "POST", path: path, contentType: "application/json", body: body)
        precondition(r.status == 200 || (400..<500).contains(r.status), "status \(r.status)")
        precondition(r.body.first == UInt8(ascii: "{") && r.body.last == UInt8(ascii: "}"), "not a JSON object")
    }
    return 0
}
