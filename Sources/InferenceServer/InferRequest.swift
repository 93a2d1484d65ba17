import AutoencoderCore
import NumberText

/// The tensors `POST /v2/models/{name}/infer` can answer with (Open Inference Protocol v2).
enum InferOutput: UInt8, CaseIterable {
    /// `FP32 [N, latent]`: the encoder's output.
    case latent
    /// `FP32 [N, features]`: the reconstruction in the client's units (the scaler inverted).
    case reconstruction
    /// `FP32 [N]`: each row's reconstruction error, scaled space, as in training.
    case mse
    /// `BOOL [N]`: `mse > threshold`.
    case anomaly

    var name: StaticString {
        switch self {
        case .latent: "latent"
        case .reconstruction: "reconstruction"
        case .mse: "mse"
        case .anomaly: "anomaly"
        }
    }

    init?(name: String) {
        guard let o = Self.allCases.first(where: { $0.name.description == name }) else { return nil }
        self = o
    }
}

/// The outputs a request asked for, in its order, each with whether it goes back as binary
/// data. At most one of each, so four fit in a word: no allocation per request.
struct OutputList: RandomAccessCollection {
    private var order: UInt32 = 0          // output raw values, one byte each, in request order
    private var binary: UInt8 = 0          // by output raw value
    private var explicit: UInt8 = 0        // whose binary_data the request set
    private(set) var count = 0

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    subscript(i: Int) -> (output: InferOutput, binary: Bool) {
        let o = InferOutput(rawValue: UInt8(truncatingIfNeeded: order >> (8 * UInt32(i))))!
        return (o, binary & (1 << o.rawValue) != 0)
    }

    func contains(_ o: InferOutput) -> Bool { (0..<count).contains { self[$0].output == o } }

    mutating func append(_ o: InferOutput, binary b: Bool?) throws(RequestError) {
        if contains(o) { throw RequestError("output '\(o.name)' is asked for twice") }
        order |= UInt32(o.rawValue) << (8 * UInt32(count))
        count += 1
        if let b {
            explicit |= 1 << o.rawValue
            if b { binary |= 1 << o.rawValue }
        }
    }

    /// After parsing: every output when none was named; `binary_data_output` for the outputs
    /// that did not say.
    mutating func settle(binaryOutput: Bool) {
        if count == 0 { for o in InferOutput.allCases { try? append(o, binary: nil) } }
        if binaryOutput { binary |= ~explicit & 0x0F }
    }
}

/// What an inference request asked for, besides its rows (parsed into the caller's buffer).
struct InferRequest {
    /// The client's `id`, as the JSON string literal it sent (echoed back as is).
    var id: [UInt8]?
    var rows = 0
    /// The outputs in the order asked (all four, in declaration order, when none is named).
    var outputs = OutputList()
    /// `parameters.binary_data_output`: outputs not named otherwise go back as binary data.
    var binaryOutput = false
}

/// Refuses a key given twice in one object (`bit`: the key's place among that object's keys).
private func once(_ seen: inout UInt8, _ bit: UInt8, _ key: String, _ object: String) throws(RequestError) {
    guard seen & (1 << bit) == 0 else { throw RequestError("\(object)'\(key)' is given twice") }
    seen |= 1 << bit
}

/// A strict reader of the Open Inference Protocol v2 inference request, with Triton's binary
/// tensor data extension:
///
///     {"id": "…", "parameters": {"binary_data_output": true},
///      "inputs": [{"name": "features", "datatype": "FP32" | "FP64", "shape": [N, n] | [n],
///                  "data": [x, …] | [[x, …], …]  or  "parameters": {"binary_data_size": bytes}}],
///      "outputs": [{"name": "mse", "parameters": {"binary_data": true}}, …]}
///
/// followed, with binary data, by the tensor's raw little-endian bytes. The JSON's length is the
/// `Inference-Header-Content-Length` header; the bytes after it must be exactly what the input's
/// shape and type make. `model_name` and `model_version` (the KServe SDK sends them) are read and
/// left to the path. Unknown keys in `parameters` are skipped (their values must be strings,
/// numbers or booleans, as the protocol says); unknown keys elsewhere, a second input, an unknown
/// input or output name, shapes that are not the model's, and counts that disagree are refused.
struct InferRequestParser {
    let rows: RequestParser
    var featureCount: Int { rows.featureCount }

    init(_ parser: RequestParser) { rows = parser }

    private enum DataType { case fp32, fp64
        var size: Int { self == .fp32 ? 4 : 8 }
    }

