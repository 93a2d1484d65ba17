import ArgumentParser
import AutoencoderCore
import Foundation

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the latent vectors of a CSV's rows (the seed's encoder.predict).")

    @Option(help: "Model file from `ae train`.") var model: String
    @Option(help: "Input CSV with the model's features (matched by name; 'target' and other columns are ignored).")
    var input: String
    @Option(help: "Output CSV (latent_0 … latent_15); stdout when omitted.") var output: String?
    @Flag(help: "Overwrite the output file if it exists.") var force = false

    func run() throws {
        let m = try ModelFile.read(path: model)
        if let output { try Output.checkWritable(output, force: force) }
        let table = try CSVReader(features: m.featureNames).read(path: input)
        if !table.ignoredColumns.isEmpty { Output.stderr("note: ignoring column(s) not in the model: \(table.ignoredColumns.joined(separator: ", "))\n") }
        let latent = m.encode(table)
        let k = m.network.latentSize
        if let bad = latent.firstIndex(where: { !$0.isFinite }) {
            throw CLIError("\(input): data row \(bad / k + 1) (line \(bad / k + 2)): feature values are too extreme for the model (the latent vector is not finite)")
        }
        let sink = try TextSink(path: output)
        sink.write((0..<k).map { "latent_\($0)" }.joined(separator: ",") + "\n")
        var line = ""
        for r in 0..<table.rowCount {
            line.removeAll(keepingCapacity: true)
            for j in 0..<k {
                if j > 0 { line += "," }
                line += latent[r * k + j].description
            }
            line += "\n"
            sink.write(line)
        }
        try sink.close()
        // The seed prints `test_au_features.shape`.
        let shape = "(\(table.rowCount), \(k))"
        if output == nil { Output.stderr(shape + "\n") } else { print(shape) }
    }
}
