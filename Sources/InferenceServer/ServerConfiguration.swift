/// Everything `ae-server` can be told. Every field's default is the checked-in
/// `config/server.json`'s value; `ServerConfiguration+ConfigReader.swift` lists the keys.
public struct ServerConfiguration: Sendable, Equatable {
    /// Address to bind, an IPv4 or IPv6 literal. Default `"0.0.0.0"` (all interfaces: the
    /// container case); tests use `"127.0.0.1"`.
    public var host: String = "0.0.0.0"
    /// Port to bind; 0 picks a free port (logged at start-up). Default 8080.
    public var port: Int = 8080
    /// Worker threads, one libmicrohttpd daemon (epoll) each; new connections are handed to
    /// them in turn, so keep-alive clients spread over all of them. Default: the number of cores.
    public var threads: Int = ServerConfiguration.coreCount
    /// The `.safetensors` model file from `ae train` (whose `--out` has the same default).
    /// Default `"models/model.safetensors"`.
    public var modelPath: String = "models/model.safetensors"
    /// A model repository: every `<name>.safetensors` in this directory is served as model
    /// `<name>` (`[A-Za-z0-9_.-]{1,64}`), at `/v1/models/<name>/…`. When set, `modelPath` is not
    /// read. Default none (serve `modelPath` alone).
    public var modelsDirectory: String? = nil
    /// The model the unnamed routes (`/encode`, `/reconstruct`, `/model`) answer with. Needed
    /// when the repository holds more than one model; with one, that one. Default none.
    public var defaultModel: String? = nil
    /// Seconds between looks at the repository for new, changed or deleted files (size and
    /// modification time, then the SHA-256); SIGHUP looks at once. 0 = only on SIGHUP. Default 0.
    public var pollSeconds: Double = 0
    /// Larger request bodies are refused with 413 without being buffered. Default 1 MiB.
    public var maxBodyBytes: Int = 1 << 20
    /// Most rows one `instances` request may carry. Default 1024.
    public var maxBatch: Int = 1024
    /// Seconds a connection may sit idle (or stall mid-body) before it is closed. Default 10.
    public var connectionTimeoutSeconds: Int = 10
    /// Seconds from a connection's opening, or from its previous response, to a complete request
    /// (request line, headers and body), however steadily the bytes trickle in. Past it a request
    /// that has begun gets 408 and its connection is closed; a connection that sent nothing is
    /// closed. 0 turns it off. Default 10.
    public var requestTimeoutSeconds: Int = 10
    /// Most simultaneous connections, shared out across the threads; a connection over it is
    /// closed as soon as it is accepted (counted in `ae_connections_refused_total`). Each takes an
    /// open file, so start-up raises the process's limit or says it cannot. Default 1024.
    public var connectionLimit: Int = 1024
    /// Most simultaneous connections from one IP address; further ones are closed as soon as they
    /// are accepted. Behind a proxy or ingress, every client shares the proxy's address: raise it
    /// there. 0 = no limit. Default 256.
    public var perIPConnectionLimit: Int = 256
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish. Default 10 s
    /// (Kubernetes' terminationGracePeriodSeconds should be larger).
    public var drainTimeoutSeconds: Double = 10
    /// Bearer tokens accepted on `/encode`, `/reconstruct` and `/model`; empty turns auth off. Default none.
    public var authTokens: [String] = []
    /// A file with one bearer token per line, added to `authTokens`. Default none.
    public var authTokenFile: String? = nil
    /// Whether `/metrics` needs a token too (probes never do). Default false.
    public var authMetrics: Bool = false
    /// trace, debug, info, notice, warning, error or critical. Default info.
    public var logLevel: String = "info"

    public init() {}

    public static var coreCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Refuses values the server cannot honour.
    public func validate() throws(ServerConfigurationError) {
        func bad(_ key: String, _ why: String) -> ServerConfigurationError { .invalid(key: key, reason: why) }
        if !(0...65535).contains(port) { throw bad("port", "must be 0…65535, got \(port)") }
        if !(1...256).contains(threads) { throw bad("threads", "must be 1…256, got \(threads)") }
        if maxBodyBytes < 64 { throw bad("max_body_bytes", "must be at least 64, got \(maxBodyBytes)") }
        if maxBatch < 1 { throw bad("max_batch", "must be at least 1, got \(maxBatch)") }
        if connectionTimeoutSeconds < 0 { throw bad("connection_timeout_seconds", "must be ≥ 0") }
        if requestTimeoutSeconds < 0 { throw bad("request_timeout_seconds", "must be ≥ 0") }
        if !(threads...1_000_000).contains(connectionLimit) { throw bad("connection_limit", "must be \(threads) (the threads) … 1000000, got \(connectionLimit)") }
        if !(0...1_000_000).contains(perIPConnectionLimit) { throw bad("per_ip_connection_limit", "must be 0 (no limit) … 1000000, got \(perIPConnectionLimit)") }
        if !(drainTimeoutSeconds >= 0 && drainTimeoutSeconds.isFinite) { throw bad("drain_timeout_seconds", "must be ≥ 0") }
        if modelPath.isEmpty { throw bad("model", "must name a model file") }
        if let d = modelsDirectory, d.isEmpty { throw bad("models_dir", "must name a directory") }
        if let d = defaultModel, !ModelName.isValid(d) { throw bad("default_model", "must be a model name ([A-Za-z0-9_.-], 1…64 characters), got '\(d.prefix(80))'") }
        if !(pollSeconds >= 0 && pollSeconds <= 86_400) { throw bad("poll_seconds", "must be 0 (off) … 86400") }
        if !Self.logLevels.contains(logLevel) { throw bad("log_level", "must be one of \(Self.logLevels.joined(separator: ", ")), got '\(logLevel)'") }
        if authTokens.contains(where: { $0.isEmpty || $0.contains(where: \.isWhitespace) }) { throw bad("auth_tokens", "tokens must be non-empty and without spaces") }
    }

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
}

import Glibc

public enum ServerConfigurationError: Error, CustomStringConvertible, Equatable {
    case invalid(key: String, reason: String)
    case unknownKeys(file: String, keys: [String])
    case unreadable(file: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let key, let reason): return "configuration '\(key)' \(reason)"
        case .unknownKeys(let file, let keys):
            return "\(file): unknown key(s) \(keys.joined(separator: ", ")); known: \(ServerConfiguration.keys.joined(separator: ", "))"
        case .unreadable(let file, let reason): return "\(file): \(reason)"
        }
    }
}
