import AutoencoderCore
import Foundation
import Testing
@testable import InferenceServer

/// The Open Inference Protocol v2 routes over real sockets: metadata, health, inference in JSON
/// and with binary tensors, its refusals, and the repository extension.
@Suite struct OpenInferenceTests {
    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }
    static let n = ServerHarness.features.count

    /// A binary request: the JSON header, then the rows as little-endian FP32.
    static func binaryBody(_ rows: [[Double]], json: String? = nil, fp64: Bool = false) -> (body: [UInt8], headerLength: Int) {
        let size = rows.count * n * (fp64 ? 8 : 4)
        let header = Array((json ?? #"{"inputs":[{"name":"features","shape":[\#(rows.count),\#(n)],"datatype":"\#(fp64 ? "FP64" : "FP32")","parameters":{"binary_data_size":\#(size)}}],"outputs":[{"name":"mse","parameters":{"binary_data":true}},{"name":"latent"},{"name":"anomaly","parameters":{"binary_data":true}}]}"#).utf8)
        var body = header
        for x in rows.joined() {
            if fp64 { withUnsafeBytes(of: x.bitPattern.littleEndian) { body += $0 } } else { withUnsafeBytes(of: Float(x).bitPattern.littleEndian) { body += $0 } }
        }
        return (body, header.count)
    }

    static func floats(_ bytes: ArraySlice<UInt8>) -> [Float] {
        stride(from: bytes.startIndex, to: bytes.endIndex, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
    }

    static func output(_ object: [String: Any], _ name: String) -> [String: Any]? {
        (object["outputs"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }

    @Test func metadataAndHealth() throws {
        let server = try ServerHarness.start(in: dir)
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        let meta = try c.request("GET", "/v2").object
        #expect(meta["name"] as? String == "iot-autoencoder")
        #expect(meta["extensions"] as? [String] == ["binary_tensor_data", "model_repository"])
        for path in ["/v2/health/live", "/v2/health/ready", "/v2/models/model/ready"] {
            let r = try c.request("GET", path)
            #expect(r.status == 200 && r.body.isEmpty, "\(path)")
        }
        let model = try c.request("GET", "/v2/models/model").object
        let version = (model["versions"] as? [String])?.first ?? ""
        #expect(version.count == 12)
        #expect(model["name"] as? String == "model" && model["platform"] as? String == "iot-autoencoder")
        let inputs = model["inputs"] as? [[String: Any]] ?? []
        #expect(inputs.count == 1 && inputs[0]["name"] as? String == "features" && inputs[0]["shape"] as? [Int] == [-1, Self.n])
        let outputs = model["outputs"] as? [[String: Any]] ?? []
        #expect(outputs.map { $0["name"] as? String } == ["latent", "reconstruction", "mse", "anomaly"])
        #expect(outputs.map { $0["datatype"] as? String } == ["FP32", "FP32", "FP32", "BOOL"])
        #expect(outputs[0]["shape"] as? [Int] == [-1, 3])
        #expect(try c.request("GET", "/v2/models/model/versions/\(version)").status == 200)
        #expect(try c.request("GET", "/v2/models/model/versions/\(version)/ready").status == 200)
        let wrong = try c.request("GET", "/v2/models/model/versions/000000000000")
        #expect(wrong.status == 404 && wrong.object["error"] is String)
        #expect(try c.request("GET", "/v2/models/zz/ready").status == 404)
        #expect(try c.request("GET", "/v2/models/zz").status == 404)
        #expect(try c.request("GET", "/v2/models/model/infer").status == 405)
        #expect(try c.request("GET", "/v2/models/model/explain").status == 404)
        for path in ["/v2/models/model/", "/v2/models//ready", "/v2/models/model/versions//infer", "/v2/models/model/versions/x/ready/more", "/v2/repository/models/model/load/x"] {
            #expect(try c.request("GET", path).status == 404, "\(path)")
        }
    }

    @Test func jsonInferenceMatchesTheOfflineModel() throws {
        let model = ServerHarness.model(threshold: 0.05)
        let server = try ServerHarness.start(serving: model, in: dir)
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        let rows = ServerHarness.rows(6)
        let table = FeatureTable(featureNames: ServerHarness.features, values: rows.flatMap { $0 }, targets: nil, source: "test")
        let latent = model.encode(table), errors = model.reconstructionErrors(table)
        let flat = rows.joined().map { "\($0)" }.joined(separator: ",")
        let r = try c.request("POST", "/v2/models/model/infer", json: #"{"id":"req-7","inputs":[{"name":"features","shape":[6,\#(Self.n)],"datatype":"FP32","data":[\#(flat)]}]}"#)
        #expect(r.status == 200, "\(r.text)")
        let o = r.object
        #expect(o["id"] as? String == "req-7" && o["model_name"] as? String == "model" && (o["model_version"] as? String)?.count == 12)
        // The path decides the model and version: the body's model_name/model_version (which the
        // KServe SDK sends) are read and ignored; a version the model does not serve is 404.
        let version = o["model_version"] as? String ?? ""
        let renamed = #"{"model_name":"zz","model_version":"9","inputs":[{"name":"features","shape":[1,\#(Self.n)],"datatype":"FP32","data":[\#(rows[0].map { "\($0)" }.joined(separator: ","))]}]}"#
        let named = try c.request("POST", "/v2/models/model/versions/\(version)/infer", json: renamed)
        #expect(named.status == 200 && named.object["model_name"] as? String == "model" && named.object["model_version"] as? String == version, "\(named.text)")
        let namedMSE = (Self.output(named.object, "mse")?["data"] as? [Double])?.first ?? -1
        #expect(abs(namedMSE - Double(errors[0])) < 1e-6, "\(named.text)")
        let wrongVersion = try c.request("POST", "/v2/models/model/versions/000000000000/infer", json: renamed)
        #expect(wrongVersion.status == 404 && (wrongVersion.object["error"] as? String)?.contains("no version '000000000000'") == true, "\(wrongVersion.text)")
        #expect((o["outputs"] as? [[String: Any]])?.map { $0["name"] as? String } == ["latent", "reconstruction", "mse", "anomaly"])
        let l = Self.output(o, "latent")
        #expect(l?["shape"] as? [Int] == [6, 3] && l?["datatype"] as? String == "FP32")
        let ld = l?["data"] as? [Double] ?? []
        #expect(ld.count == 18 && zip(ld, latent).allSatisfy { abs($0 - Double($1)) < 1e-6 })
        let md = Self.output(o, "mse")?["data"] as? [Double] ?? []
        #expect(md.count == 6 && zip(md, errors).allSatisfy { abs($0 - Double($1)) < 1e-6 })
        #expect(Self.output(o, "anomaly")?["data"] as? [Bool] == errors.map { $0 > 0.05 })
        #expect(Self.output(o, "anomaly")?["datatype"] as? String == "BOOL")
        let recon = Self.output(o, "reconstruction")
        #expect(recon?["shape"] as? [Int] == [6, Self.n] && (recon?["data"] as? [Double])?.count == 6 * Self.n)
        // /reconstruct gives the same reconstruction.
        let same = try c.request("POST", "/reconstruct", json: #"{"instances": [\#(rows.map(ServerHarness.json).joined(separator: ","))]}"#).object
        let first = ((same["results"] as? [[String: Any]])?.first?["reconstruction"] as? [Double]) ?? []
        #expect(Array((recon?["data"] as? [Double] ?? []).prefix(Self.n)) == first)

        // Rows nested, FP64, one output asked; one row as shape [n].
        let nested = rows.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ",")
        let two = try c.request("POST", "/v2/models/model/infer", json: #"{"inputs":[{"datatype":"FP64","data":[\#(nested)],"shape":[6,\#(Self.n)],"name":"features"}],"outputs":[{"name":"mse"}]}"#).object
        #expect((two["outputs"] as? [[String: Any]])?.count == 1 && Self.output(two, "mse")?["data"] as? [Double] == md)
        #expect(two["id"] == nil)
        let one = try c.request("POST", "/v2/models/model/infer", json: #"{"inputs":[{"name":"features","shape":[\#(Self.n)],"datatype":"FP32","data":[\#(rows[0].map { "\($0)" }.joined(separator: ","))]}],"outputs":[{"name":"anomaly"},{"name":"latent"}]}"#).object
        #expect((one["outputs"] as? [[String: Any]])?.map { $0["name"] as? String } == ["anomaly", "latent"])
        #expect(Self.output(one, "latent")?["shape"] as? [Int] == [1, 3])
    }

    /// A row whose score overflows is answered as an anomaly (mse null in JSON, +inf or NaN in
    /// binary), unlike /reconstruct's 400: one such row must not cost a gateway its batch.
    @Test func aRowWhoseScoreOverflowsIsAnAnomalyNotARefusal() throws {
        let server = try ServerHarness.start(in: dir)
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        var rows = ServerHarness.rows(3)
        rows[1] = rows[1].map { _ in 3e38 }
        let flat = rows.joined().map { "\($0)" }.joined(separator: ",")
        let r = try c.request("POST", "/v2/models/model/infer", json: #"{"inputs":[{"name":"features","shape":[3,\#(Self.n)],"datatype":"FP64","data":[\#(flat)]}],"outputs":[{"name":"mse"},{"name":"anomaly"}]}"#)
        #expect(r.status == 200, "\(r.text)")
        let mse = Self.output(r.object, "mse")?["data"] as? [Any] ?? []
        #expect(mse.count == 3 && mse[1] is NSNull && mse[0] is Double && mse[2] is Double, "\(r.text)")
        #expect((Self.output(r.object, "anomaly")?["data"] as? [Bool])?[1] == true)
        #expect(try c.request("POST", "/reconstruct", json: #"{"features": \#(ServerHarness.json(rows[1]))}"#).status == 400)
    }

    @Test func binaryTensorsInAndOut() throws {
        let model = ServerHarness.model(threshold: 0.05)
        let server = try ServerHarness.start(serving: model, in: dir)
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        let rows = ServerHarness.rows(5)
        let table = FeatureTable(featureNames: ServerHarness.features, values: rows.map { $0.map { Double(Float($0)) } }.flatMap { $0 }, targets: nil, source: "test")
        let latent = model.encode(table), errors = model.reconstructionErrors(table)
        for fp64 in [false, true] {
            let (body, headerLength) = Self.binaryBody(fp64 ? rows.map { $0.map { Double(Float($0)) } } : rows, fp64: fp64)
            let r = try c.request("POST", "/v2/models/model/infer", body: body,
                                  headers: ["Inference-Header-Content-Length": "\(headerLength)", "Content-Type": "application/octet-stream"], json: false)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.headers["content-type"] == "application/octet-stream")
            let jsonLength = Int(r.headers["inference-header-content-length"] ?? "") ?? -1
            #expect(jsonLength > 0 && jsonLength < r.body.count)
            let head = try JSONSerialization.jsonObject(with: Data(r.body.prefix(jsonLength))) as? [String: Any] ?? [:]
            let outputs = head["outputs"] as? [[String: Any]] ?? []
            #expect(outputs.map { $0["name"] as? String } == ["mse", "latent", "anomaly"])
            #expect((outputs[0]["parameters"] as? [String: Any])?["binary_data_size"] as? Int == 20)
            #expect((outputs[2]["parameters"] as? [String: Any])?["binary_data_size"] as? Int == 5)
            #expect(r.body.count == jsonLength + 20 + 5)
            // The bytes follow in the order the JSON lists the binary outputs: mse, then anomaly.
            let mse = Self.floats(r.body[jsonLength..<(jsonLength + 20)])
            #expect(mse == errors, "binary mse is the model's, bit for bit")
            #expect(Array(r.body[(jsonLength + 20)...]) == errors.map { $0 > 0.05 ? 1 : 0 })
            let ld = outputs[1]["data"] as? [Double] ?? []
            #expect(zip(ld, latent).allSatisfy { abs($0 - Double($1)) < 1e-6 } && ld.count == 15)
        }
        // binary_data_output: every output binary unless one says otherwise.
        let json = #"{"parameters":{"binary_data_output":true,"sequence_id":0,"note":"x"},"inputs":[{"name":"features","shape":[5,\#(Self.n)],"datatype":"FP32","parameters":{"binary_data_size":\#(5 * Self.n * 4)}}],"outputs":[{"name":"latent"},{"name":"mse","parameters":{"binary_data":false}}]}"#
        let (body, headerLength) = Self.binaryBody(rows, json: json)
        let r = try c.request("POST", "/v2/models/model/infer", body: body, headers: ["Inference-Header-Content-Length": "\(headerLength)"], json: false)
        #expect(r.status == 200, "\(r.text)")
        let jsonLength = Int(r.headers["inference-header-content-length"] ?? "") ?? -1
        #expect(r.body.count == jsonLength + 5 * 3 * 4)
        #expect(Self.floats(r.body[jsonLength...]) == latent)
    }

    @Test func badRequestsAre400WithAMessage() throws {
        let server = try ServerHarness.start(in: dir)
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        let n = Self.n
        let row = ServerHarness.rows(1)[0].map { "\($0)" }.joined(separator: ",")
        func input(_ fields: String) -> String { #"{"inputs":[{\#(fields)}]}"# }
        let jsonCases: [(String, String)] = [
            ("", "empty body"),
            ("[]", "expected"),
            (#"{"inputs":[]}"#, "empty"),
            (#"{"outputs":[{"name":"mse"}]}"#, "'inputs' is missing"),
            (input(#""name":"x","shape":[1,\#(n)],"datatype":"FP32","data":[\#(row)]"#), "unknown input 'x'"),
            (input(#""name":"features","shape":[1,\#(n + 1)],"datatype":"FP32","data":[\#(row)]"#), "shape"),
            (input(#""name":"features","shape":[2,\#(n)],"datatype":"FP32","data":[\#(row)]"#), "needs \(2 * n)"),
            (input(#""name":"features","shape":[1,\#(n)],"datatype":"INT32","data":[\#(row)]"#), "datatype 'INT32'"),
            (input(#""name":"features","shape":[1,\#(n)],"datatype":"FP32","data":[\#(row)],"data":[1]"#), "twice"),
            (input(#""name":"features","shape":[1,\#(n)],"datatype":"FP32","data":[[[\#(row)]]]"#), "too deep"),
            (input(#""name":"features","shape":[1,\#(n)],"datatype":"FP32","data":[\#(row)],"colour":1"#), "unknown key 'colour'"),
            (input(#""name":"features","shape":[1,\#(n)],"datatype":"FP32""#), "no 'data'"),
            (input(#""name":"features","shape":[1.5,\#(n)],"datatype":"FP32","data":[\#(row)]"#), "not a non-negative integer"),
            (input(#""name":"features","shape":[0,\#(n)],"datatype":"FP32","data":[]"#), "rows"),
            (input(#""name":"features","shape":[1,\#(n)],"datatype":"FP32","data":["x",\#(row)]"#), "not a number"),
            (input(#""name":"features","shape":[1,\#(n)],"datatype":"FP32","parameters":{"binary_data_size":\#(4 * n)}"#), "header is missing"),
            (#"{"inputs":[{"name":"features","shape":[1,\#(n)],"datatype":"FP32","data":[\#(row)]},{"name":"features"}]}"#, "more than one input"),
            (#"{"inputs":[{"name":"features","shape":[1,\#(n)],"datatype":"FP32","data":[\#(row)]}],"outputs":[{"name":"score"}]}"#, "unknown output 'score'"),
            (#"{"inputs":[{"name":"features","shape":[1,\#(n)],"datatype":"FP32","data":[\#(row)]}],"outputs":[{"name":"mse"},{"name":"mse"}]}"#, "twice"),
            (#"{"inputs":[{"name":"features","shape":[1,\#(n)],"datatype":"FP32","data":[\#(row)]}],"parameters":{"p":[1]}}"#, "parameter"),
            (#"{"inputs":[{"name":"features","shape":[1,\#(n)],"datatype":"FP32","data":[\#(row)]}],"model":"x"}"#, "unknown key 'model'"),
            (#"{"inputs":[{"name":"features","shape":[1,\#(n)],"datatype":"FP32","data":[\#(row)]}]} x"#, "trailing"),
            (#"{"id":7,"inputs":[{"name":"features","shape":[1,\#(n)],"datatype":"FP32","data":[\#(row)]}]}"#, "string"),
        ]
        for (body, fragment) in jsonCases {
            let r = try c.request("POST", "/v2/models/model/infer", json: body)
            #expect(r.status == 400, "\(body.prefix(120))")
            #expect((r.object["error"] as? String)?.contains(fragment) == true, "\(body.prefix(120)): \(r.text)")
        }

        // Binary bodies whose sizes disagree with the header, the shape, or the bytes sent.
        let rows = ServerHarness.rows(2)
        let (good, length) = Self.binaryBody(rows)
        let binaryCases: [(body: [UInt8], header: String, fragment: String)] = [
            (good, "\(good.count + 1)", "within the body"),
            (good, "0", "within the body"),
            (good, "12abc", "within the body"),
            (good, "-5", "within the body"),
            (good, "99999999999999999999", "within the body"),
            (Array(good.dropLast(4)), "\(length)", "bytes after"),
            (good + [0, 0, 0, 0], "\(length)", "bytes after"),
            (good, "\(length - 1)", "malformed JSON"),
            (Self.binaryBody(rows, json: #"{"inputs":[{"name":"features","shape":[2,\#(n)],"datatype":"FP32","parameters":{"binary_data_size":12}}]}"#).body, "", "binary_data_size is 12"),
            (Self.binaryBody(rows, json: #"{"inputs":[{"name":"features","shape":[2,\#(n)],"datatype":"FP32","data":[1]}]}"#).body, "", "no input has binary_data_size"),
        ]
        for (i, (body, header, fragment)) in binaryCases.enumerated() {
            let h = header.isEmpty ? "\(body.count - rows.count * n * 4)" : header
            let r = try c.request("POST", "/v2/models/model/infer", body: body, headers: ["Inference-Header-Content-Length": h], json: false)
            #expect(r.status == 400, "case \(i)")
            #expect((r.object["error"] as? String)?.contains(fragment) == true, "case \(i): \(r.text)")
        }
        // A non-finite value in binary data.
        var nan = good
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { nan.replaceSubrange((length + 8)..<(length + 12), with: $0) }
        let r = try c.request("POST", "/v2/models/model/infer", body: nan, headers: ["Inference-Header-Content-Length": "\(length)"], json: false)
        #expect(r.status == 400 && (r.object["error"] as? String)?.contains("finite") == true, "\(r.text)")
        #expect(try c.request("POST", "/v2/models/model/infer", body: good, headers: ["Content-Type": "text/plain", "Inference-Header-Content-Length": "\(length)"], json: false).status == 415)
        // The server is still well.
        #expect(try c.request("POST", "/v2/models/model/infer", body: good, headers: ["Inference-Header-Content-Length": "\(length)"], json: false).status == 200)
    }

    /// Random corruption of a binary request, straight into the router: every answer is 200 or a
    /// 400 with a JSON error, never anything else (ASan in CI checks no read leaves the body).
    @Test func corruptedBinaryRequestsAreRefusedCleanly() throws {
        let path = ServerHarness.writeModel(ServerHarness.model(), to: dir)
        var config = ServerHarness.configuration(modelPath: path)
        config.maxBatch = 8
        let server = try AutoencoderServer(configuration: config, logger: .init(label: "test"))
        let (good, length) = Self.binaryBody(ServerHarness.rows(3))
        var rng = SplitMix64(seed: 42)
        var statuses: [Int: Int] = [:]
        for _ in 0..<3_000 {
            var body = good
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let i = Int(rng.next() % UInt64(body.count))
                switch rng.next() % 3 {
                case 0: body[i] = UInt8(truncatingIfNeeded: rng.next())
                case 1: body.remove(at: i)
                default: body.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                }
            }
            let header = rng.next() % 4 == 0 ? Int(rng.next() % UInt64(body.count + 2)) : length
            let r = server.respond(method: "POST", path: "/v2/models/model/infer", contentType: nil, inferenceHeaderLength: header, body: body)
            statuses[r.status, default: 0] += 1
            if r.status != 200 {
                #expect(r.status == 400)
                #expect((try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] != nil)
            }
        }
        #expect(statuses[400, default: 0] > 0 && Set(statuses.keys).isSubset(of: [200, 400]), "\(statuses)")
    }

    @Test func repositoryExtensionLoadsAndUnloadsBehindAuth() throws {
        for (name, seed) in [("a", 1), ("b", 2)] {
            _ = ServerHarness.writeModel(ServerHarness.model(seed: UInt64(seed)), to: dir, name: "\(name).safetensors")
        }
        let server = try ServerHarness.start(ServerHarness.configuration(modelPath: "unused") {
            $0.modelsDirectory = dir.path
            $0.defaultModel = "a"
            $0.authTokens = ["t0k"]
        })
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        let auth = ["Authorization": "Bearer t0k"]
        let body = #"{"inputs":[{"name":"features","shape":[1,\#(Self.n)],"datatype":"FP32","data":[\#(ServerHarness.rows(1)[0].map { "\($0)" }.joined(separator: ","))]}]}"#
        #expect(try c.request("POST", "/v2/repository/index", json: "{}").status == 401)
        #expect(try c.request("POST", "/v2/repository/models/b/unload", json: "{}").status == 401)
        let index = try c.request("POST", "/v2/repository/index", json: "{}", headers: auth)
        let entries = index.json as? [[String: Any]] ?? []
        #expect(entries.map { $0["name"] as? String } == ["a", "b"] && entries.allSatisfy { $0["state"] as? String == "READY" }, "\(index.text)")

        #expect(try c.request("POST", "/v2/repository/models/b/unload", body: nil, headers: auth).status == 200)
        // Its gauges leave with it; the other model's stay.
        let unloaded = try c.request("GET", "/metrics").text
        #expect(unloaded.contains("ae_models_loaded 1") && !unloaded.contains(#"ae_model_info{model="b""#) && unloaded.contains(#"ae_model_info{model="a""#), "\(unloaded)")
        #expect(try c.request("POST", "/v2/models/b/infer", json: body, headers: auth).status == 404)
        #expect(try c.request("POST", "/v2/models/a/infer", json: body, headers: auth).status == 200)
        server.reload()   // a look at the directory does not bring it back
        #expect(try c.request("POST", "/v2/models/b/infer", json: body, headers: auth).status == 404)
        let after = try c.request("POST", "/v2/repository/index", json: "", headers: auth).json as? [[String: Any]] ?? []
        #expect(after.first { $0["name"] as? String == "b" }?["state"] as? String == "UNAVAILABLE")
        #expect(try c.request("POST", "/v2/repository/models/b/load", json: "{}", headers: auth).status == 200)
        #expect(try c.request("POST", "/v2/models/b/infer", json: body, headers: auth).status == 200)
        let loaded = try c.request("GET", "/metrics").text
        #expect(loaded.contains("ae_models_loaded 2") && loaded.contains(#"ae_model_info{model="b""#), "\(loaded)")

        // A corrupt file: 400, and the loaded version keeps serving.
        try Data([1, 2, 3]).write(to: dir.appendingPathComponent("b.safetensors"))
        let bad = try c.request("POST", "/v2/repository/models/b/load", json: "{}", headers: auth)
        #expect(bad.status == 400 && (bad.object["error"] as? String)?.contains("truncated") == true, "\(bad.text)")
        #expect(try c.request("POST", "/v2/models/b/infer", json: body, headers: auth).status == 200)
        #expect(try c.request("POST", "/v2/repository/models/zz/load", json: "{}", headers: auth).status == 404)
        #expect(try c.request("POST", "/v2/repository/models/a/unload", json: "[1]", headers: auth).status == 400)
        #expect(try c.request("POST", "/v2/repository/models/zz/unload", json: "{}", headers: auth).status == 404)
        let metrics = try c.request("GET", "/metrics").text
        #expect(metrics.contains("ae_models_loaded 2"))
    }

    @Test func modelControlIsClosedWithoutAuth() throws {
        let server = try ServerHarness.start(in: dir)
        defer { server.shutdown() }
        let c = try TestHTTPClient(port: server.port)
        let r = try c.request("POST", "/v2/repository/models/model/unload", json: "{}")
        #expect(r.status == 403 && (r.object["error"] as? String)?.contains("auth_tokens") == true)
        #expect(try c.request("POST", "/v2/repository/index", json: "{}").status == 200)
        #expect(try c.request("GET", "/v2/models/model/ready").status == 200)
    }
}
