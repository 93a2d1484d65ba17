import Testing
@testable import AutoencoderCore

@Suite struct WindowVoteTests {
    /// The rule as the README states it, written the slow way: every window counted afresh.
    func reference(_ flags: [Bool], size: Int) -> WindowVote.Count {
        guard flags.count >= size else { return .init(windows: 0, anomalous: 0, first: nil) }
        var c = WindowVote.Count(windows: 0, anomalous: 0, first: nil)
        for end in (size - 1)..<flags.count {
            c.windows += 1
            let votes = flags[(end - size + 1)...end].filter { $0 }.count
            if votes * 2 > size {
                c.anomalous += 1
                if c.first == nil { c.first = end }
            }
        }
        return c
    }

    @Test func countMatchesTheReferenceOnRandomSequences() {
        var rng = SplitMix64(seed: 11)
        for trial in 0..<300 {
            let n = Int(rng.next() % 90)
            let p = Double(rng.next() % 100) / 100
            let flags = (0..<n).map { _ in Double(rng.next() % 1000) / 1000 < p }
            for size in 1...12 {
                #expect(WindowVote.count(flags, size: size) == reference(flags, size: size), "trial \(trial), size \(size)")
            }
        }
    }

    @Test func anEvenSplitIsBenignAndShortFilesHaveNoWindows() {
        // Two of four: not a majority.
        #expect(WindowVote.count([true, true, false, false], size: 4) == .init(windows: 1, anomalous: 0, first: nil))
        #expect(WindowVote.count([true, true, true, false], size: 4) == .init(windows: 1, anomalous: 1, first: 3))
        #expect(WindowVote.count([true, true], size: 3) == .init(windows: 0, anomalous: 0, first: nil))
        #expect(WindowVote.count([true, true], size: 3).rate == nil)
        // Size 1 is the per-instance verdict.
        #expect(WindowVote.count([false, true, false, true], size: 1) == .init(windows: 4, anomalous: 2, first: 1))
    }

    @Test func smallestQuietWindowOnHandMadeSequences() {
        // No alarm at all: 1.
        #expect(WindowVote.smallestWindowWithoutAlarms([false, false, false], maxWindow: 10) == .found(1))
        // Isolated alarms: 2 (one of two is not a majority).
        #expect(WindowVote.smallestWindowWithoutAlarms([false, true, false, false, true, false], maxWindow: 10) == .found(2))
        // A pair of alarms: 2 still catches [T, T]; 3 catches [T, T, F]; 4 is an even split; 4 wins.
        #expect(WindowVote.smallestWindowWithoutAlarms([false, false, true, true, false, false], maxWindow: 10) == .found(4))
        // Three in a row need 6 (3 of 6 is an even split; 5 holds a majority of 3).
        let run = [Bool](repeating: false, count: 5) + [true, true, true] + [Bool](repeating: false, count: 5)
        #expect(WindowVote.smallestWindowWithoutAlarms(run, maxWindow: 20) == .found(6))
        // Bounded search: the best seen and its rate.
        #expect(WindowVote.smallestWindowWithoutAlarms(run, maxWindow: 3)
                == .notFound(best: 2, rate: 2.0 / 12, searchedUpTo: 3))
        // Every instance anomalous: never quiet, the bound is the sequence's length.
        if case let .notFound(_, rate, upTo) = WindowVote.smallestWindowWithoutAlarms([true, true, true], maxWindow: 50) {
            #expect(rate == 1 && upTo == 3)
        } else { Issue.record("found a quiet window in all-anomalous instances") }
    }

    @Test func windowsNeverSpanTwoDevices() {
        // Joined, [F, F, T, T, F, F] would need 4; each device alone is quiet at 2.
        #expect(WindowVote.smallestWindowWithoutAlarms([[false, false, true], [true, false, false]], maxWindow: 10) == .found(2))
        #expect(WindowVote.smallestWindowWithoutAlarms([false, false, true, true, false, false], maxWindow: 10) == .found(4))
        // The bound is the shortest device's length.
        #expect(WindowVote.smallestWindowWithoutAlarms([[true, true], [true, true, true, true]], maxWindow: 10)
                == .notFound(best: 1, rate: 1, searchedUpTo: 2))
    }

    @Test func searchAgreesWithABruteForceScan() {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<200 {
            let n = 1 + Int(rng.next() % 60)
            let flags = (0..<n).map { _ in rng.next() % 5 == 0 }
            let expected = (1...min(30, n)).first { reference(flags, size: $0).anomalous == 0 }
            switch WindowVote.smallestWindowWithoutAlarms(flags, maxWindow: 30) {
            case .found(let s): #expect(s == expected)
            case .notFound: #expect(expected == nil)
            }
        }
    }

    @Test func benignSplitCutsThirdsAndRefusesTooFewRows() throws {
        let s = try BenignSplit(rows: 1001)
        #expect(s.train == 0..<333 && s.opt == 333..<666 && s.test == 666..<1001)
        #expect(throws: TrainingError.self) { try BenignSplit(rows: 3 * BenignSplit.minimumRowsPerThird - 1) }
        do { _ = try BenignSplit(rows: 12); Issue.record("accepted 12 rows") } catch {
            #expect(error.description.contains("at least 300 benign rows"), "\(error)")
        }
    }

    @Test func deviceTrainerSetsThresholdAndWindowOnTheOptThird() throws {
        var table = generatedTable(rows: 1500)
        table = table.selecting(rows: table.targets!.indices.filter { table.targets![$0] == 0 })
        var config = TrainerTests.config(epochs: 3)
        config.validationSplit = 0.25
        let model = try DeviceTrainer(configuration: config, maxWindow: 200).fit(table).model
        let window = try #require(model.window)
        let split = try BenignSplit(rows: table.rowCount)
        #expect(window.split == split)
        #expect(model.training.trainRows + model.training.validationRows == split.train.count)
        // The threshold is mean + std of the opt third's errors, and ws* is the first quiet window there.
        let opt = model.reconstructionErrors(table.selecting(rows: Array(split.opt)))
        #expect(model.threshold == ThresholdRule.meanPlusStd(1).threshold(opt))
        let flags = opt.map { $0 > model.threshold }
        #expect(WindowVote.smallestWindowWithoutAlarms(flags, maxWindow: 200) == .found(window.size))
        #expect(window.optInstanceFPR == Double(flags.filter { $0 }.count) / Double(flags.count))
        // It survives the model file.
        let back = try ModelFile.decode(ModelFile.encode(model))
        #expect(back.window == model.window)
        #expect(back.training == model.training)
        #expect(back == model)
    }

    @Test func deviceTrainerReportsTheBestWindowWhenNoneIsQuiet() throws {
        var table = generatedTable(rows: 1500)
        table = table.selecting(rows: table.targets!.indices.filter { table.targets![$0] == 0 })
        var config = TrainerTests.config(epochs: 1)
        config.threshold = .percentile(10)   // 90% of opt flagged: no majority vote is ever quiet
        do { _ = try DeviceTrainer(configuration: config, maxWindow: 50).fit(table); Issue.record("accepted") } catch {
            guard case let .noQuietWindow(_, rate, upTo) = error else { Issue.record("\(error)"); return }
            #expect(upTo == 50 && rate > 0.5)
        }
    }
}

