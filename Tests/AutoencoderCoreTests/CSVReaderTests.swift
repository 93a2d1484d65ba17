import Foundation
import Testing
@testable import AutoencoderCore

@Suite struct CSVReaderTests {
    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }

    func read(_ text: String, features: [String]? = nil, chunk: Int? = nil) throws(CSVError) -> FeatureTable {
        var reader = CSVReader(features: features)
        if let chunk { reader.chunkSize = chunk }
        return try reader.read(path: writeFile(text, in: dir))
    }

    func error(_ text: String, features: [String]? = nil) -> CSVError? {
        do { _ = try read(text, features: features); return nil } catch { return error }
    }

    @Test func readsKaggleFormWithTargetAnywhere() throws {
        let t = try read("a,target,b\n1,0,2\n3.5,2,-4e2\n")
        #expect(t.featureNames == ["a", "b"])
        #expect(t.values == [1, 2, 3.5, -400])
        #expect(t.targets == [0, 2])
    }

    @Test func aTimestampColumnIsNeverAFeature() throws {
        let t = try read("a,timestamp,b\n1,1505000000.25,2\n3,1505000001.5,4\n")
        #expect(t.featureNames == ["a", "b"])
        #expect(t.values == [1, 2, 3, 4])
        #expect(t.timestamps == [1505000000.25, 1505000001.5])
        #expect(t.selecting(rows: [1]).timestamps == [1505000001.5])
        // Imposed features: still read, not reported as ignored.
        let m = try read("b,a,timestamp\n2,1,7\n", features: ["a", "b"])
        #expect(m.values == [1, 2] && m.timestamps == [7] && m.ignoredColumns.isEmpty)
        #expect(try read("a,b\n1,2\n").timestamps == nil)
    }

    @Test func readsUCIFormWithoutTarget() throws {
        let t = try read("a,b\r\n1,2\r\n3,4\r\n")
        #expect(t.targets == nil)
        #expect(t.values == [1, 2, 3, 4])
    }

    @Test func matchesColumnsByNameInAnyOrder() throws {
        let t = try read("\u{FEFF}b,extra,a,target\n2,9,1,0\n", features: ["a", "b"])
        #expect(t.values == [1, 2])
        #expect(t.ignoredColumns == ["extra"])
    }

    @Test func linesSpanningChunkBoundaries() throws {
        var text = "a,b,target\n"
        for i in 0..<500 { text += "\(i).25,\(i * 2),\(i % 3)\n" }
        let t = try read(text, chunk: 64)
        #expect(t.rowCount == 500)
        #expect(t.values[2 * 499] == 499.25 && t.values[2 * 499 + 1] == 998)
        #expect(t.targets![499] == 499 % 3)
    }

    @Test func refusesNonNumericCellNamingLineAndColumn() {
        let e = error("a,b\n1,2\n3,abc\n")
        #expect(e?.kind == .notNumeric("abc"))
        #expect(e?.line == 3 && e?.column == "b")
        #expect(e?.description.contains("data.csv:3: column 'b'") == true)
    }

    @Test func refusesWrongFieldCount() {
        #expect(error("a,b\n1,2,3\n")?.kind == .fieldCount(expected: 2, found: 3))
        #expect(error("a,b\n1\n")?.kind == .fieldCount(expected: 2, found: 1))
    }

    @Test func refusesMissingAndDuplicateColumns() {
        #expect(error("a,c\n1,2\n", features: ["a", "b"])?.kind == .missingFeatures(["b"]))
        #expect(error("a,b,a\n1,2,3\n")?.kind == .duplicateColumn("a"))
        #expect(error("a,,b\n1,2,3\n")?.kind == .emptyColumnName(index: 2))
        #expect(error("target\n1\n")?.kind == .noFeatureColumns)
    }

    @Test func refusesNaNAndInf() {
        #expect(error("a,b\n1,nan\n")?.kind == .nonFinite("nan"))
        #expect(error("a,b\n1,-Infinity\n")?.kind == .nonFinite("-Infinity"))
        #expect(error("a,b\n1,1e400\n")?.kind == .nonFinite("1e400"))
    }

    @Test func refusesEmptyFileNoHeaderNoRows() {
        #expect(error("")?.kind == .emptyFile)
        #expect(error("1,2\n3,4\n")?.kind == .noHeader)
        #expect(error("a,b\n")?.kind == .noRows)
    }

    @Test func refusesBadTarget() {
        #expect(error("a,target\n1,0.5\n")?.kind == .badTarget("0.5"))
        #expect(error("a,target\n1,x\n")?.kind == .badTarget("x"))
    }

    @Test func missingFileIsAnError() {
        do {
            _ = try CSVReader().read(path: dir.appendingPathComponent("nope.csv").path)
            Issue.record("expected an error")
        } catch {
            guard case .cannotOpen = error.kind else { Issue.record("wrong kind \(error)"); return }
        }
    }
}

@Suite struct PandasIndexColumnTests {
    @Test func anUnnamedFirstColumnIsAnIndex() throws {
        let temporary = TemporaryDirectory()
        let dir = temporary.url
        defer { withExtendedLifetime(temporary) {} }
        for header in [",a,b,target", "Unnamed: 0,a,b,target"] {
            let t = try CSVReader().read(path: writeFile("\(header)\n0,1,2,0\n1,3,4,1\n", in: dir))
            #expect(t.featureNames == ["a", "b"])
            #expect(t.values == [1, 2, 3, 4])
            #expect(t.ignoredColumns.count == 1)
            let named = try CSVReader(features: ["b", "a"]).read(path: writeFile("\(header)\n0,1,2,0\n", in: dir))
            #expect(named.values == [2, 1])
        }
        // Only the first column: an empty name elsewhere is still an error.
        #expect(throws: CSVError.self) { try CSVReader().read(path: writeFile("a,,b\n1,2,3\n", in: dir)) }
    }
}
