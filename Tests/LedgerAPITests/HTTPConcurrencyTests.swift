import Foundation
import Ledger
import LedgerAPI
import NIOHTTP1
import ServiceLifecycle
import SettleTesting
import Testing

/// Many clients at once over HTTP, through the group committer.
@Suite("Concurrent posts over HTTP")
struct HTTPConcurrencyTests {
    /// 32 clients drain 8 limited wallets into one hot merchant, each trying to spend more than its
    /// wallet holds, and resend some requests: no wallet overdraws, every acknowledged transfer is
    /// recorded once, and money is conserved.
    @Test func hotMerchantWithoutOverdraft() async throws {
        try await TestServer.with({ $0.commit = .init(maxBatch: 64, maxInFlight: 2) }) { s in
            let wallets = (0..<8).map { "w\($0)!" }
            try await s.books(["world", "merchant"] + wallets)
            for w in 0..<8 {
                try await s.call(.POST, "/v1/transfers", key: s.write, body: s.transfer("fund\(w)", "world", "w\(w)", "1000")).expect(201)
            }
            // Each wallet holds 1000 and is asked for 40 payments of 37 = 1480: 27 fit.
            let acknowledged = try await withThrowingTaskGroup(of: [String].self) { group in
                for client in 0..<32 {
                    group.addTask {
                        var created: [String] = []
                        for k in 0..<10 {
                            let w = client % 8
                            let id = "pay-\(client)-\(k)"
                            let body = s.transfer(id, "w\(w)", "merchant", "37")
                            let reply = try await s.call(.POST, "/v1/transfers", key: s.write, body: body)
                            switch reply.status {
                            case 201: created.append(id)
                            case 422: #expect(reply["code"] == "exceeds_credits", "\(reply.text)")
                            default: Issue.record("unexpected \(reply.status): \(reply.text)")
                            }
                            if k % 3 == 0 {
                                // A client retrying: the same request answers what the first one did.
                                let retry = try await s.call(.POST, "/v1/transfers", key: s.write, body: body)
                                #expect(retry.status == (reply.status == 201 ? 200 : 422), "\(retry.text)")
                            }
                        }
                        return created
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(acknowledged.count == 8 * 27)
            var total = 0
            for w in 0..<8 {
                let balance = try await s.call(.GET, "/v1/accounts/\(s.prefix):w\(w)/balance", key: s.read).expect(200)
                let posted = Int(balance["posted"] ?? "") ?? -1
                #expect(posted == 1000 - 27 * 37, "wallet \(w)")
                total += posted
            }
            let merchant = try await s.call(.GET, "/v1/accounts/\(s.prefix):merchant/balance", key: s.read).expect(200)
            #expect(Int(merchant["posted"] ?? "") == acknowledged.count * 37)
            #expect(total + acknowledged.count * 37 == 8_000)
            #expect(try await TestDatabase.ledger().verify().passed)
        }
    }

    /// Shutting down while requests are in flight: every transfer the server acknowledged is in the
    /// ledger, every other one either is not there or is there whole, and the books verify.
    @Test func gracefulShutdownLosesNothingAcknowledged() async throws {
        let outcome = try await TestServer.with { s in
            try await s.books("world", "merchant")
            return try await withThrowingTaskGroup(of: (Int, String, Int).self) { group in
                for client in 0..<24 {
                    group.addTask {
                        for k in 0..<200 {
                            let id = "sd-\(client)-\(k)"
                            do {
                                let reply = try await s.call(
                                    .POST, "/v1/transfers", key: s.write, body: s.transfer(id, "world", "merchant", "1"))
                                if reply.status != 201 { return (client, id, reply.status) }
                            } catch {
                                return (client, id, 0)
                            }
                        }
                        return (client, "", 201)
                    }
                }
                try await Task.sleep(for: .milliseconds(300))
                await s.group.triggerGracefulShutdown()
                var stopped: [(Int, String, Int)] = []
                for try await result in group { stopped.append(result) }
                return (s.prefix, stopped)
            }
        }
        let (p, stopped) = outcome
        let ledger = try await TestDatabase.ledger()
        let merchant = try await ledger.balance(of: AccountID("\(p):merchant"))
        var acknowledged = 0
        for (client, id, status) in stopped {
            // Client `client` got 201 for every request before `id`.
            let k = id.isEmpty ? 200 : Int(id.split(separator: "-").last!)!
            acknowledged += k
            for earlier in 0..<k {
                #expect(try await ledger.transfer(TransferID("\(p):sd-\(client)-\(earlier)")) != nil)
            }
            #expect([0, 201, 503].contains(status), "refused with \(status)")
        }
        // The merchant's balance is the number of recorded transfers: none is half-written.
        #expect(merchant.creditsPosted.decimalString == String(merchant.version))
        #expect(Int(merchant.version) >= acknowledged)
        #expect(acknowledged > 0 && acknowledged < 24 * 200, "shutdown landed mid-run (\(acknowledged) acknowledged)")
        #expect(try await ledger.verify().passed)
    }
}
