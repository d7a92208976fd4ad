import PostgresNIO

/// A write that must be durable together with a batch of transfers, done in the same statement:
/// one database round trip and one transaction for both, instead of `BEGIN`, the write, the
/// posting call and `COMMIT` (an MPP session's vouchers and their charges, decision 0020).
///
/// ``function`` is a SQL function that takes the guard's arguments followed by the eighteen of
/// `settle.post_transfers`, performs the write, posts the transfers through that function and
/// returns its rows. It must raise SQLSTATE `SG409` when the write's condition does not hold,
/// and raise on a rejected transfer, so that the write never commits without its transfers.
public protocol PostingGuard: Sendable {
    /// The schema-qualified SQL function, e.g. `settle.mpp_commit_vouchers`.
    static var function: String { get }
    /// The types of the guard's own arguments, in order.
    static var argumentTypes: [PostgresDataType] { get }
    /// Appends the guard's own arguments, in the order of ``argumentTypes``.
    func appendArguments(to bindings: inout PostgresBindings)
}

/// The guard's function as a prepared statement: parsed and planned once per connection.
struct GuardedPostingCall<Guard: PostingGuard>: PostgresPreparedStatement {
    typealias Row = PostingCall.Row

    static var name: String { "settle_guarded_" + Guard.function.split(separator: ".").joined(separator: "_") }
    static var sql: String {
        let own = (0..<Guard.argumentTypes.count).map { "$\($0 + 1)" }
        let posting = PostingCall.placeholders(from: Guard.argumentTypes.count + 1)
        return "select idx, status, code, seq, recorded_at from \(Guard.function)(\((own + [posting]).joined(separator: ", ")))"
    }
    static var bindingDataTypes: [PostgresDataType] { Guard.argumentTypes + PostingCall.bindingDataTypes }

    var guarded: Guard
    var batch: BatchColumns

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: Guard.argumentTypes.count + 18)
        guarded.appendArguments(to: &bindings)
        PostingCall.append(batch, to: &bindings)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}
