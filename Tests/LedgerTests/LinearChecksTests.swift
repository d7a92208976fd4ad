import Foundation
import Ledger
import PostgresNIO
import SettleTesting
import Testing

/// Migration v21 rewrote format checks with bounded repetitions (`[0-9a-f]{64}`), which PostgreSQL
/// runs in time proportional to the bound on every UPDATE of the row, as an unbounded class and a
/// length. The installed constraints must accept exactly what the old ones did.
@Suite("Linear format checks (v21)")
struct LinearChecksTests {
    static let rewritten: [(table: String, constraint: String, column: String, old: String)] = {
        let hex40 = "^0x[0-9a-f]{40}$"
        let hex64 = "^0x[0-9a-f]{64}$"
        var cases: [(String, String, String, String)] = []
        for (column, pattern) in [
            ("channel_id", hex64), ("escrow", hex40), ("payer", hex40), ("payee", hex40), ("operator", hex40), ("token", hex40),
            ("salt", hex64), ("authorized_signer", hex40), ("expiring_nonce_hash", hex64),
            ("signature", "^0x([0-9a-f]{128}|[0-9a-f]{130})?$"),
        ] {
            cases.append(("mpp_sessions", "mpp_sessions_\(column)_check", column, pattern))
        }
        for (column, pattern) in [
            ("channel_id", hex64), ("payer", hex40), ("payer_authorizer", hex40), ("receiver", hex40), ("receiver_authorizer", hex40),
            ("token", hex40), ("salt", hex64), ("signature", "^0x([0-9a-f]{130})?$"),
        ] {
            cases.append(("x402_batch_channels", "x402_batch_channels_\(column)_check", column, pattern))
        }
        for (column, pattern) in [("asset", hex40), ("payer", hex40), ("nonce", hex64), ("tx_hash", hex64)] {
            cases.append(("x402_settlements", "x402_settlements_\(column)_check", column, pattern))
        }
        cases.append(("x402_responses", "x402_responses_payment_id_check", "payment_id", "^[A-Za-z0-9_-]{16,128}$"))
        cases.append(("accounts", "accounts_id_check", "id", "^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$"))
        return cases
    }()

    /// Around every boundary: each hex length from 0 to 140 digits, the wrong case, the wrong
    /// prefix, a stray character, a multi-byte character, a trailing newline, id-like texts.
    static let samples: [String] = {
        var samples: [String] = []
        for n in 0...140 {
            let digits = String(repeating: "a1", count: n / 2 + 1).prefix(n)
            samples += ["0x" + digits, "0X" + digits, "0x" + digits.uppercased(), "0x" + digits + "\n", "0x" + digits.dropLast() + "g"]
        }
        samples += ["0x" + String(repeating: "a", count: 39) + "é", "", "x", "é" + String(repeating: "a", count: 20)]
        for n in [1, 15, 16, 17, 127, 128, 129] {
            samples += [
                String(repeating: "k", count: n), "mpp:" + String(repeating: "b", count: max(0, n - 4)),
                "-" + String(repeating: "c", count: n),
            ]
        }
        samples += ["bench:mpp:abc:merchant", "tempo:pathusd-42431:vouchers:0x" + String(repeating: "f", count: 64), "a b", "a\u{0}"]
        return samples
    }()

    @Test func acceptTheSameTextsAsTheBoundedPatterns() async throws {
        let ledger = try await TestDatabase.ledger()
        let client = ledger.client
        var wrong: [String] = []
        for (table, constraint, column, old) in Self.rewritten {
            let rows = try await client.query(
                "select pg_get_constraintdef(oid) from pg_constraint where conname = \(constraint) and conrelid = \("settle." + table)::regclass",
                logger: TestDatabase.logger)
            var definition: String?
            for try await text in rows.decode(String.self) { definition = text }
            guard let definition, definition.hasPrefix("CHECK ") else {
                wrong.append("\(table).\(constraint): missing")
                continue
            }
            #expect(!definition.contains("{"), "\(constraint) still bounds a repetition: \(definition)")
            // The constraint's expression with the column read from the samples.
            let expression = definition.dropFirst("CHECK ".count).replacing(
                try Regex("\\b\(column)\\b"), with: "v.s")
            let samples = Self.samples.filter { !$0.contains("\u{0}") }
            let results = try await client.query(
                PostgresQuery(
                    unsafeSQL: "select v.s, coalesce(v.s ~ $1, false), coalesce(\(expression), false) from unnest($2::text[]) as v(s)",
                    binds: {
                        var binds = PostgresBindings()
                        binds.append(old)
                        binds.append(samples)
                        return binds
                    }()), logger: TestDatabase.logger)
            for try await (text, before, after) in results.decode((String, Bool, Bool).self) where before != after {
                wrong.append("\(constraint) \(text.debugDescription): was \(before), now \(after)")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(10))")
    }
}
