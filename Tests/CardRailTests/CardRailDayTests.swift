import CardRail
import Foundation
import Ledger
import Logging
import RailKit
import SettleTesting
import Testing

/// The card rail books a day of processor traffic (top-ups, held limits with partial captures,
/// micro-debits, a refund, a lost dispute, a payout) from the processor's own records, and every
/// clearing account of the fund flow returns to zero.
@Suite("Card rail", .timeLimit(.minutes(3)))
struct CardRailDayTests {
    /// A rail with its own rail id and asset, so tests never share accounts.
    static func rail(_ mock: MockProcessor, webhookSecret: String? = nil) throws -> CardRail {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        var settings: Metadata = [
            "base_url": .string(mock.baseURL), "api_key": .string(MockProcessor.apiKey), "asset_prefix": .string("card\(tag)"),
        ]
        if let webhookSecret { settings["webhook_secret"] = .string(webhookSecret) }
        return try CardRail(
            configuration: RailConfiguration(id: "card-\(tag)", kind: "card", settings: settings), logger: TestDatabase.logger)
    }

    /// The posted balance, in the account's normal direction, as a decimal string.
    static func balance(_ ledger: PostgresLedger, _ account: String) async throws -> String {
        try await ledger.balance(of: AccountID(account)).posted.description
    }

    @Test func aDayOfTrafficClearsEveryClearingAccount() async throws {
        try await MockProcessor.with { mock in
            let ledger = try await TestDatabase.ledger()
            let rail = try Self.rail(mock)
            let booker = RailBooker(ledger: ledger)
            try await booker.install(rail.descriptor)
            let asset = rail.descriptor.assets[0].id
            let tag = rail.descriptor.id
            let merchant = try AccountID("\(tag):merchant:revenue")
            _ = try await ledger.createAccounts([Account(id: merchant, asset: asset, normalSide: .credit)])

            // (a) Prepaid top-up: one charge funds the wallet; calls are ledger transfers.
            let walletA = try AccountID("\(tag):agent:a")
            let topUp = try await rail.topUp(
                wallet: walletA, amount: 2_000, currency: "usd", paymentMethod: "pm_card_visa", idempotencyKey: "\(tag)-topup-a")
            #expect(topUp.status == "succeeded")
            // (b) An authorized limit that each call draws on, captured once for the sum used.
            let walletB = try AccountID("\(tag):agent:b:limit1")
            let limit = try await rail.authorizeLimit(
                wallet: walletB, amount: 5_000, currency: "usd", paymentMethod: "pm_card_visa", idempotencyKey: "\(tag)-limit-b")
            #expect(limit.status == "requires_capture")
            // A top-up that will be disputed and lost.
            let walletC = try AccountID("\(tag):agent:c")
            let disputed = try await rail.topUp(
                wallet: walletC, amount: 1_000, currency: "usd", paymentMethod: "pm_card_visa", idempotencyKey: "\(tag)-topup-c")

            var report = try await booker.sync(rail, pageSize: 50)
            #expect(report.rejected.isEmpty, "\(report.rejected)")
            #expect(try await Self.balance(ledger, walletA.rawValue) == "2000")
            #expect(try await Self.balance(ledger, walletB.rawValue) == "5000")

            // Micro-debits: 150 calls of 10 from A, 300 of 10 from B, each an internal transfer.
            var calls: [NewTransfer] = []
            for k in 0..<150 {
                calls.append(NewTransfer(id: try TransferID("\(tag):call:a:\(k)"), .post([.debit(walletA, 10), .credit(merchant, 10)])))
            }
            for k in 0..<300 {
                calls.append(NewTransfer(id: try TransferID("\(tag):call:b:\(k)"), .post([.debit(walletB, 10), .credit(merchant, 10)])))
            }
            let notCreated = try await ledger.post(calls).filter { if case .created = $0 { false } else { true } }
            #expect(notCreated.isEmpty, "\(notCreated)")

            // Capture what B used (3,000 of 5,000); the rest is released by the processor.
            let captured = try await rail.captureUsed(paymentIntent: limit.id, wallet: walletB, authorized: 5_000, ledger: ledger)
            #expect(captured.status == "succeeded" && captured.amountReceived == 3_000)
            // Refund 500 of A's top-up; a dispute on C's charge, lost.
            try await mock.post("/v1/refunds", ["payment_intent": topUp.id, "amount": "500"])
            let charge = try await mock.get("/v1/payment_intents/\(disputed.id)")["latest_charge"] as? String ?? ""
            let dispute = try await mock.post("/_mock/disputes", ["charge": charge])
            try await mock.post("/_mock/disputes/\(dispute["id"] as? String ?? "")/lose")
            // Days pass: everything becomes available, is paid out and arrives.
            try await mock.post("/_mock/clock/advance", ["seconds": String(6 * 86_400)])

            report = try await booker.sync(rail, pageSize: 50)
            #expect(report.rejected.isEmpty, "\(report.rejected)")
            #expect(report.outOfOrder == nil)

            // The processor's figures, read back.
            let transactions = try await mock.get("/v1/balance_transactions?limit=100")["data"] as? [[String: Any]] ?? []
            let fees = transactions.reduce(0) { $0 + ($1["fee"] as? Int ?? 0) }
            let payouts = try await mock.get("/v1/payouts?limit=100")["data"] as? [[String: Any]] ?? []
            let paid = payouts.filter { $0["status"] as? String == "paid" }.reduce(0) { $0 + ($1["amount"] as? Int ?? 0) }
            #expect(!payouts.isEmpty && paid > 0)

            let a = asset.rawValue
            for clearing in ["authorized", "clearing", "pending", "refunds", "disputes", "in_transit"] {
                #expect(try await Self.balance(ledger, "card:\(a):\(clearing)") == "0", "clearing account \(clearing) is not zero")
            }
            #expect(try await Self.balance(ledger, "card:\(a):fees") == String(fees))
            #expect(try await Self.balance(ledger, "card:\(a):bank") == String(paid))
            #expect(try await Self.balance(ledger, "card:\(a):dispute_losses") == "1000")
            #expect(try await Self.balance(ledger, "card:\(a):available") == "0")
            // Wallets: A = 2,000 − 1,500 spent − 500 refunded; B's unused limit went back; C spent nothing, lost nothing of its own.
            #expect(try await Self.balance(ledger, walletA.rawValue) == "0")
            #expect(try await Self.balance(ledger, walletB.rawValue) == "0")
            #expect(try await Self.balance(ledger, walletC.rawValue) == "1000")
            #expect(try await Self.balance(ledger, merchant.rawValue) == "4500")

            // Pulling again books nothing new.
            let again = try await booker.sync(rail, pageSize: 50)
            #expect(again.created == 0)
            #expect(try await ledger.verify().passed)
        }
    }

