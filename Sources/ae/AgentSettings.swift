import Configuration
import Foundation
import TrafficFeatures

/// What `ae agent` can be told besides its input, in the server's scheme: command-line flags
/// override `AE_AGENT_*` environment variables (the key in capitals: `flush_ms` →
/// `AE_AGENT_FLUSH_MS`), which override the JSON file of `--config`. Unknown file keys and values
/// of the wrong type stop the agent with a message naming the key.
///
/// - `server` (string, required): `http://HOST:PORT` of ae-server; flag `--server`
/// - `devices` (string, default none): the devices file; flag `--devices`
/// - `default_model` (string, default none); flag `--default-model`
/// - `batch` (int, default 256): rows per batch; flag `--batch`
/// - `flush_ms` (int, default 200): a device's rows go out when the oldest has waited this long
/// - `queue_rows` (int, default 16384): most rows waiting to be sent
/// - `drain_seconds` (number, default 10): at the end, how long buffered rows may take
/// - `warm_up` (number, default 0): seconds of packets that only warm the extractor up
/// - `idle_timeout` (number, default 3600): streams idle this many seconds are dropped (0 keeps
///   all); lower it to bound memory under a scan of new addresses. Hosts made on sight
///   (`default_model`) idle this long are let go too
/// - `max_hosts` (int, default 10000): most hosts made on sight held at once; past it, those
///   idle the longest are let go (bounds memory under a flood of spoofed source MACs)
/// - `max_streams` (int, default 500000): most feature streams held at once (about 400 B each);
///   past it, those idle the longest are dropped (bounds memory under a scan)
/// - `alerts` (string, default stdout): the alerts file
/// - `metrics_port` (int, default none): Prometheus metrics port (0 picks one)
/// - `metrics_host` (string, default `"127.0.0.1"`)
/// - `token_file` (string, default none): the bearer token's file (or `AE_AGENT_TOKEN`, the token)
struct AgentSettings: Equatable {
    var server: String?
    var devices: String?
    var defaultModel: String?
    var batch = 256
    var flushMs = 200
    var queueRows = 16_384
    var drainSeconds = 10.0
    var warmUp = 0.0
    var idleTimeout = 3600.0
    var maxHosts = 10_000
    var maxStreams = FeatureExtractor.defaultMaxStreams
    var alerts: String?
    var metricsPort: Int?
    var metricsHost = "127.0.0.1"
    var tokenFile: String?

    static let keys = ["server", "devices", "default_model", "batch", "flush_ms", "queue_rows", "drain_seconds", "warm_up",
                       "idle_timeout", "max_hosts", "max_streams", "alerts", "metrics_port", "metrics_host", "token_file"]

    /// Flags (`overrides`), then the environment, then `file`.
    static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                     overrides: [String: ConfigValue]) throws -> AgentSettings {
        var providers: [any ConfigProvider] = []
        providers.append(InMemoryProvider(values: Dictionary(uniqueKeysWithValues: overrides.map { (AbsoluteConfigKey([$0.key]), $0.value) })))
        let env = environment.filter { $0.key.hasPrefix("AE_AGENT_") && $0.key != "AE_AGENT_TOKEN" }
        providers.append(EnvironmentVariablesProvider(environmentVariables: env).prefixKeys(with: "ae_agent"))
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("\(file): cannot read the file") }
            guard let dict = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw CLIError("\(file): not a JSON object") }
            let unknown = Set(dict.keys).subtracting(keys)
            if !unknown.isEmpty { throw CLIError("\(file): unknown key(s) \(unknown.sorted().joined(separator: ", ")); known: \(keys.joined(separator: ", "))") }
            var values: [AbsoluteConfigKey: ConfigValue] = [:]
            for (k, v) in dict {
                let content: ConfigContent
                if let text = v as? String {
                    content = .string(text)
                } else if let n = v as? NSNumber, !(v is Bool) {
                    let d = n.doubleValue
                    // The keys that take seconds are numbers; the others, whole numbers (2.5 rows is refused).
                    content = ["drain_seconds", "warm_up", "idle_timeout"].contains(k) || d != d.rounded() || abs(d) >= 1e15 ? .double(d) : .int(Int(d))
                } else {
                    throw CLIError("\(file): '\(k)' must be a string or a number")
                }
                values[AbsoluteConfigKey([k])] = ConfigValue(content, isSecret: false)
            }
            providers.append(InMemoryProvider(values: values))
        }
        let reader = ConfigReader(providers: providers)
        func read<T>(_ key: String, _ body: (ConfigKey) throws -> T) throws -> T? {
            do { return try body(ConfigKey([key])) } catch {
                if "\(error)".hasPrefix("Missing required config value") { return nil }
                throw CLIError("configuration '\(key)' has a value of the wrong type (\(error))")
            }
        }
        var s = AgentSettings()
        s.server = try read("server") { try reader.requiredString(forKey: $0) }
        s.devices = try read("devices") { try reader.requiredString(forKey: $0) }
        s.defaultModel = try read("default_model") { try reader.requiredString(forKey: $0) }
        if let v = try read("batch", { try reader.requiredInt(forKey: $0) }) { s.batch = v }
        if let v = try read("flush_ms", { try reader.requiredInt(forKey: $0) }) { s.flushMs = v }
        if let v = try read("queue_rows", { try reader.requiredInt(forKey: $0) }) { s.queueRows = v }
        if let v = try read("drain_seconds", { try reader.requiredDouble(forKey: $0) }) { s.drainSeconds = v }
        if let v = try read("warm_up", { try reader.requiredDouble(forKey: $0) }) { s.warmUp = v }
        if let v = try read("idle_timeout", { try reader.requiredDouble(forKey: $0) }) { s.idleTimeout = v }
        if let v = try read("max_hosts", { try reader.requiredInt(forKey: $0) }) { s.maxHosts = v }
        if let v = try read("max_streams", { try reader.requiredInt(forKey: $0) }) { s.maxStreams = v }
        s.alerts = try read("alerts") { try reader.requiredString(forKey: $0) }
        s.metricsPort = try read("metrics_port") { try reader.requiredInt(forKey: $0) }
        if let v = try read("metrics_host", { try reader.requiredString(forKey: $0) }) { s.metricsHost = v }
        s.tokenFile = try read("token_file") { try reader.requiredString(forKey: $0) }
        return s
    }
}
