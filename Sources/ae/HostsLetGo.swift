import AutoencoderCore

/// The hosts a run let go (`DeviceRouter`: idle, or past `--max-hosts`), their votes summed into
/// one row of the summary table: a flood of spoofed senders would otherwise print a row each.
/// `ae detect` and `ae agent` both keep one, so their summaries agree.
struct HostsLetGo {
    private(set) var hosts = 0, rows = 0, windows = 0, anomalous = 0, alerts = 0

    /// Adds one host let go: the rows it scored, its window vote, the alerts it raised.
    mutating func add(rows: Int, vote: WindowVote.Stream, alerts: Int) {
        hosts += 1
        self.rows += rows
        windows += vote.windows
        anomalous += vote.anomalous
        self.alerts += alerts
    }

    /// The summary table's row for them (the columns of `ae detect`'s and `ae agent`'s tables),
    /// none if no host was let go.
    func tableRows(model: String, windowSize: Int) -> [[String]] {
        hosts == 0 ? [] : [["\(hosts) hosts let go", model, String(windowSize), String(rows), String(windows),
                            String(anomalous), String(alerts)]]
    }
}
