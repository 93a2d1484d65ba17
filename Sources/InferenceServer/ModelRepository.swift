import AutoencoderCore
import Foundation
import Synchronization

/// The models being served, by name: one model file (`--model`), or every `<name>.safetensors`
/// in a directory (`--models`).
///
/// A look at the source (`scan`, on SIGHUP or every `poll_seconds`) loads a new file, validates
/// a changed one in full and swaps it in, and unloads a deleted one. A file that fails keeps its
/// model's previous version (or stays absent) and touches no other model. Requests read the
/// models through `WorkerCache`, which notices a change by one atomic read of `generation`;
/// a request that already holds a model finishes with it, however the repository changes.
final class ModelRepository: Sendable {
    enum Source: Sendable, Equatable {
        case file(String)
        case directory(String)
    }

    /// What one look at the source did.
    struct ScanReport: Sendable {
        var loaded: [LoadedModel] = []
        /// Models whose file changed, in their new version.
        var replaced: [LoadedModel] = []
        var removed: [String] = []
        /// Files that could not be loaded (their model, if any, keeps its previous version).
        var failed: [(name: String, error: ModelFileError)] = []
        /// Files in the directory that are not models (listed once each).
        var ignored: [String] = []
        /// Set when the directory itself could not be read (nothing changed).
        var unreadable: String?
        var changed: Bool { !loaded.isEmpty || !replaced.isEmpty || !removed.isEmpty }
    }

    /// A file as a look last saw it: a poll reads a file again only when these differ.
    private struct Stamp: Equatable {
        var size: Int
        var modified: Int64   // nanoseconds since the epoch

        init?(_ path: String) {
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            size = Int(st.st_size)
            modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        }
    }

    private struct State {
        var models: [String: LoadedModel] = [:]
        var stamps: [String: Stamp] = [:]
        /// Why a model's current file is not served (cleared when it loads or is deleted).
        var failures: [String: String] = [:]
        /// Models found at start-up that have not loaded yet (readiness waits for them).
        var awaited: Set<String> = []
        var ignored: Set<String> = []
        /// Unloaded through the repository extension: looks at the source pass them by until
        /// they are loaded again.
        var unloaded: Set<String> = []
    }

    let source: Source
    /// `default_model`, when set.
    let defaultName: String?
    let maxBatch: Int
    /// Counts changes, so a worker can tell with one atomic read that its models are current.
    let generation = Atomic<Int>(0)
    private let state = Mutex(State())
    /// One look at a time (SIGHUP and the poll may coincide).
    private let scanning = Mutex(())

    /// Looks at the source once. A single file that cannot be loaded, a directory that cannot
    /// be read, a `default_model` that is not among the directory's models, or several models and
    /// no default stop start-up.
    init(source: Source, defaultName: String?, maxBatch: Int) throws(ModelRepositoryError) {
        self.source = source
        self.defaultName = defaultName
        self.maxBatch = maxBatch
        let report = scan(force: true)
        if let why = report.unreadable { throw .unreadableDirectory(why) }
        if case .file = source, let failure = report.failed.first { throw .model(failure.error) }
        let names = state.withLock { s in
            s.awaited = Set(s.failures.keys)
            return Set(s.models.keys).union(s.failures.keys)
        }
        // An empty directory may be waiting for its models; one that has models must have the default.
        if let defaultName, !names.isEmpty, !names.contains(defaultName) {
            throw .noDefault("default_model '\(defaultName)' is not in the repository (found: \(names.sorted().prefix(20).joined(separator: ", ")))")
        }
        if defaultName == nil, names.count > 1 {
            throw .noDefault("the repository holds \(names.count) models (\(names.sorted().prefix(20).joined(separator: ", "))): set default_model (--default-model) to say which one /encode and /reconstruct serve")
        }
    }

    /// Directory entries that are not models, as the last look found them.
    var ignored: [String] { state.withLock { $0.ignored.sorted() } }

    /// The models as of now, by name.
    var models: [String: LoadedModel] { state.withLock { $0.models } }

    /// Every model file's state, sorted by name: its model (nil: none loaded) and why its current
    /// file is not served (nil: it is).
    func entries() -> [(name: String, model: LoadedModel?, failure: String?)] {
        state.withLock { s in
            Set(s.models.keys).union(s.failures.keys).sorted().map { ($0, s.models[$0], s.failures[$0]) }
        }
    }

    /// Names unloaded through the repository extension whose files are still there.
    var unloadedNames: Set<String> { state.withLock { $0.unloaded } }

    /// The repository extension's load: reads `name`'s file now, validates it in full and swaps
    /// it in (whether or not it changed), and lifts an unload.
    func load(_ name: String) -> Result<LoadedModel, ModelLoadFailure> {
        scanning.withLock { _ in
            guard let path = path(of: name) else { return .failure(.noSuchFile(name)) }
            let start = DispatchTime.now().uptimeNanoseconds
            do throws(ModelFileError) {
                let m = try LoadedModel(bytes: LoadedModel.read(path), path: path, maxBatch: maxBatch, since: start)
                state.withLock { s in
                    s.models[name] = m
                    s.failures[name] = nil
                    s.unloaded.remove(name)
                    s.awaited.remove(name)
                    s.stamps[name] = Stamp(path)
                }
                generation.add(1, ordering: .releasing)
                return .success(m)
            } catch {
                state.withLock { $0.failures[name] = "\(error)" }
                return .failure(.invalid(error))
            }
        }
    }

