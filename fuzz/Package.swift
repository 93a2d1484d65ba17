// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for everything that reads outside input. Built apart from the main package,
// since each needs `-sanitize=fuzzer` (libFuzzer supplies `main`): `scripts/fuzz.sh` builds and
// runs them for a bounded time.
let package = Package(
    name: "iot-autoencoder-fuzz",
    dependencies: [.package(name: "iot-autoencoder", path: "..")],
    targets: [
        .executableTarget(name: "FuzzRequest", dependencies: [
            .product(name: "InferenceServer", package: "iot-autoencoder"),
            .product(name: "AutoencoderCore", package: "iot-autoencoder"),
        ]),
        .executableTarget(name: "FuzzCSV", dependencies: [.product(name: "AutoencoderCore", package: "iot-autoencoder")]),
        .executableTarget(name: "FuzzPackets", dependencies: [.product(name: "TrafficFeatures", package: "iot-autoencoder")]),
        .executableTarget(name: "FuzzCapture", dependencies: [.product(name: "TrafficFeatures", package: "iot-autoencoder")]),
        .executableTarget(name: "FuzzNumbers", dependencies: [.product(name: "NumberText", package: "iot-autoencoder")]),
        .executableTarget(name: "FuzzModelFile", dependencies: [.product(name: "AutoencoderCore", package: "iot-autoencoder")]),
    ]
)
