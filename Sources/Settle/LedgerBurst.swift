import ArgumentParser
import Foundation
import Ledger

/// The ledger alone under load, as the first demo was: a small chart of accounts, a burst of agent
/// micropayments with holds and captures, the balances, and the invariant check
/// (`settle demo --ledger-only`).
struct LedgerBurst {
    var agents: Int
    var payments: Int

    func run(_ ledger: PostgresLedger) async throws {
        let agents = max(2, self.agents)
        let payments = max(1, self.payments)
        let run = "demo-\(Int(Date().timeIntervalSince1970 * 1000))"
        func acct(_ s: String) -> AccountID { AccountID(stringLiteralChecked: "\(run):\(s)") }
        let usdc = try AssetID("usdc-base")
        _ = try await ledger.createAssets([
            Asset(
                id: usdc, code: "USDC", scale: 6, rail: "erc20", network: "eip155:8453",
                token: "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913")
        ])
        let clearing = acct("rail:erc20:clearing"), merchant = acct("merchant:acme"), fees = acct("revenue:fees")
        var accounts = [
            Account(id: clearing, asset: usdc, code: "clearing", normalSide: .debit),
            Account(id: merchant, asset: usdc, code: "merchant", normalSide: .credit),
            Account(id: fees, asset: usdc, code: "revenue", normalSide: .credit),
        ]
        let agentIDs = (1...agents).map { acct("agent:\($0)") }
        accounts += agentIDs.map {
            Account(id: $0, asset: usdc, code: "wallet", normalSide: .credit, limit: .debitsMustNotExceedCredits)
        }
        _ = try await ledger.createAccounts(accounts)
        print("chart of accounts: 1 asset (USDC on eip155:8453), \(accounts.count) accounts under \(run):")

        // Each agent deposits 5 USDC (base units: 10^-6).
        let topUps = agentIDs.map {
            NewTransfer(
                id: TransferID(stringLiteralChecked: "\($0):topup"), .post([.debit(clearing, 5_000_000), .credit($0, 5_000_000)]))
        }
        var tally = Tally()
        tally.add(try await ledger.post(topUps))

        // Micropayments of $0.001, 1% fee; agents spend at random, some beyond their means.
        var rng = SystemRandomNumberGenerator()
        let start = ContinuousClock.now
        var first: [NewTransfer] = []
        for chunk in stride(from: 0, to: payments, by: 8_000) {
            let batch = (chunk..<min(chunk + 8_000, payments)).map { k -> NewTransfer in
                let agent = agentIDs[Int.random(in: 0..<agentIDs.count, using: &rng)]
                let amount: UInt256 = k % 997 == 0 ? 9_000_000 : 1_000
                let fee = amount.quotientAndRemainder(dividingBy: 100).quotient
                return NewTransfer(
                    id: TransferID(stringLiteralChecked: "\(run):pay:\(k)"),
                    .post([.debit(agent, amount), .credit(merchant, amount.subtracting(fee)!), .credit(fees, fee)]),
                    metadata: ["route": .string("/v1/search")])
            }
            if first.isEmpty { first = batch }
            tally.add(try await ledger.post(batch))
        }
        let elapsed = ContinuousClock.now - start
        // A client retrying the first batch (lost response): every transfer is "exists".
        tally.add(try await ledger.post(first))

        // Sessions: each agent holds 0.1 USDC, uses part of it, the merchant captures the sum.
        let holds = agentIDs.map {
            NewTransfer(
                id: TransferID(stringLiteralChecked: "\($0):session"),
                .hold([.debit($0, 100_000), .credit(merchant, 100_000)], timeout: 3_600))
        }
        tally.add(try await ledger.post(holds))
        let captures = agentIDs.enumerated().map { k, agent in
            k % 10 == 0
                ? NewTransfer(
                    id: TransferID(stringLiteralChecked: "\(agent):session:void"),
                    .voidHold(TransferID(stringLiteralChecked: "\(agent):session")))
                : NewTransfer(
                    id: TransferID(stringLiteralChecked: "\(agent):session:capture"),
                    .postHold(TransferID(stringLiteralChecked: "\(agent):session"), amount: UInt256(UInt64(1_000 * (k % 50 + 1)))))
        }
        tally.add(try await ledger.post(captures))
        // A refund: the merchant reverses one payment.
        tally.add([
            try await ledger.post(
                NewTransfer(
                    id: TransferID(stringLiteralChecked: "\(run):refund:1"), .reverse(TransferID(stringLiteralChecked: "\(run):pay:1")))
            )
        ])

        let rate = Double(payments) / elapsed.seconds
        print(
            "micropayments: \(payments) in \(elapsed.seconds.formatted(.number.precision(.fractionLength(2)))) s (\(Int(rate)) transfers/s)"
        )
        print(
            "results: \(tally.created) created, \(tally.exists) exists (idempotent retry), \(tally.rejected) rejected \(tally.codes.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
        )
        print("balances (USDC base units):")
        for id in [clearing, merchant, fees] + agentIDs.prefix(3) {
            let b = try await ledger.balance(of: id)
            print(
                "  \(id.rawValue.padding(toLength: 40, withPad: " ", startingAt: 0)) posted \(String(describing: b.posted).leftPad(12)) available \(String(describing: b.available).leftPad(12)) entries \(b.version)"
            )
        }
        let report = try await ledger.verify()
        print(VerifyCommand.render(report))
        if !report.passed { throw ExitCode(1) }
    }
}

struct Tally {
    var created = 0, exists = 0, rejected = 0
    var codes: [String: Int] = [:]

    mutating func add(_ results: [TransferResult]) {
        for r in results {
            switch r {
            case .created: created += 1
            case .exists: exists += 1
            case .rejected(let e):
                rejected += 1
                codes[e.code.rawValue, default: 0] += 1
            }
        }
    }
}

extension LedgerID {
    /// For ids built from parts known to be valid.
    init(stringLiteralChecked s: String) { self.init(stringLiteral: s) }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
