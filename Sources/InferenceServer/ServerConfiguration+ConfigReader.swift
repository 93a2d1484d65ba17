import Configuration
import Foundation
import SystemPackage

extension ServerConfiguration {
    /// Every key, as written in `config/server.json`. The environment variable of a key is
    /// `AE_` + the key in upper case (`max_body_bytes` → `AE_MAX_BODY_BYTES`); command-line
    /// flags override the environment, which overrides the file.
    ///
    /// - `host` (string, default `"0.0.0.0"`), env `AE_HOST`, flag `--host`
    /// - `port` (int, default 8080), env `AE_PORT`, flag `--port`
    /// - `threads` (int, default: cores), env `AE_THREADS`, flag `--threads`
    /// - `model` (string, default `"models/model.safetensors"`), env `AE_MODEL`, flag `--model`
    /// - `models_dir` (string, default none), env `AE_MODELS_DIR`, flag `--models`
    /// - `default_model` (string, default none), env `AE_DEFAULT_MODEL`, flag `--default-model`
    /// - `poll_seconds` (number, default 0), env `AE_POLL_SECONDS`
    /// - `max_body_bytes` (int, default 1048576), env `AE_MAX_BODY_BYTES`
    /// - `max_batch` (int, default 1024), env `AE_MAX_BATCH`
    /// - `connection_timeout_seconds` (int, default 10), env `AE_CONNECTION_TIMEOUT_SECONDS`
    /// - `request_timeout_seconds` (int, default 10), env `AE_REQUEST_TIMEOUT_SECONDS`
    /// - `connection_limit` (int, default 1024), env `AE_CONNECTION_LIMIT`
    /// - `per_ip_connection_limit` (int, default 256), env `AE_PER_IP_CONNECTION_LIMIT`
    /// - `drain_timeout_seconds` (number, default 10), env `AE_DRAIN_TIMEOUT_SECONDS`
    /// - `auth_tokens` (list of strings, default none), env `AE_AUTH_TOKENS` (comma-separated)
    /// - `auth_token_file` (string, default none), env `AE_AUTH_TOKEN_FILE`
    /// - `auth_metrics` (bool, default false), env `AE_AUTH_METRICS`
    /// - `log_level` (string, default `"info"`), env `AE_LOG_LEVEL`, flag `--log-level`
    public static let keys = [
        "host", "port", "threads", "model", "models_dir", "default_model", "poll_seconds", "max_body_bytes", "max_batch", "connection_timeout_seconds",
        "request_timeout_seconds", "connection_limit", "per_ip_connection_limit", "drain_timeout_seconds", "auth_tokens", "auth_token_file", "auth_metrics", "log_level",
    ]

    /// Reads flags (`overrides`, highest precedence), then `AE_*` environment variables, then
    /// the JSON file (when given; a missing file is an error). Unknown file keys and values of
    /// the wrong type stop start-up with a message naming the key.
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                            overrides: [String: ConfigValue] = [:]) async throws(ServerConfigurationError) -> ServerConfiguration {
        var providers: [any ConfigProvider] = []
        let flags = Dictionary(uniqueKeysWithValues: overrides.map { (AbsoluteConfigKey([$0.key]), $0.value) })
        providers.append(InMemoryProvider(values: flags))
        let env = environment.filter { $0.key.hasPrefix("AE_") }
        providers.append(EnvironmentVariablesProvider(environmentVariables: env).prefixKeys(with: "ae"))
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw .unreadable(file: file, reason: "cannot read the file") }
            guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
                throw .unreadable(file: file, reason: "not a JSON object")
            }
            let unknown = Set(dict.keys).subtracting(keys)
            if !unknown.isEmpty { throw .unknownKeys(file: file, keys: unknown.sorted()) }
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(file)))
            } catch {
                throw .unreadable(file: file, reason: "\(error)")
            }
        }
        return try ServerConfiguration(reader: ConfigReader(providers: providers))
    }

    /// Builds a configuration from any `ConfigReader`; keys it lacks keep their defaults.
    public init(reader: ConfigReader) throws(ServerConfigurationError) {
        self.init()
        /// nil when absent; an error naming the key when present but not convertible.
        func read<T>(_ key: String, _ body: (ConfigKey) throws -> T) throws(ServerConfigurationError) -> T? {
            do { return try body(ConfigKey([key])) } catch {
                if "\(error)".hasPrefix("Missing required config value") { return nil }
                throw .invalid(key: key, reason: "has a value of the wrong type (\(error))")
            }
        }
        if let v = try read("host", { try reader.requiredString(forKey: $0) }) { host = v }
        if let v = try read("port", { try reader.requiredInt(forKey: $0) }) { port = v }
        if let v = try read("threads", { try reader.requiredInt(forKey: $0) }) { threads = v }
        if let v = try read("model", { try reader.requiredString(forKey: $0) }) { modelPath = v }
        if let v = try read("models_dir", { try reader.requiredString(forKey: $0) }) { modelsDirectory = v.isEmpty ? nil : v }
        if let v = try read("default_model", { try reader.requiredString(forKey: $0) }) { defaultModel = v.isEmpty ? nil : v }
        if let v = try read("poll_seconds", { try reader.requiredDouble(forKey: $0) }) { pollSeconds = v }
        if let v = try read("max_body_bytes", { try reader.requiredInt(forKey: $0) }) { maxBodyBytes = v }
        if let v = try read("max_batch", { try reader.requiredInt(forKey: $0) }) { maxBatch = v }
        if let v = try read("connection_timeout_seconds", { try reader.requiredInt(forKey: $0) }) { connectionTimeoutSeconds = v }
        if let v = try read("request_timeout_seconds", { try reader.requiredInt(forKey: $0) }) { requestTimeoutSeconds = v }
        if let v = try read("connection_limit", { try reader.requiredInt(forKey: $0) }) { connectionLimit = v }
        if let v = try read("per_ip_connection_limit", { try reader.requiredInt(forKey: $0) }) { perIPConnectionLimit = v }
        if let v = try read("drain_timeout_seconds", { try reader.requiredDouble(forKey: $0) }) { drainTimeoutSeconds = v }
        if let v = try read("auth_tokens", { try reader.requiredStringArray(forKey: $0, isSecret: true) }) { authTokens = v }
        if let v = try read("auth_token_file", { try reader.requiredString(forKey: $0) }) { authTokenFile = v.isEmpty ? nil : v }
        if let v = try read("auth_metrics", { try reader.requiredBool(forKey: $0) }) { authMetrics = v }
        if let v = try read("log_level", { try reader.requiredString(forKey: $0) }) { logLevel = v }
        try validate()
    }

    /// The accepted tokens: `auth_tokens` plus the token file's non-empty lines.
    public func resolvedTokens() throws(ServerConfigurationError) -> [String] {
        var tokens = authTokens
        if let authTokenFile {
            guard let text = try? String(contentsOfFile: authTokenFile, encoding: .utf8) else {
                throw .unreadable(file: authTokenFile, reason: "cannot read the token file")
            }
            tokens += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return tokens
    }
}