@Suite struct DeviceDetectionTests {
    /// Hand-made errors at threshold 0.5 and windows of 3: every figure worked out by hand.
    @Test func figuresOnHandMadeErrors() {
        let d = DeviceDetection(device: "d", threshold: 0.5, windowSize: 3, benign: [0, 0, 1, 0, 0, 0], attacks: [
            .init(family: "gafgyt", attack: "a", errors: [1, 1, 1, 0], timestamps: [10, 11, 12, 13]),
            .init(family: "gafgyt", attack: "b", errors: [0, 0, 1, 1, 1], timestamps: nil),
            .init(family: "mirai", attack: "c", errors: [0, 0], timestamps: [1, 2]),
        ])
        #expect(d.instanceFPR == 1.0 / 6 && d.windowFPR == 0)
        #expect(d.instanceTPR == 6.0 / 11 && d.windowTPR == 4.0 / 5)
        let a = d.attacks
        #expect(a[0].windowTPR == 1 && a[0].delayInstances == 3 && a[0].delaySeconds == 2)
        #expect(a[1].windowTPR == 2.0 / 3 && a[1].delayInstances == 4 && a[1].delaySeconds == nil)
        #expect(a[2].windowTPR == nil && a[2].delayInstances == nil && a[2].instanceTPR == 0)
        #expect(d.families == [.init(family: "gafgyt", rows: 9, instanceTPR: 6.0 / 9, windowTPR: 4.0 / 5),
                               .init(family: "mirai", rows: 2, instanceTPR: 0, windowTPR: nil)])
        #expect(d.counts.benignWindows == 4 && d.counts.attackWindows == 5)
    }
}

/// The streaming form gives `count`'s windows and verdicts, one instance at a time.
@Suite struct WindowStreamTests {
    @Test func agreesWithCountOnRandomFlags() {
        var rng = SplitMix64(seed: 21)
        for _ in 0..<300 {
            let n = Int(rng.next() % 60)
            let size = 1 + Int(rng.next() % 9)
            let density = rng.next() % 4
            let flags = (0..<n).map { _ in rng.next() % 4 < density }
            var stream = WindowVote.Stream(size: size)
            var verdicts: [Bool?] = []
            for f in flags { verdicts.append(stream.add(f)) }
            let expected = WindowVote.count(flags, size: size)
            #expect(stream.windows == expected.windows && stream.anomalous == expected.anomalous, "n \(n) size \(size)")
            #expect(verdicts.firstIndex(of: true) == expected.first)
            #expect(verdicts.prefix(size - 1).allSatisfy { $0 == nil } && verdicts.dropFirst(size - 1).allSatisfy { $0 != nil })
            // Each verdict is its own window's majority, worked out directly.
            for (i, v) in verdicts.enumerated() where v != nil {
                let window = flags[(i - size + 1)...i]
                #expect(v == (2 * window.filter { $0 }.count > size))
            }
        }
    }

    @Test func anEvenSplitIsBenign() {
        var s = WindowVote.Stream(size: 4)
        #expect([true, true, false, false, true].map { s.add($0) } == [nil, nil, nil, false, false])
        #expect(s.add(true) == false && s.add(true) == true && s.windows == 4 && s.anomalous == 1)
    }
}
