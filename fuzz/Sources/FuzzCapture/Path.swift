import Foundation

/// Where each input is written for the reader, which takes a path. A global outside main.swift
/// (whose top-level code never runs: libFuzzer owns `main`), initialised on first use.
let path = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-capture-\(getpid()).pcap").path
