import Foundation
import Ledger
import SettleTesting
import Testing

/// A little chart of accounts under a unique prefix, for one test.
struct Books {
    let ledger: PostgresLedger
    let prefix: String
    let asset: AssetID

    static func make(_ name: String = #function, scale: Int = 6) async throws -> Books {
        let ledger = try await TestDatabase.ledger()
        let prefix = "t\(UInt32.random(in: 0...UInt32.max))"
        let asset = try AssetID("\(prefix)-usd")
        let results = try await ledger.createAssets([Asset(id: asset, code: "USD", scale: scale)])
        #expect(results == [.created])
        return Books(ledger: ledger, prefix: prefix, asset: asset)
    }

    func id(_ s: String) -> AccountID { AccountID(stringLiteral: "\(prefix):\(s)") }
    func tid(_ s: String) -> TransferID { TransferID(stringLiteral: "\(prefix):\(s)") }

    /// Creates accounts: names ending in `!` get a no-overdraft limit, names starting with `@` are debit-normal.
    @discardableResult
    func accounts(_ names: String...) async throws -> [AccountID] {
        let accounts = names.map { name -> Account in
            let limited = name.hasSuffix("!")
            let clean = name.replacingOccurrences(of: "!", with: "")
            return Account(
                id: id(clean), asset: asset, normalSide: clean.hasPrefix("@") ? .debit : .credit,
                limit: limited ? .debitsMustNotExceedCredits : .none)
        }
        let results = try await ledger.createAccounts(accounts)
        let notCreated = results.filter { $0 != .created }
        #expect(notCreated.isEmpty, "\(notCreated)")
        return accounts.map(\.id)
    }

    func post(_ id: String, _ postings: [Posting], metadata: Metadata = [:]) async throws -> TransferResult {
        try await ledger.post(NewTransfer(id: tid(id), .post(postings), metadata: metadata))
    }

    func balance(_ account: String) async throws -> Balance {
        try await ledger.balance(of: id(account))
    }
}

extension TransferResult {
    var isCreated: Bool { if case .created = self { true } else { false } }
    var isExists: Bool { if case .exists = self { true } else { false } }
    var code: LedgerError.Code? { error?.code }
}

/// Ids built by interpolation in tests (`"\(prefix):a"`); an invalid one traps.
extension LedgerID: ExpressibleByStringInterpolation {}
