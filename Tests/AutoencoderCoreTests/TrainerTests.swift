import Foundation
import Testing
@testable import AutoencoderCore

@Suite struct TrainerTests {
    static func config(epochs: Int = 8) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.epochs = epochs
        c.hidden = [8, 6]
        c.latent = 3
        c.seed = 99
        return c
    }

    @Test func trainingLowersValidationLoss() throws {
        let table = generatedTable(rows: 1200)
        let result = try Trainer(configuration: Self.config()).fit(table)
        let first = result.history.first!.valLoss!, last = result.history.last!.valLoss!
        #expect(last < first * 0.8, "val_loss \(first) → \(last)")
        #expect(result.history.count == 8)
        // Default rows: benign only when there is a target; the last 25% validate.
        let benign = table.targets!.filter { $0 == 0 }.count
        #expect(result.model.training.rows == "benign")
        #expect(result.model.training.trainRows == Int((Double(benign) * 0.75).rounded(.down)))
        #expect(result.model.training.trainRows + result.model.training.validationRows == benign)
    }

    @Test func sameSeedGivesBitIdenticalWeights() throws {
        let table = generatedTable(rows: 400)
        let a = try Trainer(configuration: Self.config(epochs: 3)).fit(table).model
        let b = try Trainer(configuration: Self.config(epochs: 3)).fit(table).model
        #expect(a.network == b.network)
        #expect(a.threshold == b.threshold)
        var other = Self.config(epochs: 3)
        other.seed = 100
        let c = try Trainer(configuration: other).fit(table).model
        #expect(c.network != a.network)
    }

    @Test func rowsAllTrainsOnEveryRowAsTheSeedDoes() throws {
        var c = Self.config(epochs: 1)
        c.rows = .all
        let m = try Trainer(configuration: c).fit(generatedTable(rows: 400)).model
        #expect(m.training.trainRows == 300 && m.training.validationRows == 100)
        #expect(m.training.rows == "all")
    }

    @Test func benignRowsNeedATarget() {
        var c = Self.config(epochs: 1)
        c.rows = .benign
        var t = generatedTable(rows: 50)
        t.targets = nil
        #expect(throws: TrainingError.noTargetColumn) { try Trainer(configuration: c).fit(t) }
    }

    @Test func thresholdSeparatesAttacks() throws {
        let model = try Trainer(configuration: Self.config(epochs: 15)).fit(generatedTable(rows: 1500)).model
        let test = generatedTable(rows: 600, seed: 8)
        let report = DetectionReport(errors: model.reconstructionErrors(test), targets: test.targets!, threshold: model.threshold)
        #expect(report.rocAUC! > 0.9)
        #expect(report.tpr! > 0.8)
    }

    @Test func earlyStoppingRestoresTheBestEpoch() throws {
        var c = Self.config(epochs: 60)
        c.learningRate = 0.05      // large enough that val_loss stops improving early
        c.earlyStoppingPatience = 2
        var seen: [EpochResult] = []
        let result = try Trainer(configuration: c).fit(generatedTable(rows: 300)) { if case .epochEnd(let r) = $0 { seen.append(r) } }
        let s = result.model.training
        #expect(s.epochsRun == seen.count)
        let best = seen.min { $0.valLoss! < $1.valLoss! }!
        #expect(s.bestEpoch == best.epoch)
        #expect(s.finalValLoss == best.valLoss)
        if s.epochsRun < 60 { #expect(s.epochsRun == s.bestEpoch + 2) }
    }

    @Test func invalidConfigurationIsRefused() {
        var c = TrainingConfiguration()
        c.batchSize = 0
        #expect(throws: TrainingError.self) { try c.validate() }
        c = TrainingConfiguration(); c.validationSplit = 1
        #expect(throws: TrainingError.self) { try c.validate() }
    }

    @Test func configFileOverridesDefaultsAndRefusesUnknownKeys() throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        let good = writeFile(#"{"epochs": 3, "hidden": [10], "threshold": "p99", "rows": "all"}"#, in: dir, name: "a.json")
        let c = try TrainingConfiguration(jsonFile: good)
        #expect(c.epochs == 3 && c.hidden == [10] && c.threshold == .percentile(99) && c.rows == .all && c.batchSize == 32)
        let typo = writeFile(#"{"epoch": 3}"#, in: dir, name: "b.json")
        #expect(throws: TrainingError.self) { try TrainingConfiguration(jsonFile: typo) }
        let wrongType = writeFile(#"{"epochs": "3"}"#, in: dir, name: "c.json")
        #expect(throws: TrainingError.self) { try TrainingConfiguration(jsonFile: wrongType) }
    }

    @Test func checkedInConfigHoldsTheSeedValues() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../config/train.json").path
        let c = try TrainingConfiguration(jsonFile: path)
        #expect(c == TrainingConfiguration())
    }
}
