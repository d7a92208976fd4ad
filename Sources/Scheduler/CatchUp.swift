/// What a worker does with the slots a job missed while no worker ran (a night with the service
/// down, a failing database).
public enum CatchUp: Sendable, Hashable, CustomStringConvertible {
    /// Run once, for the latest missed slot: right for jobs that act on "now" (expire holds, pull a
    /// rail's events), where running once catches up everything.
    case latest
    /// Run once per missed slot, oldest first, at most `limit` of them (the latest ones): right for
    /// jobs parameterised by their slot's date, such as a nightly reconciliation of the previous day.
    case each(limit: Int)

    /// The database's spelling: `latest` or `each`.
    var storedName: String {
        switch self {
        case .latest: "latest"
        case .each: "each"
        }
    }

    public var description: String {
        switch self {
        case .latest: "latest"
        case .each(let limit): "each (up to \(limit))"
        }
    }
}
