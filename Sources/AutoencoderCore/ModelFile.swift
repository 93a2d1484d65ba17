import Foundation
import NumberText

/// Reads and writes a `TrainedModel` as one `.safetensors` file.
///
/// Layout (the safetensors spec): 8 bytes little-endian header length N, N bytes of JSON
/// header (space-padded to a multiple of 8), then the raw little-endian F32 tensors, with no
/// holes. Python's `safetensors.safe_open(path, "np")` reads it; each Dense layer `i` is
/// `dense_i.kernel` (`in × out`, Keras's layout) and `dense_i.bias`. Everything else is in
/// `__metadata__`, whose values the spec requires to be strings: lists and objects are JSON text.
public enum ModelFile {
    public static let format = "iot-autoencoder"
    /// 2 added `window` (per-device window voting); version 1 files, which lack it, still load.
    public static let formatVersion = "2"
    static let readableVersions: Set<String> = ["1", "2"]
    /// A header this large is not one of ours; refuse it before allocating.
    static let maxHeaderBytes = 16 << 20

    // MARK: Writing

    public static func encode(_ model: TrainedModel) -> [UInt8] {
        let net = model.network
        var tensors: [String: Any] = [:]
        var offset = 0
        var payload = [UInt8]()
        payload.reserveCapacity(net.parameterCount * 4)
        for (i, layer) in net.layers.enumerated() {
            for (suffix, values, shape) in [("kernel", layer.kernel, [layer.inputSize, layer.outputSize]), ("bias", layer.bias, [layer.outputSize])] {
                let bytes = values.count * 4
                tensors["dense_\(i).\(suffix)"] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + bytes]]
                for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
                offset += bytes
            }
        }
        let architecture = net.layers.enumerated().map { i, l in
            ["name": "dense_\(i)", "units": l.outputSize, "activation": l.activation.rawValue] as [String: Any]
        }
        var metadata: [String: String] = [
            "format": format,
            "format_version": formatVersion,
            "input_size": String(net.inputSize),
            "latent_layer": String(net.latentLayer),
            "latent_size": String(net.latentSize),
            "leaky_relu_negative_slope": String(Activation.leakySlope),
            "architecture": json(architecture),
            "feature_names": json(model.featureNames),
            "scaler_min": "[" + model.scaler.min.map { $0.description }.joined(separator: ",") + "]",
            "scaler_scale": "[" + model.scaler.scale.map { $0.description }.joined(separator: ",") + "]",
            "threshold": model.threshold.description,
            "threshold_rule": model.thresholdRule.description,
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        metadata["training"] = String(decoding: (try? encoder.encode(model.training)) ?? Data("{}".utf8), as: UTF8.self)
        if let window = model.window {
            metadata["window"] = String(decoding: (try? encoder.encode(window)) ?? Data("{}".utf8), as: UTF8.self)
        }
        tensors["__metadata__"] = metadata
        var header = Array((try? JSONSerialization.data(withJSONObject: tensors, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
        while header.count % 8 != 0 { header.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + header.count + payload.count)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out += header
        out += payload
        return out
    }

    /// Writes atomically (temp file, then rename), so a server reloading the path never sees half a
    /// file. A missing parent folder is made.
    public static func write(_ model: TrainedModel, to path: String, overwrite: Bool = false) throws(ModelFileError) {
        if !overwrite, FileManager.default.fileExists(atPath: path) { throw .wouldOverwrite(path: path) }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw .io(path: path, reason: "cannot make its folder: \(error.localizedDescription)")
        }
        let bytes = encode(model)
        let tmp = path + ".tmp-\(getpid())"
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: tmp))
            if rename(tmp, path) != 0 { throw ModelFileError.io(path: path, reason: String(cString: strerror(errno))) }
        } catch let e as ModelFileError {
            unlink(tmp); throw e
        } catch {
            unlink(tmp); throw .io(path: path, reason: "\(error)")
        }
    }

    // MARK: Reading

    public static func read(path: String) throws(ModelFileError) -> TrainedModel {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .io(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
        }
        return try decode(Array(data), path: path)
    }

    public static func decode(_ bytes: [UInt8], path: String = "<model>") throws(ModelFileError) -> TrainedModel {
        guard bytes.count >= 8 else { throw .truncated(path: path, detail: "\(bytes.count) bytes, shorter than the 8-byte header length") }
        var n: UInt64 = 0
        for i in (0..<8).reversed() { n = n << 8 | UInt64(bytes[i]) }
        guard n <= UInt64(maxHeaderBytes) else { throw .corrupt(path: path, detail: "header length \(n) is implausible") }
        let headerLength = Int(n)
        guard 8 + headerLength <= bytes.count else {
            throw .truncated(path: path, detail: "header says \(headerLength) bytes, file has \(bytes.count - 8) after the length")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])),
              let header = object as? [String: Any] else { throw .corrupt(path: path, detail: "header is not a JSON object") }
        guard let meta = header["__metadata__"] as? [String: String] else { throw .corrupt(path: path, detail: "no string __metadata__") }
        guard meta["format"] == format else { throw .unsupported(path: path, detail: "format is '\(meta["format"] ?? "missing")', expected '\(format)'") }
        guard let version = meta["format_version"], readableVersions.contains(version) else {
            throw .unsupported(path: path, detail: "format_version '\(meta["format_version"] ?? "missing")', this build reads \(readableVersions.sorted().joined(separator: " and "))")
        }
        func field(_ key: String) throws(ModelFileError) -> String {
            guard let v = meta[key] else { throw .corrupt(path: path, detail: "metadata '\(key)' is missing") }
            return v
        }
        func jsonField<T>(_ key: String, as: T.Type) throws(ModelFileError) -> T {
            guard let v = try? JSONSerialization.jsonObject(with: Data(try field(key).utf8)) as? T else {
                throw .corrupt(path: path, detail: "metadata '\(key)' is not valid JSON of the expected kind")
            }
            return v
        }
        guard let inputSize = Int(try field("input_size")), inputSize > 0 else { throw .corrupt(path: path, detail: "bad input_size") }
        guard let latentLayer = Int(try field("latent_layer")) else { throw .corrupt(path: path, detail: "bad latent_layer") }
        let arch = try jsonField("architecture", as: [[String: Any]].self)
        guard !arch.isEmpty, arch.indices.contains(latentLayer) else { throw .corrupt(path: path, detail: "architecture is empty or latent_layer is out of range") }

        let dataStart = 8 + headerLength
        let dataLength = bytes.count - dataStart
        var layers: [DenseLayer] = []
        var ranges: [(Int, Int)] = []
        var inSize = inputSize
        for (i, entry) in arch.enumerated() {
            guard let units = entry["units"] as? Int, units > 0,
                  let act = (entry["activation"] as? String).flatMap(Activation.init(rawValue:)) else {
                throw .corrupt(path: path, detail: "architecture entry \(i) needs positive 'units' and a known 'activation'")
            }
            func tensor(_ name: String, shape: [Int]) throws(ModelFileError) -> [Float] {
                guard let t = header[name] as? [String: Any] else { throw .shapeMismatch(path: path, detail: "tensor '\(name)' is missing") }
                guard t["dtype"] as? String == "F32" else { throw .unsupported(path: path, detail: "tensor '\(name)' is not F32") }
                guard let s = t["shape"] as? [Int], s == shape else {
                    throw .shapeMismatch(path: path, detail: "'\(name)' has shape \(t["shape"] ?? "?"), expected \(shape)")
                }
                guard let o = t["data_offsets"] as? [Int], o.count == 2, o[0] >= 0, o[0] <= o[1] else {
                    throw .corrupt(path: path, detail: "'\(name)' has bad data_offsets")
                }
                let count = shape.reduce(1, *)
                guard o[1] - o[0] == count * 4 else { throw .corrupt(path: path, detail: "'\(name)' offsets do not span \(count) floats") }
                guard o[1] <= dataLength else { throw .truncated(path: path, detail: "'\(name)' ends at byte \(o[1]) of a \(dataLength)-byte data section") }
                ranges.append((o[0], o[1]))
                var values = [Float](repeating: 0, count: count)
                bytes.withUnsafeBytes { raw in
                    for k in 0..<count {
                        let bits = raw.loadUnaligned(fromByteOffset: dataStart + o[0] + 4 * k, as: UInt32.self)
                        values[k] = Float(bitPattern: UInt32(littleEndian: bits))
                    }
                }
                guard values.allSatisfy(\.isFinite) else { throw .corrupt(path: path, detail: "'\(name)' holds NaN or Inf") }
                return values
            }
            let kernel = try tensor("dense_\(i).kernel", shape: [inSize, units])
            let bias = try tensor("dense_\(i).bias", shape: [units])
            layers.append(DenseLayer(inputSize: inSize, outputSize: units, activation: act, kernel: kernel, bias: bias))
            inSize = units
        }
        guard inSize == inputSize else { throw .shapeMismatch(path: path, detail: "the last layer has \(inSize) units, input has \(inputSize)") }
        let tensorNames = header.keys.filter { $0 != "__metadata__" }
        guard tensorNames.count == ranges.count else { throw .corrupt(path: path, detail: "the header lists tensors the architecture does not use") }
        // The spec: the data section is entirely indexed, without holes or overlaps.
        var end = 0
        for (a, b) in ranges.sorted(by: { $0.0 < $1.0 }) {
            guard a == end else { throw .corrupt(path: path, detail: "tensor data has holes or overlaps") }
            end = b
        }
        guard end == dataLength else {
            throw end < dataLength ? .corrupt(path: path, detail: "\(dataLength - end) bytes of trailing data")
                                   : .truncated(path: path, detail: "data section is short")
        }

        let names = try jsonField("feature_names", as: [String].self)
        guard names.count == inputSize, Set(names).count == names.count else {
            throw .shapeMismatch(path: path, detail: "\(names.count) feature names (unique: \(Set(names).count)) for input size \(inputSize)")
        }
        // Our own decimal parser, not Foundation's: it rounds correctly, so the scaler read back is
        // bit for bit the one trained (Foundation's can be one unit in the last place off).
        func doubles(_ key: String) throws(ModelFileError) -> [Double] {
            let text = try field(key).trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix("["), text.hasSuffix("]") else { throw .corrupt(path: path, detail: "metadata '\(key)' is not a JSON list") }
            let inner = text.dropFirst().dropLast()
            if inner.allSatisfy({ $0 == " " }) { return [] }
            var out: [Double] = []
            for item in inner.split(separator: ",", omittingEmptySubsequences: false) {
                guard case .value(let v) = DecimalParser.parse(item.trimmingCharacters(in: .whitespaces)) else {
                    throw .corrupt(path: path, detail: "metadata '\(key)' holds '\(item.prefix(40))', not a number")
                }
                out.append(v)
            }
            return out
        }
        let mins = try doubles("scaler_min")
        let scales = try doubles("scaler_scale")
        guard mins.count == inputSize, scales.count == inputSize, mins.allSatisfy(\.isFinite),
              scales.allSatisfy({ $0.isFinite && $0 != 0 }) else {
            throw .shapeMismatch(path: path, detail: "scaler has \(mins.count)/\(scales.count) finite non-zero values for \(inputSize) features")
        }
        guard let threshold = Float(try field("threshold")), threshold.isFinite, threshold >= 0 else {
            throw .corrupt(path: path, detail: "threshold is not a finite number ≥ 0")
        }
        guard let rule = ThresholdRule(try field("threshold_rule")) else { throw .corrupt(path: path, detail: "unknown threshold_rule") }
        guard let training = try? JSONDecoder().decode(TrainingSummary.self, from: Data(try field("training").utf8)) else {
            throw .corrupt(path: path, detail: "metadata 'training' is not a valid training summary")
        }
        var window: WindowSettings? = nil
        if let text = meta["window"] {
            guard let w = try? JSONDecoder().decode(WindowSettings.self, from: Data(text.utf8)), w.size >= 1 else {
                throw .corrupt(path: path, detail: "metadata 'window' is not valid window settings")
            }
            window = w
        }
        return TrainedModel(network: Autoencoder(layers: layers, latentLayer: latentLayer), featureNames: names,
                            scaler: MinMaxScaler(scale: scales, min: mins), threshold: threshold,
                            thresholdRule: rule, training: training, window: window)
    }

    static func json(_ value: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data(), as: UTF8.self)
    }
}
