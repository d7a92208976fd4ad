import Foundation
import PostgresNIO

/// The call of `settle.post_transfers` for one batch, as a prepared statement: each pooled
/// connection parses and plans it once, not on every batch (a few hundred microseconds that a
/// batch of one transfer would otherwise pay each time).
struct PostingCall: PostgresPreparedStatement {
    typealias Row = (Int32, Int16, String?, Int64?, Date?)

    static let name = "settle_post_transfers_v2"
    static let sql = """
        select idx, status, code, seq, recorded_at from settle.post_transfers(
            $1, $2, $3, $4::numeric[], $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::numeric[], $16, $17, $18)
        """
    static let bindingDataTypes: [PostgresDataType] = [
        .textArray, .int2Array, .textArray, .textArray, .int8Array, .timestamptzArray, .boolArray, .textArray,
        .textArray, .textArray, .textArray, .int4Array, .textArray, .boolArray, .textArray, .bool, .textArray, .boolArray,
    ]

    var batch: BatchColumns

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 18)
        Self.append(batch, to: &bindings)
        return bindings
    }

    /// The function's eighteen arguments, in order.
    static func append(_ b: BatchColumns, to bindings: inout PostgresBindings) {
        bindings.append(b.ids)
        bindings.append(b.kinds)
        bindings.append(b.parents)
        bindings.append(b.amounts)
        bindings.append(b.timeouts)
        bindings.append(b.effective)
        bindings.append(b.effectiveSet)
        bindings.append(b.metadata)
        bindings.append(b.rails)
        bindings.append(b.railRefs)
        bindings.append(b.hashes)
        bindings.append(b.postingTransfer)
        bindings.append(b.postingAccount)
        bindings.append(b.postingDebit)
        bindings.append(b.postingAmount)
        bindings.append(b.atomic)
        bindings.append(b.prefixes)
        bindings.append(b.apiKeys)
    }

    /// The function's arguments as placeholders from `$first` (the amounts cast to `numeric[]`).
    static func placeholders(from first: Int) -> String {
        (0..<18).map { k in "$\(first + k)" + (k == 3 || k == 14 ? "::numeric[]" : "") }.joined(separator: ", ")
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}