    @Test func paymentsTheProcessorRefusesBookNothing() async throws {
        try await MockProcessor.with { mock in
            let ledger = try await TestDatabase.ledger()
            let rail = try Self.rail(mock)
            let booker = RailBooker(ledger: ledger)
            try await booker.install(rail.descriptor)
            let wallet = try AccountID("\(rail.descriptor.id):agent:small")
            // Below the processor's minimum charge ($0.50): its own error, typed.
            let small = await #expect(throws: RailError.self) {
                try await rail.topUp(
                    wallet: wallet, amount: 20, currency: "usd", paymentMethod: "pm_card_visa", idempotencyKey: "\(wallet)-1")
            }
            #expect(small?.code == .railAPI && small?.message.contains("amount_too_small") == true)
            // A currency the rail is not configured for never reaches the processor.
            let currency = await #expect(throws: RailError.self) {
                try await rail.topUp(
                    wallet: wallet, amount: 5_000, currency: "eur", paymentMethod: "pm_card_visa", idempotencyKey: "\(wallet)-2")
            }
            #expect(currency?.code == .invalidConfiguration)
            // A declined card: the processor's decline, and nothing to book.
            let declined = await #expect(throws: RailError.self) {
                try await rail.topUp(
                    wallet: wallet, amount: 5_000, currency: "usd", paymentMethod: "pm_card_visa_chargeDeclinedInsufficientFunds",
                    idempotencyKey: "\(wallet)-3")
            }
            #expect(declined?.message.contains("card_declined") == true)
            let report = try await booker.sync(rail)
            #expect(report.created == 0 && report.rejected.isEmpty, "\(report)")
            await #expect(throws: LedgerError.self) { try await ledger.balance(of: wallet) }
        }
    }

    @Test func describesItsFundFlowAsData() throws {
        let rail = try CardRail(
            configuration: RailConfiguration(
                id: "card", kind: "card", settings: ["base_url": .string("http://127.0.0.1:1"), "api_key": .string("sk_test_x")]),
            logger: TestDatabase.logger)
        try rail.descriptor.validate()
        let flow = rail.descriptor.fundFlow
        #expect(flow.states.starts(with: ["authorized", "captured"]))
        #expect(flow.accounts.filter { $0.clearing }.count == 6)
        let encoded = try JSONEncoder().encode(rail.descriptor)
        #expect(try JSONDecoder().decode(RailDescriptor.self, from: encoded) == rail.descriptor)
        #expect(!rail.descriptor.capabilities.contains(RailDescriptor.Capability.webhooks))
    }

    @Test func refusesBadConfiguration() {
        func make(_ settings: Metadata) throws(RailError) {
            _ = try CardRail(configuration: RailConfiguration(id: "card", kind: "card", settings: settings), logger: TestDatabase.logger)
        }
        let key: JSONValue = .string("sk_test_x")
        #expect(throws: RailError.self) { try make(["api_key": key]) }
        #expect(throws: RailError.self) { try make(["base_url": .string("ftp://x"), "api_key": key]) }
        #expect(throws: RailError.self) {
            try make(["base_url": .string("http://x"), "api_key": key, "currencies": .array([.string("xxx")])])
        }
        #expect(throws: RailError.self) { try make(["base_url": .string("http://x"), "api_key": key, "timeout_ms": .string("fast")]) }
    }
}