    /// Parses `json` (the JSON part: the whole body, or its first `Inference-Header-Content-Length`
    /// bytes, copied so that it ends in a NUL) and `binary` (the bytes after it; empty without
    /// the header) into `values` (`rows × featureCount`, the client's units).
    func parse(json: UnsafeBufferPointer<UInt8>, binary: UnsafeRawBufferPointer, hasHeader: Bool,
               into values: inout [Double]) throws(RequestError) -> InferRequest {
        values.removeAll(keepingCapacity: true)
        var request = InferRequest()
        var c = RequestParser.Cursor(base: json.baseAddress!, end: json.count)
        c.skipSpace()
        if c.i == c.end { throw RequestError("empty body: expected an inference request object with 'inputs'") }
        try c.expect(UInt8(ascii: "{"), "'{'")
        var seen: UInt8 = 0
        var input: (shape: [Int], type: DataType, binarySize: Int?, values: Int)? = nil
        c.skipSpace()
        if c.peek() != UInt8(ascii: "}") {
            while true {
                c.skipSpace()
                let key = try rows.parseString(&c)
                try c.expect(UInt8(ascii: ":"), "':'")
                switch key {
                case "id":
                    try once(&seen, 0, key, "")
                    c.skipSpace()
                    let start = c.i
                    _ = try rows.parseString(&c)
                    request.id = Array(UnsafeBufferPointer(start: c.base + start, count: c.i - start))
                case "model_name", "model_version":
                    // The KServe SDK repeats them in the body; the path decides.
                    try once(&seen, key == "model_name" ? 1 : 2, key, "")
                    c.skipSpace()
                    _ = try rows.parseString(&c)
                case "parameters":
                    try once(&seen, 3, key, "")
                    try parameters(&c, label: "parameters") { (key, c) throws(RequestError) in
                        guard key == "binary_data_output" else { return false }
                        request.binaryOutput = try rows.parseBool(&c, label: "parameters.binary_data_output")
                        return true
                    }
                case "inputs":
                    try once(&seen, 4, key, "")
                    try c.expect(UInt8(ascii: "["), "'[' after 'inputs'")
                    c.skipSpace()
                    if c.peek() == UInt8(ascii: "]") { throw RequestError("'inputs' is empty: send one input, 'features'") }
                    input = try self.input(&c, &values)
                    c.skipSpace()
                    if c.peek() == UInt8(ascii: ",") { throw RequestError("'inputs' has more than one input; this model takes one, 'features'") }
                    try c.expect(UInt8(ascii: "]"), "']' after the input")
                case "outputs":
                    try once(&seen, 5, key, "")
                    try c.expect(UInt8(ascii: "["), "'[' after 'outputs'")
                    c.skipSpace()
                    if c.peek() == UInt8(ascii: "]") { c.i += 1; break }
                    while true {
                        let (o, binary) = try output(&c)
                        try request.outputs.append(o, binary: binary)
                        if try c.endOfElement(UInt8(ascii: "]"), " in 'outputs'") { break }
                    }
                default:
                    throw RequestError("unknown key '\(key.prefix(80))'; an inference request has 'id', 'parameters', 'inputs' and 'outputs' (and 'model_name', 'model_version', which the path overrides)")
                }
                if try c.endOfElement(UInt8(ascii: "}"), "") { break }
            }
        } else {
            c.i += 1
        }
        c.skipSpace()
        if c.i != c.end { throw RequestError("malformed JSON at byte \(c.i): trailing data after the object") }
        guard let input else { throw RequestError("'inputs' is missing: send one input, 'features'") }

        // The shape: [n] is one row, [N, n] a batch.
        let n = featureCount
        switch input.shape.count {
        case 1 where input.shape[0] == n: request.rows = 1
        case 2 where input.shape[1] == n: request.rows = input.shape[0]
        default:
            throw RequestError("input 'features' has shape \(input.shape); this model takes [N, \(n)] (or [\(n)] for one row)")
        }
        if request.rows < 1 || request.rows > rows.maxBatch {
            throw RequestError("input 'features' has \(request.rows) rows; send 1…\(rows.maxBatch) (max_batch)")
        }
        let count = request.rows * n
        if let size = input.binarySize {
            guard hasHeader else { throw RequestError("'binary_data_size' is given but the Inference-Header-Content-Length header is missing") }
            guard size == count * input.type.size else {
                throw RequestError("input 'features': binary_data_size is \(size) bytes; shape \(input.shape) of \(input.type == .fp32 ? "FP32" : "FP64") is \(count * input.type.size)")
            }
            guard binary.count == size else {
                throw RequestError("the body has \(binary.count) bytes after its \(json.count)-byte JSON header; binary_data_size says \(size)")
            }
            values.append(contentsOf: repeatElement(0, count: count))
            try values.withUnsafeMutableBufferPointer { (v) throws(RequestError) in
                for k in 0..<count {
                    let x = input.type == .fp32
                        ? Double(Float(bitPattern: UInt32(littleEndian: binary.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self))))
                        : Double(bitPattern: UInt64(littleEndian: binary.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)))
                    guard x.isFinite, abs(x) <= Double(Float.greatestFiniteMagnitude) else {
                        throw RequestError("input 'features' element \(k) (row \(k / n)): \(x) is not a finite Float")
                    }
                    v[k] = x
                }
            }
        } else {
            if hasHeader, !binary.isEmpty {
                throw RequestError("the body has \(binary.count) bytes after its JSON header but no input has binary_data_size")
            }
            guard input.values == count else {
                throw RequestError("input 'features' has \(input.values) values; shape \(input.shape) needs \(count)")
            }
        }
        request.outputs.settle(binaryOutput: request.binaryOutput)
        return request
    }

    /// The one input: its keys in any order; `data` parsed into `values` as it comes.
    private func input(_ c: inout RequestParser.Cursor, _ values: inout [Double]) throws(RequestError)
        -> (shape: [Int], type: DataType, binarySize: Int?, values: Int) {
        try c.expect(UInt8(ascii: "{"), "an input object")
        var name: String?, shape: [Int]?, type: DataType?, binarySize: Int?, hasData = false
        var seen: UInt8 = 0
        c.skipSpace()
        if c.peek() == UInt8(ascii: "}") { throw RequestError("the input is empty: it needs 'name', 'shape', 'datatype' and 'data'") }
        while true {
            c.skipSpace()
            let key = try rows.parseString(&c)
            try c.expect(UInt8(ascii: ":"), "':'")
            switch key {
            case "name":
                try once(&seen, 0, key, "input: ")
                c.skipSpace()
                let s = try rows.parseString(&c)
                guard s == "features" else { throw RequestError("unknown input '\(s.prefix(64))'; this model takes one input, 'features'") }
                name = s
            case "shape":
                try once(&seen, 1, key, "input: ")
                shape = try integers(&c, label: "input 'features' shape")
            case "datatype":
                try once(&seen, 2, key, "input: ")
                c.skipSpace()
                switch try rows.parseString(&c) {
                case "FP32": type = .fp32
                case "FP64": type = .fp64
                case let other: throw RequestError("input 'features' has datatype '\(other.prefix(16))'; send FP32 (or FP64)")
                }
            case "parameters":
                try once(&seen, 3, key, "input: ")
                try parameters(&c, label: "input parameters") { (key, c) throws(RequestError) in
                    guard key == "binary_data_size" else { return false }
                    let v = try integers(&c, label: "binary_data_size", single: true)[0]
                    binarySize = v
                    return true
                }
            case "data":
                try once(&seen, 4, key, "input: ")
                hasData = true
                try data(&c, &values, depth: 0)
            default:
                throw RequestError("input: unknown key '\(key.prefix(80))'; an input has 'name', 'shape', 'datatype', 'parameters' and 'data'")
            }
            if try c.endOfElement(UInt8(ascii: "}"), " in the input") { break }
        }
        guard name != nil else { throw RequestError("the input has no 'name'") }
        guard let shape else { throw RequestError("input 'features' has no 'shape'") }
        guard let type else { throw RequestError("input 'features' has no 'datatype'") }
        if hasData == (binarySize != nil) {
            throw RequestError(hasData ? "input 'features' has both 'data' and binary_data_size" : "input 'features' has no 'data' (and no binary_data_size)")
        }
        return (shape, type, binarySize, values.count)
    }

    /// `data`: numbers, flat or nested one level (`[[row], [row]]`), at most max_batch rows' worth.
    private func data(_ c: inout RequestParser.Cursor, _ values: inout [Double], depth: Int) throws(RequestError) {
        try c.expect(UInt8(ascii: "["), "'[' for 'data'")
        c.skipSpace()
        if c.peek() == UInt8(ascii: "]") { c.i += 1; return }
        let limit = rows.maxBatch * featureCount
        while true {
            c.skipSpace()
            if c.peek() == UInt8(ascii: "[") {
                guard depth == 0 else { throw RequestError("input 'features' data is nested too deep: give it flat or as rows") }
                try data(&c, &values, depth: 1)
            } else {
                if values.count == limit { throw RequestError("input 'features' has more than max_batch × \(featureCount) = \(limit) values") }
                values.append(try rows.parseNumber(&c, label: "input 'features' data[\(values.count)]"))
            }
            if try c.endOfElement(UInt8(ascii: "]"), " in 'data'") { break }
        }
    }

    /// One requested output: `{"name": …, "parameters": {"binary_data": bool, …}}`.
    private func output(_ c: inout RequestParser.Cursor) throws(RequestError) -> (InferOutput, Bool?) {
        try c.expect(UInt8(ascii: "{"), "an output object")
        var output: InferOutput?, binary: Bool?
        var seen: UInt8 = 0
        while true {
            c.skipSpace()
            let key = try rows.parseString(&c)
            try c.expect(UInt8(ascii: ":"), "':'")
            switch key {
            case "name":
                try once(&seen, 0, key, "output: ")
                c.skipSpace()
                let s = try rows.parseString(&c)
                guard let o = InferOutput(name: s) else {
                    throw RequestError("unknown output '\(s.prefix(64))'; this model gives latent, reconstruction, mse and anomaly")
                }
                output = o
            case "parameters":
                try once(&seen, 1, key, "output: ")
                try parameters(&c, label: "output parameters") { (key, c) throws(RequestError) in
                    guard key == "binary_data" else { return false }
                    binary = try rows.parseBool(&c, label: "binary_data")
                    return true
                }
            default:
                throw RequestError("output: unknown key '\(key.prefix(80))'; an output has 'name' and 'parameters'")
            }
            if try c.endOfElement(UInt8(ascii: "}"), " in an output") { break }
        }
        guard let output else { throw RequestError("an output has no 'name'") }
        return (output, binary)
    }

    /// A `parameters` object: `known` reads the value of a key it knows (and says so), at most
    /// once; any other key's value is skipped, and must be a string, a number, a boolean or null.
    private func parameters(_ c: inout RequestParser.Cursor, label: String,
                            _ known: (String, inout RequestParser.Cursor) throws(RequestError) -> Bool) throws(RequestError) {
        try c.expect(UInt8(ascii: "{"), "an object for '\(label)'")
        c.skipSpace()
        if c.peek() == UInt8(ascii: "}") { c.i += 1; return }
        var seen: UInt8 = 0
        while true {
            c.skipSpace()
            let key = try rows.parseString(&c)
            try c.expect(UInt8(ascii: ":"), "':'")
            if try known(key, &c) { try once(&seen, 0, key, "\(label): ") } else { try skipScalar(&c, label: "\(label).\(key.prefix(40))") }
            if try c.endOfElement(UInt8(ascii: "}"), " in '\(label)'") { break }
        }
    }

    private func skipScalar(_ c: inout RequestParser.Cursor, label: String) throws(RequestError) {
        c.skipSpace()
        switch c.peek() {
        case UInt8(ascii: "\""): _ = try rows.parseString(&c)
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try rows.parseBool(&c, label: label)
        case UInt8(ascii: "n"):
            guard c.end - c.i >= 4, c.base[c.i + 1] == UInt8(ascii: "u"), c.base[c.i + 2] == UInt8(ascii: "l"), c.base[c.i + 3] == UInt8(ascii: "l") else {
                throw RequestError("\(label): expected a string, a number or a boolean")
            }
            c.i += 4
        default:
            let start = c.i
            let (result, next) = DecimalParser.scan(c.base, start, c.end, .json)
            guard next > start, case .value = result else { throw RequestError("\(label): a parameter is a string, a number or a boolean") }
            c.i = next
        }
    }

    /// An array of non-negative integers (or, `single`, one such integer), each below 2⁴⁰.
    private func integers(_ c: inout RequestParser.Cursor, label: String, single: Bool = false) throws(RequestError) -> [Int] {
        func one(_ c: inout RequestParser.Cursor) throws(RequestError) -> Int {
            let v = try rows.parseNumber(&c, label: label)
            guard v >= 0, v < 1_099_511_627_776, v == v.rounded() else { throw RequestError("\(label): \(v) is not a non-negative integer") }
            return Int(v)
        }
        if single { return [try one(&c)] }
        try c.expect(UInt8(ascii: "["), "'[' for \(label)")
        var out: [Int] = []
        c.skipSpace()
        if c.peek() == UInt8(ascii: "]") { c.i += 1; return out }
        while true {
            if out.count == 8 { throw RequestError("\(label) has too many dimensions") }
            out.append(try one(&c))
            if try c.endOfElement(UInt8(ascii: "]"), " in \(label)") { break }
        }
        return out
    }
}
