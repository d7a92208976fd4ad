import Crypto

/// One versioned step of the database schema.
struct Migration: Sendable {
    var version: Int
    var name: String
    var sql: String

    /// Identifies the text of the migration, so that an edited, already-applied migration is caught.
    var checksum: String {
        SHA256.hash(data: Array(sql.utf8)).lowercaseHex
    }

    /// Migrations in the order they apply. Never edit a published one: add the next version.
    static let all: [Migration] = [
        Migration(version: 1, name: "ledger", sql: String(decoding: PackageResources.v1_ledger_sql, as: UTF8.self)),
        Migration(
            version: 2, name: "post_transfers", sql: String(decoding: PackageResources.v2_post_transfers_sql, as: UTF8.self)),
        Migration(version: 3, name: "balance_at", sql: String(decoding: PackageResources.v3_balance_at_sql, as: UTF8.self)),
        Migration(version: 4, name: "api_keys", sql: String(decoding: PackageResources.v4_api_keys_sql, as: UTF8.self)),
        Migration(version: 5, name: "rails", sql: String(decoding: PackageResources.v5_rails_sql, as: UTF8.self)),
        Migration(version: 6, name: "x402", sql: String(decoding: PackageResources.v6_x402_sql, as: UTF8.self)),
        Migration(version: 7, name: "fast_path", sql: String(decoding: PackageResources.v7_fast_path_sql, as: UTF8.self)),
        Migration(version: 8, name: "authority", sql: String(decoding: PackageResources.v8_authority_sql, as: UTF8.self)),
        Migration(
            version: 9, name: "reconciliation", sql: String(decoding: PackageResources.v9_reconciliation_sql, as: UTF8.self)),
        Migration(version: 10, name: "scheduler", sql: String(decoding: PackageResources.v10_scheduler_sql, as: UTF8.self)),
        Migration(version: 11, name: "mpp", sql: String(decoding: PackageResources.v11_mpp_sql, as: UTF8.self)),
        Migration(version: 12, name: "mpp_sessions", sql: String(decoding: PackageResources.v12_mpp_sessions_sql, as: UTF8.self)),
        Migration(
            version: 16, name: "mpp_voucher_commit", sql: String(decoding: PackageResources.v16_mpp_voucher_commit_sql, as: UTF8.self)),
        Migration(version: 17, name: "x402_batch", sql: String(decoding: PackageResources.v17_x402_batch_sql, as: UTF8.self)),
        Migration(
            version: 18, name: "conditional_transfers",
            sql: String(decoding: PackageResources.v18_conditional_transfers_sql, as: UTF8.self)),
        // 19 was reserved for the hash chain while 20 landed first: a database at 20 gets 19 applied,
        // since every missing version is applied, not only those above the highest.
        Migration(version: 19, name: "hash_chain", sql: String(decoding: PackageResources.v19_hash_chain_sql, as: UTF8.self)),
        Migration(version: 20, name: "x402_follow", sql: String(decoding: PackageResources.v20_x402_follow_sql, as: UTF8.self)),
        Migration(version: 21, name: "linear_checks", sql: String(decoding: PackageResources.v21_linear_checks_sql, as: UTF8.self)),
        // 22 was reserved for x402 `upto`, which needed no table of its own.
        Migration(
            version: 23, name: "x402_batch_generations",
            sql: String(decoding: PackageResources.v23_x402_batch_generations_sql, as: UTF8.self)),
        Migration(version: 24, name: "outbox", sql: String(decoding: PackageResources.v24_outbox_sql, as: UTF8.self)),
        Migration(version: 25, name: "partitions", sql: String(decoding: PackageResources.v25_partitions_sql, as: UTF8.self)),
        // 26 was reserved for the x402 pipeline, which needed no table of its own.
        Migration(
            version: 27, name: "event_retention", sql: String(decoding: PackageResources.v27_event_retention_sql, as: UTF8.self)),
        Migration(
            version: 28, name: "balancing_holds_and_bounds",
            sql: String(decoding: PackageResources.v28_balancing_holds_and_bounds_sql, as: UTF8.self)),
        // 29 was reserved for the cross-rail demo, which needed no table of its own.
        Migration(version: 30, name: "webhook_scopes", sql: String(decoding: PackageResources.v30_webhook_scopes_sql, as: UTF8.self)),
    ]

    /// The statements of the migration, one per query (the extended protocol takes one at a time).
    var statements: [String] { SQLScript.split(sql) }
}

/// Splits an SQL script into statements at top-level semicolons, skipping comments, quoted strings,
/// quoted identifiers and dollar-quoted bodies.
enum SQLScript {
    static func split(_ script: String) -> [String] {
        let bytes = Array(script.utf8)
        var statements: [String] = []
        var start = 0
        var i = 0
        func flush(upTo end: Int) {
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            if text.split(whereSeparator: \.isNewline).contains(where: { line in
                let t = line.trimmingPrefix(while: \.isWhitespace)
                return !t.isEmpty && !t.hasPrefix("--")
            }) {
                statements.append(text.trimmingCharacters())
            }
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "-"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "-") {
                while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
            } else if c == UInt8(ascii: "/"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "*") {
                i += 2
                while i + 1 < bytes.count, !(bytes[i] == UInt8(ascii: "*") && bytes[i + 1] == UInt8(ascii: "/")) { i += 1 }
                i += 2
            } else if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                i += 1
                while i < bytes.count {
                    if bytes[i] == c {
                        if i + 1 < bytes.count, bytes[i + 1] == c { i += 2; continue }
                        break
                    }
                    i += 1
                }
                i += 1
            } else if c == UInt8(ascii: "$"), let tagEnd = dollarTagEnd(bytes, from: i) {
                let tag = bytes[i...tagEnd]
                i = tagEnd + 1
                while i < bytes.count, !bytes[i...].starts(with: tag) { i += 1 }
                i += tag.count
            } else if c == UInt8(ascii: ";") {
                flush(upTo: i)
                i += 1
                start = i
            } else {
                i += 1
            }
        }
        if start < bytes.count { flush(upTo: bytes.count) }
        return statements
    }

    /// `$tag$` or `$$` starting at `from`: the index of the closing `$` of the tag.
    private static func dollarTagEnd(_ bytes: [UInt8], from: Int) -> Int? {
        var j = from + 1
        if j < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[j]) { return nil }
        while j < bytes.count {
            let b = bytes[j]
            if b == UInt8(ascii: "$") { return j }
            guard b.isASCIIAlphanumeric || b == UInt8(ascii: "_") else { return nil }
            j += 1
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
