/// How a per-device model votes: its window size `ws*` and how it was found. Stored in the
/// model file's metadata (`window`), absent from models trained on a single file.
public struct WindowSettings: Sendable, Equatable, Codable {
    /// `ws*`: the smallest window whose majority vote gave no alarm on the `opt` third.
    public var size: Int
    /// The benign rows' split, as row ranges of the device's `benign_traffic.csv`; nil for a
    /// model of several devices (each device's file is cut the same way).
    public var split: BenignSplit?
    /// Per-instance false-positive rate on `opt`, at the threshold.
    public var optInstanceFPR: Double
    /// The largest window the search could try (`--max-window`, or fewer when `opt` is shorter).
    public var searchedUpTo: Int

    public init(size: Int, split: BenignSplit?, optInstanceFPR: Double, searchedUpTo: Int) {
        self.size = size; self.split = split; self.optInstanceFPR = optInstanceFPR; self.searchedUpTo = searchedUpTo
    }

    enum CodingKeys: String, CodingKey {
        case size, split, optInstanceFPR = "opt_instance_fpr", searchedUpTo = "searched_up_to"
    }
}
