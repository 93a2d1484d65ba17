import AutoencoderCore
import Foundation

/// The Open Inference Protocol v2 (KServe's "v2", Triton's HTTP API) over the same models:
/// health, server and model metadata, inference with JSON or binary tensors (Triton's
/// `binary_tensor_data` extension), and the `model_repository` extension.
extension AutoencoderServer {
    /// `GET /v2`'s `extensions`.
    static let v2Extensions: StaticString = #"["binary_tensor_data","model_repository"]"#

    func answerV2(_ route: Route, contentType: UnsafePointer<CChar>?, inferenceHeader: UnsafePointer<CChar>?,
                  body: UnsafeBufferPointer<UInt8>, into out: JSONOutput, worker: WorkerCache) throws(HTTPError) -> HTTPResponse {
        switch route.endpoint {
        case .v2Server:
            out.raw(#"{"name":"iot-autoencoder","version":"#); out.string(Self.version)
            out.raw(#","extensions":"#); out.raw(Self.v2Extensions); out.raw("}")
            return .ok
        case .v2Live:
            return .ok   // the protocol's health answers have empty bodies
        case .v2Ready:
            // The protocol says 4xx for "false".
            if isDraining { throw HTTPError(status: 400, message: "not ready: draining") }
            if let why = repository.unreadiness() { throw HTTPError(status: 400, message: "not ready: \(why)") }
            return .ok
        case .v2ModelReady:
            worker.refresh(from: repository)
            let m: LoadedModel
            do throws(HTTPError) { m = try model(route.name, worker) } catch where error.status == 503 {
                throw HTTPError(status: 400, message: error.message)
            }
            try checkVersion(route, m)
            return .ok
        case .v2Model:
            worker.refresh(from: repository)
            let m = try model(route.name, worker)
            try checkVersion(route, m)
            describe(m, into: out)
            return .ok
        case .v2Infer:
            return try infer(route, contentType: contentType, inferenceHeader: inferenceHeader, body: body, into: out, worker: worker)
        case .v2Index:
            try requireEmptyOrObject(body)
            index(into: out)
            return .ok
        case .v2Load, .v2Unload:
            // They change what every client is served: never open.
            if auth.tokens.isEmpty {
                throw HTTPError(status: 403, message: "loading and unloading models needs auth: configure auth_tokens")
            }
            try requireEmptyOrObject(body)
            let name = String(route.name ?? "")
            if route.endpoint == .v2Unload {
                guard repository.unload(name) else { throw HTTPError.noSuchModel(name) }
                logger.info("model unloaded (repository extension)", metadata: ["model": "\(name)"])
                metrics.scanned(ModelRepository.ScanReport(removed: [name]), loaded: repository.models.count)
            } else {
                switch repository.load(name) {
                case .success(let m):
                    logger.info("model loaded (repository extension)", metadata: ["model": "\(m.tag)"])
                    metrics.scanned(ModelRepository.ScanReport(loaded: [m]), loaded: repository.models.count)
                case .failure(.noSuchFile):
                    throw HTTPError.noSuchModel(name)
                case .failure(.invalid(let e)):
                    metrics.scanned(ModelRepository.ScanReport(failed: [(name, e)]), loaded: repository.models.count)
                    throw HTTPError(status: 400, message: "model '\(name)' cannot be loaded: \(e)")
                }
            }
            return .ok
        case .livez, .healthz, .readyz, .metrics, .model, .encode, .reconstruct, .models, .namedModel, .namedEncode, .namedReconstruct:
            // `answer` hands only the v2 endpoints here; listing the others (no `default`) makes a
            // new endpoint a compile error until it is placed.
            throw HTTPError.notFound("")
        }
    }

    /// This build's version, for `GET /v2`.
    static let version = "1.0.0"

    /// A `/versions/{v}` that is not the served version is 404.
    private func checkVersion(_ route: Route, _ m: LoadedModel) throws(HTTPError) {
        if let v = route.version, v != m.version {
            throw HTTPError(status: 404, message: "model '\(m.name)' has no version '\(v.prefix(64))'; it serves \(m.version)")
        }
    }

    /// OIP v2 model metadata: one input, four outputs, variable batch.
    private func describe(_ m: LoadedModel, into out: JSONOutput) {
        let n = m.model.network.inputSize, k = m.model.network.latentSize
        out.raw(#"{"name":"#); out.string(m.name)
        out.raw(#","versions":["#); out.string(String(m.version))
        out.raw(#"],"platform":"iot-autoencoder","inputs":[{"name":"features","datatype":"FP32","shape":[-1,"#); out.integer(n)
        out.raw(#"]}],"outputs":[{"name":"latent","datatype":"FP32","shape":[-1,"#); out.integer(k)
        out.raw(#"]},{"name":"reconstruction","datatype":"FP32","shape":[-1,"#); out.integer(n)
        out.raw(#"]},{"name":"mse","datatype":"FP32","shape":[-1]},{"name":"anomaly","datatype":"BOOL","shape":[-1]}]}"#)
    }

    /// `POST /v2/repository/index`: every model file, with its state.
    private func index(into out: JSONOutput) {
        var entries = repository.entries().map { ($0.name, $0.model, $0.failure) }
        for name in repository.unloadedNames where !entries.contains(where: { $0.0 == name }) { entries.append((name, nil, "unloaded")) }
        entries.sort { $0.0 < $1.0 }
        out.byte(UInt8(ascii: "["))
        for (i, e) in entries.enumerated() {
            if i > 0 { out.byte(UInt8(ascii: ",")) }
            out.raw(#"{"name":"#); out.string(e.0)
            if let m = e.1 {
                out.raw(#","version":"#); out.string(String(m.version)); out.raw(#","state":"READY","reason":"#); out.string(e.2 ?? "")
            } else {
                out.raw(#","state":"UNAVAILABLE","reason":"#); out.string(e.2 ?? "")
            }
            out.byte(UInt8(ascii: "}"))
        }
        out.byte(UInt8(ascii: "]"))
    }

    /// The repository extension's bodies carry nothing this server uses; anything but an empty
    /// body or a JSON object is refused.
    private func requireEmptyOrObject(_ body: UnsafeBufferPointer<UInt8>) throws(HTTPError) {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return }
        guard (try? JSONSerialization.jsonObject(with: Data(buffer: body))) is [String: Any] else {
            throw HTTPError.badRequest("expected an empty body or a JSON object")
        }
    }

    /// `application/json`, `application/octet-stream` (tritonclient's binary form), or none.
    private static func isInferContentType(_ contentType: UnsafePointer<CChar>) -> Bool {
        isJSON(contentType) || isMediaType(contentType, "application/octet-stream")
    }

    private func infer(_ route: Route, contentType: UnsafePointer<CChar>?, inferenceHeader: UnsafePointer<CChar>?,
                       body: UnsafeBufferPointer<UInt8>, into out: JSONOutput, worker: WorkerCache) throws(HTTPError) -> HTTPResponse {
        if let contentType, !Self.isInferContentType(contentType) {
            throw HTTPError(status: 415, message: "Content-Type must be application/json (or application/octet-stream with binary tensors), got '\(String(cString: contentType).prefix(80))'")
        }
        let slot = try worker.slot(route.name, in: repository)
        try checkVersion(route, slot.source)
        worker.recorder = slot.metrics
        defer { worker.releaseLargeBuffers(slot) }
        // The JSON's length: the whole body, or the header's count of its first bytes.
        var jsonLength = body.count
        if let inferenceHeader {
            guard let n = Self.decimal(inferenceHeader), n > 0, n <= body.count else {
                throw HTTPError.badRequest("Inference-Header-Content-Length must be a byte count within the body's \(body.count) bytes, got '\(String(cString: inferenceHeader).prefix(24))'")
            }
            jsonLength = n
        }
        do throws(RequestError) {
            let request: InferRequest
            if inferenceHeader != nil {
                // The JSON part, copied so that it ends in a NUL: no number reads on into the tensor bytes.
                worker.scratch!.json.removeAll(keepingCapacity: true)
                worker.scratch!.json.append(contentsOf: UnsafeBufferPointer(rebasing: body[0..<jsonLength]))
                worker.scratch!.json.append(0)
                let binary = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: body[jsonLength...]))
                request = try worker.scratch!.json.withUnsafeBufferPointer { (j) throws(RequestError) in
                    try slot.model.inferParser.parse(json: UnsafeBufferPointer(rebasing: j.dropLast()), binary: binary, hasHeader: true, into: &worker.scratch!.values)
                }
            } else {
                request = try slot.model.inferParser.parse(json: body, binary: UnsafeRawBufferPointer(start: nil, count: 0), hasHeader: false, into: &worker.scratch!.values)
            }
            let flagged = try inferAnswer(request, slot.model, &worker.scratch!, into: out)
            if flagged > 0 { slot.metrics.anomalies.increment(by: flagged) }
            return request.outputs.contains(where: \.binary)
                ? HTTPResponse(status: 200, contentType: "application/octet-stream", inferenceHeaderLength: out.count - binaryBytes(request, slot.model))
                : .ok
        } catch {
            return HTTPError.badRequest(error.message).render(into: out)
        }
    }

    /// The bytes the binary outputs add after the JSON.
    private func binaryBytes(_ r: InferRequest, _ m: WorkerModel) -> Int {
        r.outputs.reduce(0) { sum, o in
            guard o.binary else { return sum }
            switch o.output {
            case .latent: return sum + 4 * r.rows * m.frozen.latentSize
            case .reconstruction: return sum + 4 * r.rows * m.frozen.inputSize
            case .mse: return sum + 4 * r.rows
            case .anomaly: return sum + r.rows
            }
        }
    }

    /// Runs the model for what `r` asks and writes the answer: the JSON, then the binary
    /// outputs' bytes in the order the JSON lists them. Returns how many rows were flagged.
    private func inferAnswer(_ r: InferRequest, _ m: WorkerModel, _ s: inout RequestScratch, into o: JSONOutput) throws(RequestError) -> Int {
        let f = m.frozen
        let n = f.inputSize, k = f.latentSize, rows = r.rows
        RequestScratch.resize(&s.scaled, rows * n)
        s.values.withUnsafeBufferPointer { v in s.scaled.withUnsafeMutableBufferPointer { f.scale(v, into: $0.baseAddress!) } }
        let wantsLatent = r.outputs.contains(.latent)
        let wantsScores = r.outputs.contains(.reconstruction) || r.outputs.contains(.mse) || r.outputs.contains(.anomaly)
        if wantsLatent { RequestScratch.resize(&s.latent, rows * k) }
        if wantsLatent && !wantsScores {
            s.scaled.withUnsafeBufferPointer { x in
                s.latent.withUnsafeMutableBufferPointer { z in
                    s.activations.withUnsafeMutableBufferPointer {
                        f.encode(x.baseAddress!, rows: rows, into: z.baseAddress!, activations: $0.baseAddress!, capacity: RequestScratch.chunkRows)
                    }
                }
            }
        }
        if wantsScores {
            RequestScratch.resize(&s.output, rows * n)
            RequestScratch.resize(&s.errors, rows)
            s.scaled.withUnsafeBufferPointer { x in
                s.output.withUnsafeMutableBufferPointer { y in
                    s.errors.withUnsafeMutableBufferPointer { e in
                        s.latent.withUnsafeMutableBufferPointer { z in
                            s.activations.withUnsafeMutableBufferPointer {
                                // The latent vectors, when asked for, come from the same pass.
                                f.reconstruct(x.baseAddress!, rows: rows, into: y.baseAddress!, errors: e.baseAddress!,
                                              activations: $0.baseAddress!, capacity: RequestScratch.chunkRows,
                                              latent: wantsLatent ? z.baseAddress! : nil)
                            }
                        }
                    }
                }
            }
        }
        // A row whose score overflows (features far beyond anything the model saw: real captures
        // have them, a new channel's first jitter) is answered, not refused, so that one row does
        // not cost a gateway its whole batch: its mse is +inf or NaN (null in JSON) and it is an
        // anomaly, as `ae detect` counts it.

        let threshold = m.threshold
        o.raw(#"{"model_name":"#); m.nameAndVersionJSON.write(0, to: o)
        o.raw(#","model_version":"#); m.nameAndVersionJSON.write(1, to: o)
        if let id = r.id { o.raw(#","id":"#); o.raw(id) }
        o.raw(#","outputs":["#)
        for (i, out) in r.outputs.enumerated() {
            if i > 0 { o.byte(UInt8(ascii: ",")) }
            o.raw(#"{"name":""#); o.raw(out.output.name)
            o.raw(out.output == .anomaly ? #"","datatype":"BOOL","shape":["# : #"","datatype":"FP32","shape":["#)
            o.integer(rows)
            switch out.output {
            case .latent: o.byte(UInt8(ascii: ",")); o.integer(k)
            case .reconstruction: o.byte(UInt8(ascii: ",")); o.integer(n)
            case .mse, .anomaly: break
            }
            o.byte(UInt8(ascii: "]"))
            if out.binary {
                let size = out.output == .anomaly ? rows : 4 * rows * (out.output == .latent ? k : out.output == .reconstruction ? n : 1)
                o.raw(#","parameters":{"binary_data_size":"#); o.integer(size); o.raw("}}")
                continue
            }
            o.raw(#","data":["#)
            switch out.output {
            case .latent:
                s.latent.withUnsafeBufferPointer { o.floatItems($0) }
            case .reconstruction:
                s.output.withUnsafeBufferPointer { ys in
                    s.unscaled.withUnsafeMutableBufferPointer { u in
                        for row in 0..<rows {
                            f.unscale(UnsafeBufferPointer(rebasing: ys[(row * n)..<((row + 1) * n)]), into: u.baseAddress!)
                            o.floatItems(UnsafeBufferPointer(u))
                        }
                    }
                }
            case .mse:
                s.errors.withUnsafeBufferPointer { o.floatItems($0) }
            case .anomaly:
                for row in 0..<rows { o.raw(!(s.errors[row] <= threshold) ? "true," : "false,") }
            }
            o.dropLastComma()
            o.raw("]}")
        }
        o.raw("]}")
        // The binary outputs' bytes, little-endian, in the order listed.
        for out in r.outputs where out.binary {
            switch out.output {
            case .latent: s.latent.withUnsafeBytes { o.append($0.baseAddress!.assumingMemoryBound(to: UInt8.self), $0.count) }
            case .reconstruction:
                s.output.withUnsafeBufferPointer { ys in
                    s.unscaled.withUnsafeMutableBufferPointer { u in
                        for row in 0..<rows {
                            f.unscale(UnsafeBufferPointer(rebasing: ys[(row * n)..<((row + 1) * n)]), into: u.baseAddress!)
                            let bytes = UnsafeRawBufferPointer(u)
                            o.append(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count)
                        }
                    }
                }
            case .mse: s.errors.withUnsafeBytes { o.append($0.baseAddress!.assumingMemoryBound(to: UInt8.self), $0.count) }
            case .anomaly: for row in 0..<rows { o.byte(!(s.errors[row] <= threshold) ? 1 : 0) }
            }
        }
        return wantsScores ? s.errors.prefix(rows).reduce(0) { $0 + (!($1 <= threshold) ? 1 : 0) } : 0
    }

    /// A header's decimal digits (1…12 of them, nothing else) as a number.
    static func decimal(_ text: UnsafePointer<CChar>) -> Int? {
        var v = 0, i = 0
        while text[i] != 0 {
            let d = Int(text[i]) - 48
            guard (0...9).contains(d), i < 12 else { return nil }
            v = v * 10 + d
            i += 1
        }
        return i > 0 ? v : nil
    }
}
