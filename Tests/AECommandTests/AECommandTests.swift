import Foundation
@_exported import TestSupport
import Testing

/// The `ae` executable as a user meets it: bad input is a message naming the file, line and
/// column with a non-zero exit; nothing is overwritten without --force; the happy path works.
@Suite(.serialized) struct AECommandTests {
    static var binary: String? {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ae").path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug/ae").standardized.path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }

    struct Run { var status: Int32; var out: String; var err: String }

    func ae(_ args: [String]) throws -> Run { try Self.ae(args, in: dir) }

    /// Runs the built `ae` in `dir` and collects its exit status and output.
    static func ae(_ args: [String], in dir: URL) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary!)
        p.arguments = args
        p.currentDirectoryURL = dir
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    func file(_ name: String, _ text: String) -> String {
        let path = dir.appendingPathComponent(name).path
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func synthTrainEncodeEvaluateInspect() throws {
        guard Self.binary != nil else { Issue.record("ae binary not found; build it first"); return }
        let synth = try ae(["synth", "--out", "d", "--rows", "600", "--test-rows", "300"])
        #expect(synth.status == 0, "\(synth.err)")
        let train = try ae(["train", "--train", "d/gafgyt_danmini_doorbell_train.csv", "--epochs", "2", "--out", "m.safetensors"])
        #expect(train.status == 0, "\(train.err)")
        #expect(train.out.contains("Epoch 1/2") && train.out.contains("Epoch 2/2") && train.out.contains("val_loss"))
        let encode = try ae(["encode", "--model", "m.safetensors", "--input", "d/gafgyt_danmini_doorbell_test.csv", "--output", "latent.csv"])
        #expect(encode.status == 0)
        #expect(encode.out.trimmingCharacters(in: .whitespacesAndNewlines) == "(300, 16)")   // the seed's print(shape)
        let latent = try String(contentsOf: dir.appendingPathComponent("latent.csv"), encoding: .utf8).split(separator: "\n")
        #expect(latent.count == 301 && latent[0].hasPrefix("latent_0,latent_1,"))
        let evaluate = try ae(["evaluate", "--model", "m.safetensors", "--test", "d/gafgyt_danmini_doorbell_test.csv", "--json"])
        #expect(evaluate.status == 0)
        let report = try JSONSerialization.jsonObject(with: Data(evaluate.out.utf8)) as? [String: Any]
        #expect(report?["rows"] as? Int == 300 && report?["roc_auc"] != nil)
        // Without --out, the model goes where ae-server looks by default, its folder made.
        #expect(try ae(["train", "--train", "d/gafgyt_danmini_doorbell_train.csv", "--epochs", "1"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("models/model.safetensors").path))
        let inspect = try ae(["inspect", "m.safetensors"])
        #expect(inspect.status == 0 && inspect.out.contains("115 → 64 leaky_relu → 32 leaky_relu → 16 tanh [latent]"))
        // A row the model cannot score (its reconstruction error overflows) is refused by row and line.
        let header = try String(contentsOf: dir.appendingPathComponent("d/gafgyt_danmini_doorbell_test.csv"), encoding: .utf8)
            .split(separator: "\n")[0]
        let extreme = file("extreme.csv", "\(header)\n" + Array(repeating: "3e38", count: 115).joined(separator: ",") + ",1\n")
        let refused = try ae(["evaluate", "--model", "m.safetensors", "--test", extreme])
        #expect(refused.status != 0 && refused.err.contains("extreme.csv: data row 1 (line 2)"), "\(refused.err)")
        // Nothing is overwritten without --force.
        let again = try ae(["train", "--train", "d/gafgyt_danmini_doorbell_train.csv", "--epochs", "1", "--out", "m.safetensors"])
        #expect(again.status != 0 && again.err.contains("--force"))
        let again2 = try ae(["synth", "--out", "d", "--rows", "100"])
        #expect(again2.status != 0 && again2.err.contains("--force"))
    }

    @Test func badInputNamesFileLineAndColumn() throws {
        guard Self.binary != nil else { Issue.record("ae binary not found"); return }
        let bad = file("bad.csv", "a,b,target\n1,2,0\n3,x,1\n")
        let r = try ae(["train", "--train", bad, "--epochs", "1"])
        #expect(r.status != 0)
        #expect(r.err.contains("bad.csv:3: column 'b': 'x' is not a number"), "\(r.err)")
        let packets = file("p.csv", "frame.time_epoch,frame.len,eth.src,eth.dst,ip.src,ip.dst\n1,60,a,b,1.1.1.1,2.2.2.2\nnope,60,a,b,1.1.1.1,2.2.2.2\n")
        let f = try ae(["features", "--packets", packets, "--out", "f.csv"])
        #expect(f.status != 0 && f.err.contains("p.csv:3:") && f.err.contains("frame.time_epoch"), "\(f.err)")
        let skipped = try ae(["features", "--packets", packets, "--out", "g.csv", "--skip-bad"])
        #expect(skipped.status == 0 && skipped.err.contains("skipped 1 malformed line"))
        let clockless = try ae(["features", "--packets", packets, "--out", "h.csv", "--duration", "5"])
        #expect(clockless.status != 0 && clockless.err.contains("--duration is for a capture"), "\(clockless.err)")
        let config = file("train.json", #"{"epochs": 2, "learnig_rate": 0.01}"#)
        let c = try ae(["train", "--train", bad, "--config", config])
        #expect(c.status != 0 && c.err.contains("learnig_rate"))
        let missing = try ae(["evaluate", "--model", "nope.safetensors", "--test", bad])
        #expect(missing.status != 0 && missing.err.contains("nope.safetensors"))
    }
}
