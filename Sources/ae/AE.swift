import ArgumentParser

/// `ae`: the offline side of iot-autoencoder — train, encode, evaluate, inspect, and make features.
@main
struct AE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ae",
        abstract: "Train and use the N-BaIoT autoencoder offline.",
        subcommands: [Train.self, Encode.self, Evaluate.self, Inspect.self, Features.self, Detect.self, Agent.self, Replay.self, Synth.self]
    )
}
