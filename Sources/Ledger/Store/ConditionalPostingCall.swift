import Foundation
import PostgresNIO

/// The call of the conditional `settle.post_transfers` (migrations v18, v28) for a batch with conditions
/// or balancing transfers, as a prepared statement. A batch with neither takes ``PostingCall``, so
/// that ordinary postings pay nothing for the feature (decision 0030).
struct ConditionalPostingCall: PostgresPreparedStatement {
    /// ``PostingCall/Row`` and the amount a balancing transfer moved, as decimal text.
    typealias Row = (Int32, Int16, String?, Int64?, Date?, String?)

    static let name = "settle_post_transfers_conditional_v28"
    static let sql = """
        select idx, status, code, seq, recorded_at, amount::text from settle.post_transfers(
            \(PostingCall.placeholders(from: 1)), $19, $20, $21, $22, $23, $24, $25)
        """
    static let bindingDataTypes: [PostgresDataType] =
        PostingCall.bindingDataTypes + [.boolArray, .int4Array, .textArray, .int8Array, .textArray, .textArray, .textArray]

    var batch: BatchColumns

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 25)
        PostingCall.append(batch, to: &bindings)
        bindings.append(batch.balancing)
        bindings.append(batch.conditionTransfer)
        bindings.append(batch.conditionAccount)
        bindings.append(batch.conditionVersion)
        bindings.append(batch.conditionAvailable)
        bindings.append(batch.conditionAvailableMin)
        bindings.append(batch.conditionAvailableMax)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}
