import Crypto
import PostgresNIO

/// The stored rows the hash chain covers, as the chainer and the verifier read them: every column,
/// in a form that does not depend on the session (times as microseconds, amounts as decimal text,
/// JSON as its text). A row's digest encodes exactly the columns its table lists here, in order, so
/// that what is read and what is hashed cannot drift apart.
///
/// The account row is covered without `closed`, its one mutable column: closing an account is a
/// change of state, not of history, and must not break the chain.
enum ChainRows {
    /// `timestamptz` as microseconds since the epoch, exactly (extract returns numeric).
    static func micros(_ column: String) -> String { "(extract(epoch from \(column)) * 1000000)::int8" }

    enum ColumnType: Sendable {
        case int, text, bool, bytes
        /// Text holding JSON, hashed in its canonical form (``CanonicalJSON``).
        case json
    }

    /// The columns of one table, as selected from its usual alias.
    struct Table: Sendable {
        /// The first field of the digest's encoding: which kind of row, which version of the encoding.
        let kind: String
        let columns: [(sql: String, type: ColumnType)]

        var sql: String { columns.map(\.sql).joined(separator: ", ") }
        var count: Int { columns.count }
    }

    /// `settle.accounts a`: every column but `closed`.
    static let account = Table(
        kind: "settle-account-v1",
        columns: [
            ("a.num", .int), ("a.id", .text), ("a.asset_id", .text), ("a.code", .text), ("a.normal::text", .text), ("a.flags::int8", .int),
            ("a.external_id", .text), ("a.metadata::text", .json), (micros("a.created_at"), .int),
        ])

    /// `settle.entries e`: account_num, account_version and transfer_seq first (see ``Row``).
    static let entry = Table(
        kind: "settle-entry-v1",
        columns: [
            ("e.account_num", .int), ("e.account_version", .int), ("e.transfer_seq", .int), (micros("e.effective_at"), .int),
            ("e.is_debit", .bool), ("e.is_pending", .bool), ("e.amount::text", .text), ("e.debits_posted::text", .text),
            ("e.credits_posted::text", .text), ("e.debits_pending::text", .text), ("e.credits_pending::text", .text),
        ])

    /// `settle.transfers t`: seq and id first (see ``Row``).
    static let transfer = Table(
        kind: "settle-transfer-v1",
        columns: [
            ("t.seq", .int), ("t.id", .text), ("t.kind::int8", .int), ("t.parent_seq", .int), (micros("t.expires_at"), .int),
            (micros("t.effective_at"), .int), (micros("t.recorded_at"), .int), ("t.rail", .text), ("t.rail_ref", .text),
            ("t.metadata::text", .json), ("t.request_hash", .bytes),
        ])

    /// One row of a ``Table``: its values in column order, nil for NULL.
    struct Row: Sendable {
        enum Value: Sendable, Equatable {
            case int(Int64)
            case text(String)
            case bool(Bool)
            case bytes([UInt8])
        }

        let table: Table
        let values: [Value?]

        /// The row whose columns start at `offset`, or nil if its first column (a primary key) is
        /// NULL: a left join that found nothing.
        init?(_ row: PostgresRandomAccessRow, at offset: Int, of table: Table) throws {
            var values: [Value?] = []
            values.reserveCapacity(table.count)
            for (i, column) in table.columns.enumerated() {
                let cell = row[offset + i]
                switch column.type {
                case .int: values.append(try cell.decode(Int64?.self).map(Value.int))
                case .text, .json: values.append(try cell.decode(String?.self).map(Value.text))
                case .bool: values.append(try cell.decode(Bool?.self).map(Value.bool))
                case .bytes: values.append(try cell.decode(ByteBuffer?.self).map { .bytes(Array($0.readableBytesView)) })
                }
            }
            guard values.first.flatMap({ $0 }) != nil else { return nil }
            self.table = table
            self.values = values
        }

        private func int(_ i: Int) -> Int64 {
            if case .int(let v) = values[i] { return v }
            preconditionFailure("column \(i) of \(table.kind) is not an integer")
        }

        /// An account's num, an entry's account_num, a transfer's seq.
        var key: Int64 { int(0) }
        /// An entry's account_version.
        var accountVersion: Int64 { int(1) }
        /// An entry's transfer_seq.
        var transferSeq: Int64 { int(2) }
        /// A transfer's id.
        var transferID: String {
            if case .text(let v) = values[1] { return v }
            preconditionFailure("column 1 of \(table.kind) is not text")
        }

        /// SHA-256 of the row's ``CanonicalEncoding``.
        var digest: [UInt8] {
            var e = CanonicalEncoding(kind: table.kind)
            for (value, column) in zip(values, table.columns) {
                switch value {
                case nil: e.append(bytes: nil)
                case .int(let v): e.append(v)
                case .bool(let v): e.append(v)
                case .bytes(let v): e.append(bytes: v)
                case .text(let v): e.append(bytes: column.type == .json ? CanonicalJSON.canonical(v) ?? Array(v.utf8) : Array(v.utf8))
                }
            }
            return Array(SHA256.hash(data: e.bytes))
        }
    }
}
