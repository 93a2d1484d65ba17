import AutoencoderCore

extension AutoencoderServer {
    /// Scales the parsed rows into `s.scaled` with the model's scaler (float64, then float32).
    private static func scale(_ count: Int, _ f: FrozenModel, _ s: inout RequestScratch) {
        RequestScratch.resize(&s.scaled, count)
        s.values.withUnsafeBufferPointer { v in s.scaled.withUnsafeMutableBufferPointer { f.scale(v, into: $0.baseAddress!) } }
    }

    /// Values that are valid Floats can still overflow once scaled, or through the network's
    /// sums; such a row has no meaningful score, so it is refused rather than answered with nulls.
    static func requireFinite(_ values: [Float], rowLength: Int, what: String) throws(RequestError) {
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw RequestError("row \(bad / rowLength): feature values are too extreme for the model (the \(what) is not finite); real traffic statistics are far smaller")
        }
    }

    func encode(_ rows: ParsedRows, _ m: WorkerModel, _ s: inout RequestScratch, into o: JSONOutput) throws(RequestError) {
        if rows.window { throw RequestError("'window' is for /reconstruct: /encode gives no verdicts") }
        let f = m.frozen
        let n = f.inputSize, k = f.latentSize
        Self.scale(rows.rows * n, f, &s)
        RequestScratch.resize(&s.output, rows.rows * k)
        s.scaled.withUnsafeBufferPointer { x in
            s.output.withUnsafeMutableBufferPointer { z in
                s.activations.withUnsafeMutableBufferPointer {
                    f.encode(x.baseAddress!, rows: rows.rows, into: z.baseAddress!, activations: $0.baseAddress!, capacity: RequestScratch.chunkRows)
                }
            }
        }
        try Self.requireFinite(s.scaled, rowLength: n, what: "scaled input")
        try Self.requireFinite(s.output, rowLength: k, what: "latent vector")
        s.output.withUnsafeBufferPointer { l in
            if rows.batched {
                o.raw(#"{"latents":["#)
                for r in 0..<rows.rows {
                    if r > 0 { o.byte(UInt8(ascii: ",")) }
                    o.floats(UnsafeBufferPointer(rebasing: l[(r * k)..<((r + 1) * k)]))
                }
                o.raw("]")
            } else {
                o.raw(#"{"latent":"#)
                o.floats(l)
            }
        }
        o.raw(#","model":"#); m.tagJSON.write(0, to: o); o.raw("}")
    }

    /// Returns how many rows were flagged.
    func reconstruct(_ rows: ParsedRows, _ m: WorkerModel, _ s: inout RequestScratch, into o: JSONOutput) throws(RequestError) -> Int {
        let f = m.frozen
        let n = f.inputSize
        let threshold = m.threshold
        Self.scale(rows.rows * n, f, &s)
        RequestScratch.resize(&s.output, rows.rows * n)
        RequestScratch.resize(&s.errors, rows.rows)
        s.scaled.withUnsafeBufferPointer { x in
            s.output.withUnsafeMutableBufferPointer { y in
                s.errors.withUnsafeMutableBufferPointer { e in
                    s.activations.withUnsafeMutableBufferPointer {
                        f.reconstruct(x.baseAddress!, rows: rows.rows, into: y.baseAddress!, errors: e.baseAddress!,
                                      activations: $0.baseAddress!, capacity: RequestScratch.chunkRows)
                    }
                }
            }
        }
        try Self.requireFinite(s.scaled, rowLength: n, what: "scaled input")
        try Self.requireFinite(s.errors, rowLength: 1, what: "reconstruction error")
        var flagged = 0
        o.raw(rows.batched ? #"{"results":["# : "{")
        s.scaled.withUnsafeBufferPointer { xs in
            s.output.withUnsafeBufferPointer { ys in
                s.errors.withUnsafeBufferPointer { errors in
                    s.unscaled.withUnsafeMutableBufferPointer { unscaled in
                        for r in 0..<rows.rows {
                            if rows.batched { if r > 0 { o.byte(UInt8(ascii: ",")) }; o.byte(UInt8(ascii: "{")) }
                            let x = UnsafeBufferPointer(rebasing: xs[(r * n)..<((r + 1) * n)])
                            let y = UnsafeBufferPointer(rebasing: ys[(r * n)..<((r + 1) * n)])
                            // The reconstruction in the client's units: the scaler's inverse.
                            f.unscale(y, into: unscaled.baseAddress!)
                            o.raw(#""reconstruction":"#)
                            o.floats(UnsafeBufferPointer(unscaled))
                            let anomaly = errors[r] > threshold
                            if anomaly { flagged += 1 }
                            o.raw(#","mse":"#); o.number(errors[r])
                            o.raw(#","threshold":"#); o.raw(m.thresholdJSON)
                            o.raw(#","anomaly":"#); o.bool(anomaly)
                            o.raw(#","top_features":["#)
                            let top = TopErrors(x, y)
                            for i in 0..<top.count {
                                if i > 0 { o.byte(UInt8(ascii: ",")) }
                                o.raw(#"{"name":"#); m.featureNamesJSON.write(top.index[i], to: o); o.raw(#","error":"#); o.number(top.error[i]); o.raw("}")
                            }
                            o.raw("]")
                            if rows.batched { o.byte(UInt8(ascii: "}")) }
                        }
                    }
                }
            }
        }
        if rows.batched { o.raw("],") } else { o.raw(",") }
        if rows.window {
            // The rule `ae evaluate` applies (WindowVote), over this batch's rows in order.
            let c = s.errors.withUnsafeBufferPointer { e in WindowVote.count(e.lazy.map { $0 > threshold }, size: m.windowSize) }
            o.raw(#""window":{"size":"#); o.integer(m.windowSize)
            o.raw(#","anomalous_windows":"#); o.integer(c.anomalous)
            o.raw(#","windows":"#); o.integer(c.windows)
            o.raw(#","anomaly":"#); o.bool(c.anomalous > 0)
            o.raw(#","first_anomalous_row":"#)
            if let first = c.first { o.integer(first) } else { o.raw("null") }
            o.raw("},")
        }
        o.raw(#""model":"#); m.tagJSON.write(0, to: o); o.raw("}")
        return flagged
    }
}
