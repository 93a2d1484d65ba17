import AutoencoderCore
import Foundation
import Testing
@testable import InferenceServer

@Suite struct EndpointTests {
    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }

    @Test func probesModelAndMetrics() throws {
        let model = ServerHarness.model()
        let server = try ServerHarness.start(serving: model, in: dir)
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        for path in ["/livez", "/healthz"] {
            let r = try c.request("GET", path)
            #expect(r.status == 200 && r.object["status"] as? String == "ok")
        }
        let ready = try c.request("GET", "/readyz")
        #expect(ready.status == 200)
        #expect((ready.object["model"] as? String)?.hasPrefix("model@") == true)
        let m = try c.request("GET", "/model").object
        #expect(m["feature_names"] as? [String] == ServerHarness.features)
        #expect(m["latent_size"] as? Int == 3)
        #expect(abs((m["threshold"] as? Double ?? 0) - 0.02) < 1e-7)
        #expect(m["threshold_rule"] as? String == "mean+std")
        #expect((m["sha256"] as? String)?.count == 64)
        #expect((m["training"] as? [String: Any])?["epochs_run"] as? Int == 1)
        _ = try c.request("POST", "/encode", json: #"{"features": \#(ServerHarness.json(ServerHarness.rows(1)[0]))}"#)
        let metrics = try c.request("GET", "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
        #expect(metrics.text.contains(#"ae_http_requests_total{model="model",route="/encode",status="200"} 1"#))
        #expect(metrics.text.contains(#"ae_http_request_duration_seconds_count{model="model",route="/encode"} 1"#))
        #expect(metrics.text.contains("ae_model_info{"))
        #expect(metrics.text.contains("ae_model_loaded_timestamp_seconds"))
        #expect(metrics.text.contains(#"ae_model_reload_failures_total{model="model"} 0"#))
    }

    @Test func encodeMatchesTheOfflineEncoder() throws {
        let model = ServerHarness.model()
        let server = try ServerHarness.start(serving: model, in: dir)
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        let rows = ServerHarness.rows(5)
        let table = FeatureTable(featureNames: ServerHarness.features, values: rows.flatMap { $0 }, targets: nil, source: "test")
        let expected = model.encode(table)
        // Array form.
        let single = try c.request("POST", "/encode", json: #"{"features": \#(ServerHarness.json(rows[0]))}"#)
        #expect(single.status == 200)
        let latent = single.object["latent"] as? [Double] ?? []
        #expect(latent.count == 3)
        for k in 0..<3 { #expect(abs(latent[k] - Double(expected[k])) < 1e-6) }
        #expect((single.object["model"] as? String)?.hasPrefix("model@") == true)
        // Named form, in another order.
        let named = "{" + zip(ServerHarness.features, rows[1]).reversed().map { "\"\($0)\": \($1)" }.joined(separator: ", ") + "}"
        let byName = try c.request("POST", "/encode", json: #"{"features": \#(named)}"#).object["latent"] as? [Double] ?? []
        for k in 0..<3 { #expect(abs(byName[k] - Double(expected[3 + k])) < 1e-6) }
        // Batch, mixing forms.
        let batch = #"{"instances": [\#(ServerHarness.json(rows[0])), \#(named), \#(rows[2...].map(ServerHarness.json).joined(separator: ","))]}"#
        let latents = try c.request("POST", "/encode", json: batch).object["latents"] as? [[Double]] ?? []
        #expect(latents.count == 5)
        for r in 0..<5 { for k in 0..<3 { #expect(abs(latents[r][k] - Double(expected[r * 3 + k])) < 1e-6) } }
    }

    @Test func reconstructMatchesTheOfflineEvaluator() throws {
        let model = ServerHarness.model(threshold: 0.05)
        let server = try ServerHarness.start(serving: model, in: dir)
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        let rows = ServerHarness.rows(8)
        let table = FeatureTable(featureNames: ServerHarness.features, values: rows.flatMap { $0 }, targets: nil, source: "test")
        let errors = model.reconstructionErrors(table)
        let one = try c.request("POST", "/reconstruct", json: #"{"features": \#(ServerHarness.json(rows[0]))}"#).object
        #expect(abs((one["mse"] as? Double ?? -1) - Double(errors[0])) < 1e-6)
        #expect(one["anomaly"] as? Bool == (errors[0] > 0.05))
        #expect(abs((one["threshold"] as? Double ?? 0) - 0.05) < 1e-7)
        let recon = one["reconstruction"] as? [Double] ?? []
        #expect(recon.count == ServerHarness.features.count)
        // In client units: the scaled reconstruction (sigmoid, in (0, 1)) mapped back through the scaler.
        for j in recon.indices {
            let scaled = recon[j] * model.scaler.scale[j] + model.scaler.min[j]
            #expect(scaled > -1e-4 && scaled < 1 + 1e-4)
        }
        let top = one["top_features"] as? [[String: Any]] ?? []
        #expect(top.count == 5)
        let topErrors = top.compactMap { $0["error"] as? Double }
        #expect(topErrors == topErrors.sorted(by: >))
        // The per-feature squared errors average to the MSE (the top 5 of 7 bound it from below).
        #expect(topErrors.reduce(0, +) / Double(ServerHarness.features.count) <= (one["mse"] as? Double ?? 0) + 1e-6)
        #expect(Set(top.compactMap { $0["name"] as? String }).isSubset(of: Set(ServerHarness.features)))

        let batch = try c.request("POST", "/reconstruct", json: #"{"instances": [\#(rows.map(ServerHarness.json).joined(separator: ","))]}"#).object
        let results = batch["results"] as? [[String: Any]] ?? []
        #expect(results.count == 8)
        for (r, res) in results.enumerated() {
            #expect(abs((res["mse"] as? Double ?? -1) - Double(errors[r])) < 1e-6)
            #expect(res["anomaly"] as? Bool == (errors[r] > 0.05))
        }
        let flagged = errors.filter { $0 > 0.05 }.count + (errors[0] > 0.05 ? 1 : 0)
        let metrics = try c.request("GET", "/metrics").text
        #expect(metrics.contains(#"ae_anomalies_flagged_total{model="model"} \#(flagged)"#))
    }

    /// `"window": true` votes over the batch's rows in order with the model's ws*, by the rule
    /// `ae evaluate` applies: checked against a plain reference on the per-row verdicts.
    @Test func windowVerdictsFollowTheEvaluatorsRule() throws {
        let rows = ServerHarness.rows(60, seed: 9)
        var model = ServerHarness.model()
        let table = FeatureTable(featureNames: ServerHarness.features, values: rows.flatMap { $0 }, targets: nil, source: "test")
        // A threshold at the median: about half the rows anomalous, so windows go both ways.
        model.threshold = model.reconstructionErrors(table).sorted()[30]
        model.window = WindowSettings(size: 5, split: try BenignSplit(rows: 300), optInstanceFPR: 0.01, searchedUpTo: 100)
        let server = try ServerHarness.start(serving: model, in: dir)
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        func reference(_ flags: [Bool], _ size: Int) -> (windows: Int, anomalous: Int, first: Int?) {
            var out = (windows: 0, anomalous: 0, first: Int?.none)
            if flags.count < size { return out }
            for end in (size - 1)..<flags.count {
                out.windows += 1
                if flags[(end - size + 1)...end].filter({ $0 }).count * 2 > size {
                    out.anomalous += 1
                    if out.first == nil { out.first = end }
                }
            }
            return out
        }
        for (start, count) in [(0, 60), (7, 13), (20, 4), (40, 5)] {
            let slice = Array(rows[start..<(start + count)])
            let body = #"{"window": true, "instances": [\#(slice.map(ServerHarness.json).joined(separator: ","))]}"#
            let r = try c.request("POST", "/reconstruct", json: body)
            #expect(r.status == 200, "\(r.text)")
            let flags = (r.object["results"] as? [[String: Any]] ?? []).map { $0["anomaly"] as? Bool ?? false }
            #expect(flags.count == count)
            let w = try #require(r.object["window"] as? [String: Any])
            let expected = reference(flags, 5)
            #expect(w["size"] as? Int == 5)
            #expect(w["windows"] as? Int == expected.windows && w["anomalous_windows"] as? Int == expected.anomalous, "\(w)")
            #expect(w["anomaly"] as? Bool == (expected.anomalous > 0))
            #expect((w["first_anomalous_row"] as? Int) == expected.first && (expected.first != nil || w["first_anomalous_row"] is NSNull))
        }
        // Without "window" (or with false) there is no window object; it needs a batch; /encode refuses it.
        let plain = try c.request("POST", "/reconstruct", json: #"{"instances": [\#(ServerHarness.json(rows[0]))], "window": false}"#)
        #expect(plain.status == 200 && plain.object["window"] == nil)
        for (path, body, message) in [
            ("/reconstruct", #"{"features": \#(ServerHarness.json(rows[0])), "window": true}"#, "send a device's consecutive rows as 'instances'"),
            ("/reconstruct", #"{"instances": [\#(ServerHarness.json(rows[0]))], "window": 1}"#, "'window' must be true or false"),
            ("/reconstruct", #"{"window": true, "window": true, "instances": []}"#, "'window' is given twice"),
            ("/encode", #"{"instances": [\#(ServerHarness.json(rows[0]))], "window": true}"#, "'window' is for /reconstruct"),
        ] {
            let r = try c.request("POST", path, json: body)
            #expect(r.status == 400 && (r.object["error"] as? String ?? "").contains(message), "\(path) \(body.prefix(60)): \(r.text)")
        }
        // A model file without a window (version 1, or trained on one file) votes with windows of 1.
        let plainModel = try ServerHarness.start(serving: ServerHarness.model(threshold: model.threshold), in: dir)
        defer { plainModel.shutdown() }
        let c1 = try TestHTTPClient(port: plainModel.port)
        let one = try c1.request("POST", "/reconstruct", json: #"{"window": true, "instances": [\#(rows[0..<10].map(ServerHarness.json).joined(separator: ","))]}"#)
        let flags = (one.object["results"] as? [[String: Any]] ?? []).map { $0["anomaly"] as? Bool ?? false }
        #expect((one.object["window"] as? [String: Any])?["size"] as? Int == 1)
        #expect((one.object["window"] as? [String: Any])?["anomalous_windows"] as? Int == flags.filter { $0 }.count)
    }

    /// Requests reuse buffers (parsed values, activations, the answer's bytes); a request
    /// of any size must see none of an earlier one's data. A 150-row batch (bigger than what is
    /// kept, and run in chunks) between single rows answers each row as its own request does.
    @Test func pooledBuffersCarryNothingBetweenRequests() throws {
        let model = ServerHarness.model(threshold: 0.05)
        let server = try ServerHarness.start(serving: model, in: dir)
        defer { server.shutdown() }
        let rows = ServerHarness.rows(150, seed: 9)
        func post(_ path: String, _ body: String) throws -> [String: Any] {
            let r = server.respond(method: "POST", path: path, contentType: "application/json", body: Array(body.utf8))
            #expect(r.status == 200)
            return try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any] ?? [:]
        }
        func single(_ r: Int) throws -> [String: Any] { try post("/reconstruct", #"{"features": \#(ServerHarness.json(rows[r]))}"#) }
        let before = try single(0)
        let batch = try post("/reconstruct", #"{"instances": [\#(rows.map(ServerHarness.json).joined(separator: ","))]}"#)
        let after = try single(0)
        let results = batch["results"] as? [[String: Any]] ?? []
        #expect(results.count == 150)
        for r in [0, 1, 63, 64, 65, 149] {
            let one = try single(r)
            let got = results[r]
            #expect(got["reconstruction"] as? [Double] == one["reconstruction"] as? [Double], "row \(r)")
            #expect(got["mse"] as? Double == one["mse"] as? Double, "row \(r)")
            #expect((got["top_features"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
                    == (one["top_features"] as? [[String: Any]])?.compactMap { $0["name"] as? String }, "row \(r)")
        }
        #expect(before["reconstruction"] as? [Double] == after["reconstruction"] as? [Double])
        let latents = try post("/encode", #"{"instances": [\#(rows.prefix(70).map(ServerHarness.json).joined(separator: ","))]}"#)["latents"] as? [[Double]] ?? []
        let latent = try post("/encode", #"{"features": \#(ServerHarness.json(rows[69]))}"#)["latent"] as? [Double] ?? []
        #expect(latents.count == 70 && latents[69] == latent)
    }

    @Test func headIsAnsweredWithoutBody() throws {
        let server = try ServerHarness.start(in: dir)
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        let r = try c.request("HEAD", "/livez")
        #expect(r.status == 200 && r.body.isEmpty)
        #expect(try c.request("GET", "/livez").status == 200)   // the connection is still usable
    }
}