    /// The repository extension's unload: `name` stops serving (requests holding it finish)
    /// until it is loaded again. False when no such model is loaded.
    func unload(_ name: String) -> Bool {
        scanning.withLock { _ in
            let removed = state.withLock { s -> Bool in
                guard s.models.removeValue(forKey: name) != nil || s.failures[name] != nil else { return false }
                s.failures[name] = nil
                s.awaited.remove(name)
                s.unloaded.insert(name)
                return true
            }
            if removed { generation.add(1, ordering: .releasing) }
            return removed
        }
    }

    /// The file that holds model `name`, if the source has one.
    private func path(of name: String) -> String? {
        guard ModelName.isValid(name) else { return nil }
        switch source {
        case .file(let path):
            return ((path as NSString).lastPathComponent as NSString).deletingPathExtension == name && FileManager.default.fileExists(atPath: path) ? path : nil
        case .directory(let dir):
            let path = (dir as NSString).appendingPathComponent("\(name).safetensors")
            return FileManager.default.fileExists(atPath: path) ? path : nil
        }
    }

    /// nil when ready: at least one model loaded and every one found at start-up loaded;
    /// otherwise why not.
    func unreadiness() -> String? {
        state.withLock { s in
            if let name = s.awaited.sorted().first {
                return "model '\(name)' has not loaded: \(s.failures[name] ?? "loading")"
            }
            return s.models.isEmpty ? "no model loaded" : nil
        }
    }

    /// The model the unnamed routes answer with, from `models` (a worker's copy).
    func defaultModel(in models: [String: LoadedModel]) -> Result<LoadedModel, HTTPError> {
        if let defaultName {
            if let m = models[defaultName] { return .success(m) }
            return .failure(.notReady("the default model '\(defaultName)' is not loaded"))
        }
        if models.count == 1 { return .success(models.first!.value) }
        if models.isEmpty { return .failure(.notReady("no model loaded")) }
        return .failure(HTTPError(status: 404, message: "\(models.count) models are loaded and none is the default: name one (/v1/models/{name}/…; GET /v1/models lists them)"))
    }

    /// The model files the source holds now, and the directory entries that are not models.
    private func listing() -> (files: [(name: String, path: String)], ignored: [String], unreadable: String?) {
        switch source {
        case .file(let path):
            return ([(((path as NSString).lastPathComponent as NSString).deletingPathExtension, path)], [], nil)
        case .directory(let dir):
            let entries: [String]
            do { entries = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
                return ([], [], "\(dir): cannot list the models directory (\(FileManager.default.fileExists(atPath: dir) ? "unreadable" : "no such directory"))")
            }
            var files: [(String, String)] = [], ignored: [String] = []
            for entry in entries.sorted() {
                let name = (entry as NSString).deletingPathExtension
                if entry.hasSuffix(".safetensors"), ModelName.isValid(name) {
                    files.append((name, (dir as NSString).appendingPathComponent(entry)))
                } else {
                    ignored.append(entry)
                }
            }
            return (files, ignored, nil)
        }
    }

    /// Looks at the source and applies what changed. `force` reads every file (SIGHUP);
    /// otherwise a file whose size and modification time are as last seen is not read (the poll).
    /// A file read again whose SHA-256 is the served model's changes nothing.
    @discardableResult
    func scan(force: Bool) -> ScanReport {
        scanning.withLock { _ in
            var report = ScanReport()
            let list = listing()
            if let why = list.unreadable {
                report.unreadable = why
                return report
            }
            let (models, stamps, unloaded) = state.withLock { ($0.models, $0.stamps, $0.unloaded) }
            var newStamps: [String: Stamp] = [:], failures: [String: String] = [:], cleared: [String] = []
            for (name, path) in list.files where !unloaded.contains(name) {
                let stamp = Stamp(path)
                if let stamp { newStamps[name] = stamp }
                if !force, let stamp, stamps[name] == stamp { continue }
                let start = DispatchTime.now().uptimeNanoseconds
                do throws(ModelFileError) {
                    let bytes = try LoadedModel.read(path)
                    if let old = models[name], old.sha256 == Fingerprint.sha256(bytes) {
                        cleared.append(name)
                        continue
                    }
                    let m = try LoadedModel(bytes: bytes, path: path, maxBatch: maxBatch, since: start)
                    if models[name] == nil { report.loaded.append(m) } else { report.replaced.append(m) }
                    cleared.append(name)
                } catch {
                    report.failed.append((name, error))
                    failures[name] = "\(error)"
                }
            }
            let present = Set(list.files.map(\.name))
            if case .directory = source {
                report.removed = models.keys.filter { !present.contains($0) }.sorted()
            }
            state.withLock { s in
                for m in report.loaded + report.replaced { s.models[m.name] = m }
                for name in report.removed { s.models[name] = nil }
                for name in cleared { s.failures[name] = nil }
                for (name, why) in failures { s.failures[name] = why }
                for name in s.failures.keys where !present.contains(name) { s.failures[name] = nil }
                s.unloaded = s.unloaded.filter { present.contains($0) }
                s.stamps = newStamps
                s.awaited = s.awaited.filter { present.contains($0) && s.models[$0] == nil }
                report.ignored = list.ignored.filter { !s.ignored.contains($0) }
                s.ignored = Set(list.ignored)
            }
            if report.changed { generation.add(1, ordering: .releasing) }
            return report
        }
    }
}

/// Why the repository extension's load failed.
enum ModelLoadFailure: Error {
    case noSuchFile(String)
    case invalid(ModelFileError)
}

public enum ModelRepositoryError: Error, CustomStringConvertible {
    case model(ModelFileError)
    case unreadableDirectory(String)
    case noDefault(String)

    public var description: String {
        switch self {
        case .model(let e): "\(e)"
        case .unreadableDirectory(let why), .noDefault(let why): why
        }
    }
}
