import Configuration
import Foundation
import Testing
@testable import InferenceServer

@Suite struct ConfigurationTests {
    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }

    func file(_ text: String) -> String {
        let p = dir.appendingPathComponent("c-\(UUID().uuidString).json").path
        try! text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    @Test func checkedInFileHoldsTheDefaultsItDocuments() async throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../config/server.json").path
        let c = try await ServerConfiguration.load(file: path, environment: [:])
        #expect(c.port == 8080 && c.host == "0.0.0.0" && c.maxBodyBytes == 1 << 20 && c.maxBatch == 1024)
        #expect(c.modelPath == "models/model.safetensors" && c.authTokens.isEmpty && c.logLevel == "info")
        #expect(c.connectionLimit == 1024 && c.perIPConnectionLimit == 256 && c.requestTimeoutSeconds == 10)
        #expect(c == ServerConfiguration().with { $0.threads = c.threads })   // the file and the code agree
    }

    @Test func connectionLimitsAreFiniteAndChecked() async throws {
        let c = try await ServerConfiguration.load(file: nil, environment: [
            "AE_CONNECTION_LIMIT": "64", "AE_PER_IP_CONNECTION_LIMIT": "0", "AE_REQUEST_TIMEOUT_SECONDS": "3"])
        #expect(c.connectionLimit == 64 && c.perIPConnectionLimit == 0 && c.requestTimeoutSeconds == 3)
        for (key, value) in [("AE_CONNECTION_LIMIT", "0"), ("AE_CONNECTION_LIMIT", "1"), ("AE_PER_IP_CONNECTION_LIMIT", "-1"),
                             ("AE_REQUEST_TIMEOUT_SECONDS", "-5")] {
            await #expect(throws: ServerConfigurationError.self, "\(key)=\(value)") {
                try await ServerConfiguration.load(file: nil, environment: [key: value, "AE_THREADS": "2"])
            }
        }
    }

    @Test func flagsOverrideEnvironmentOverridesFile() async throws {
        let f = file(#"{"port": 9000, "threads": 3, "max_batch": 7, "log_level": "debug"}"#)
        let c = try await ServerConfiguration.load(
            file: f, environment: ["AE_THREADS": "5", "AE_MAX_BATCH": "9", "AE_AUTH_TOKENS": "a,b", "OTHER": "x"],
            overrides: ["threads": ConfigValue(.int(4), isSecret: false)])
        #expect(c.port == 9000)          // file
        #expect(c.maxBatch == 9)         // env over file
        #expect(c.threads == 4)          // flag over env
        #expect(c.authTokens == ["a", "b"])
        #expect(c.logLevel == "debug")
    }

    @Test func unknownKeysAndBadValuesAreRefused() async {
        await #expect(throws: ServerConfigurationError.self) { try await ServerConfiguration.load(file: file(#"{"prot": 1}"#), environment: [:]) }
        await #expect(throws: ServerConfigurationError.self) { try await ServerConfiguration.load(file: file(#"{"port": "eighty"}"#), environment: [:]) }
        await #expect(throws: ServerConfigurationError.self) { try await ServerConfiguration.load(file: nil, environment: ["AE_PORT": "abc"]) }
        await #expect(throws: ServerConfigurationError.self) { try await ServerConfiguration.load(file: nil, environment: ["AE_PORT": "70000"]) }
        await #expect(throws: ServerConfigurationError.self) { try await ServerConfiguration.load(file: nil, environment: ["AE_LOG_LEVEL": "loud"]) }
        await #expect(throws: ServerConfigurationError.self) { try await ServerConfiguration.load(file: file("[1]"), environment: [:]) }
        await #expect(throws: ServerConfigurationError.self) { try await ServerConfiguration.load(file: "/nonexistent.json", environment: [:]) }
    }
}

extension ServerConfiguration {
    func with(_ edit: (inout ServerConfiguration) -> Void) -> ServerConfiguration { var c = self; edit(&c); return c }
}
