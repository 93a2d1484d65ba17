// swift-tools-version: 6.1
import PackageDescription

// One package, data flowing one way: CSV → scaler → model → model file → server.
// AutoencoderCore knows nothing of HTTP or JSON (NumberText reads and writes number text);
// MicroHTTPDShim knows nothing of models.
// Built and tested on Linux (x86-64; CI also runs the scalar path that ARM64 takes). It names no
// Apple platform: it is not checked on one, and the shim and the readers use Linux calls.
let package = Package(
    name: "iot-autoencoder",
    products: [
        .executable(name: "ae", targets: ["ae"]),
        .executable(name: "ae-server", targets: ["ae-server"]),
        .library(name: "NumberText", targets: ["NumberText"]),
        .library(name: "AutoencoderCore", targets: ["AutoencoderCore"]),
        .library(name: "TrafficFeatures", targets: ["TrafficFeatures"]),
        .library(name: "InferenceServer", targets: ["InferenceServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        // The shim includes <microhttpd.h> itself (a C target sees only the module map of a system
        // library); depending on CMicroHTTPD brings pkg-config's include and link flags.
        .target(
            name: "MicroHTTPDShim",
            dependencies: ["CMicroHTTPD"]
        ),
        // Number text, in and out: the one decimal grammar (JSON and CSV dialects) and the
        // shortest Float text. Its AVX-512 kernels are C (intrinsics, per-function targets); the
        // Swift code is their specification, their fallback and the owner of their tables.
        .target(name: "NumberTextKernels"),
        .target(name: "NumberText", dependencies: ["NumberTextKernels"]),
        // The network's arithmetic in C: the dense product in a fixed order, AVX-512 activations.
        .target(name: "LayerKernels"),
        .target(
            name: "AutoencoderCore",
            dependencies: ["CBLAS", "LayerKernels", "NumberText", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .systemLibrary(
            name: "CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        // The extractor's decay factors (exp2 of a stream's five windows at once) in C.
        .target(name: "FeatureKernels"),
        .target(name: "TrafficFeatures", dependencies: ["CPcap", "FeatureKernels", "NumberText"]),
        .target(
            name: "InferenceServer",
            dependencies: [
                "AutoencoderCore",
                "NumberText",
                "MicroHTTPDShim",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "ae",
            dependencies: [
                "AutoencoderCore",
                "TrafficFeatures",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        .executableTarget(
            name: "ae-server",
            dependencies: [
                "InferenceServer",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        // Benchmarks (bench/*.sh run it): what the CLI cannot time in isolation.
        .executableTarget(
            name: "ae-bench",
            dependencies: [
                "AutoencoderCore",
                "NumberText",
                "TrafficFeatures",
                "InferenceServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/Sources/ae-bench"
        ),
        // What more than one test target uses (a temporary folder that always goes away).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "NumberTextTests", dependencies: ["NumberText", "AutoencoderCore"]),
        .testTarget(name: "AutoencoderCoreTests", dependencies: ["AutoencoderCore", "TestSupport"]),
        .testTarget(name: "TrafficFeaturesTests", dependencies: ["TrafficFeatures", "FeatureKernels"], exclude: ["Fixtures"]),
        .testTarget(name: "InferenceServerTests", dependencies: ["InferenceServer", "AutoencoderCore", "TestSupport"]),
        // Runs the built `ae` executable: exit codes, messages, no silent overwrites.
        .testTarget(name: "AECommandTests", dependencies: ["TestSupport", "AutoencoderCore", "TrafficFeatures"]),
    ]
)
