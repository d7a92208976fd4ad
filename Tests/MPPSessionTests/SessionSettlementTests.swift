import DevChain
import EVM
import Foundation
import Ledger
import MPP
import PostgresNIO
import RailKit
import SettleTesting
import Synchronization
import TempoRail
import Testing

@testable import MPPSession

/// Bulk settlement of many vouchers, a payer's forced close, and a crash between accepting a
/// voucher and answering.
@Suite("MPP session settlement", .serialized)
struct SessionSettlementTests {
    typealias H = SessionHarness

    @Test func tenThousandVouchersEndInBulkSettlements() async throws {
        try await H.with { h in
            let method = h.method()
            let url = try await h.startServer(method) + "/paid"
            let channels = 4
            let perChannel: UInt64 = 2_500
            var clients: [SessionClient] = []
            for _ in 0..<channels {
                var client = try await SessionClient.connect(url, payer: try await h.fundedPayer())
                let open = client.openTransaction(deposit: EVM.UInt256(perChannel * 1_000))
                #expect(try await client.pay(client.openPayload(open)).status == 204)
                clients.append(client)
            }
            // Settles each channel every 1,000 vouchers while they come in.
            let settler = SessionSettler(
                method: method, configuration: .init(interval: .milliseconds(50), amount: .max, age: .seconds(3_600), count: 1_000))
            let settling = Task {
                while !Task.isCancelled {
                    _ = await settler.round()
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            let refused = try await withThrowingTaskGroup(of: Int.self) { group in
                for client in clients {
                    group.addTask {
                        var refused = 0
                        for k in 1...perChannel {
                            if try await client.pay(client.voucherPayload(EVM.UInt256(k * 1_000))).status != 200 { refused += 1 }
                        }
                        return refused
                    }
                }
                return try await group.reduce(0, +)
            }
            settling.cancel()
            await settling.value
            #expect(refused == 0)
            // What is left settles on the amount threshold.
            let last = await SessionSettler(method: method, configuration: .init(amount: 1)).round()
            #expect(last.failures == 0)
            var settledTotal = EVM.UInt256.zero
            for client in clients {
                let stored = try #require(try await h.store.channel(client.channelID))
                #expect(stored.accepted == EVM.UInt256(perChannel * 1_000) && stored.settled == stored.accepted, "\(stored)")
                settledTotal = settledTotal + stored.settled
            }
            // The Settled events on chain, as the Tempo rail books them, equal the voucher charges.
            let report = try await h.booker.sync(h.rail)
            #expect(report.rejected.isEmpty, "\(report)")
            let page = try await h.rail.fetchNext(cursor: nil, pageSize: 10_000)
            let settlements = page.events.filter { $0.transition == "settlement" }
            #expect(settlements.count >= channels, "\(settlements.count) bulk settlements")
            let onChain = settlements.reduce(UInt64(0)) { $0 + UInt64($1.amounts["amount"]!.description)! }
            #expect(onChain == channels.uInt64 * perChannel * 1_000)
            #expect(try await h.balance(h.merchant).creditsPosted.description == settledTotal.description)
            for client in clients {
                #expect(try await h.balance(try h.vouchersAccount(client.channelID)).posted.description == "0")
            }
        }
    }

    @Test func aForcedCloseIsSettledWithinTheGracePeriod() async throws {
        try await H.with { h in
            let method = h.method()
            let url = try await h.startServer(method) + "/paid"
            let payer = try await h.fundedPayer()
            var client = try await SessionClient.connect(url, payer: payer)
            let open = client.openTransaction(deposit: 50_000)
            #expect(try await client.pay(client.openPayload(open)).status == 204)
            for k: UInt64 in 1...5 { #expect(try await client.pay(client.voucherPayload(EVM.UInt256(k * 1_000))).status == 200) }
            let settler = SessionSettler(method: method)
            _ = await settler.round()  // the cursor starts; nothing is due yet.
            // The payer walks away: requestClose on chain.
            let request = SessionClient.transaction(
                [
                    TempoCall(
                        to: TempoChannelEscrow.v2Address,
                        input: ABI.encodeCall(
                            "requestClose((address,address,address,address,bytes32,address,bytes32))", client.descriptor!.abiValues))
                ], chainID: H.chainID, token: H.pathUSD)
            _ = try await method.chain.broadcast(request.signed(with: payer).rawBytes)
            let round = await settler.round()
            #expect(round.closeRequests == [client.channelID] && round.settled == [client.channelID], "\(round)")
            let state = try #require(
                try await method.chain.channel(
                    client.channelID, version: .v2, escrow: TempoChannelEscrow.v2Address, descriptor: client.descriptor))
            #expect(state.settled == 5_000 && state.closeRequestedAt != 0)
            // Closing: no more vouchers.
            let refused = try await client.pay(client.voucherPayload(6_000))
            #expect(refused.status == 410 && refused.problemType?.hasSuffix("session/channel-finalized") == true, "\(refused.body)")
            // After the grace period the payer withdraws the rest; the books clear.
            _ = await h.chain.increaseTime(by: 901)
            let withdraw = SessionClient.transaction(
                [
                    TempoCall(
                        to: TempoChannelEscrow.v2Address,
                        input: ABI.encodeCall(
                            "withdraw((address,address,address,address,bytes32,address,bytes32))", client.descriptor!.abiValues))
                ], chainID: H.chainID, token: H.pathUSD)
            #expect(try await method.chain.broadcast(withdraw.signed(with: payer).rawBytes).succeeded)
            _ = try await h.booker.sync(h.rail)
            #expect(try await h.balance(try h.vouchersAccount(client.channelID)).posted.description == "0")
            #expect(try await h.balance(AccountID("tempo:\(h.asset.rawValue):escrow:\(client.channelID.hex)")).posted.description == "0")
            #expect(try await h.balance(h.merchant).creditsPosted.description == "5000")
        }
    }

    @Test func settlesOnTheCountAndAgeThresholds() async throws {
        try await H.with { h in
            let method = h.method()
            let url = try await h.startServer(method) + "/paid"
            var client = try await SessionClient.connect(url, payer: try await h.fundedPayer())
            let open = client.openTransaction(deposit: 30_000)
            #expect(try await client.pay(client.openPayload(open)).status == 204)
            for k: UInt64 in 1...3 { #expect(try await client.pay(client.voucherPayload(EVM.UInt256(k * 1_000))).status == 200) }
            let byCount = SessionSettler(method: method, configuration: .init(amount: .max, age: .seconds(3_600), count: 3))
            #expect(await byCount.round().settled == [client.channelID])
            #expect(try await client.pay(client.voucherPayload(4_000)).status == 200)
            // One voucher since the settlement: below the count, and not old enough.
            #expect(await byCount.round().settled.isEmpty)
            let byAge = SessionSettler(method: method, configuration: .init(amount: .max, age: .zero, count: 1_000))
            #expect(await byAge.round().settled == [client.channelID])
            let state = try #require(
                try await method.chain.channel(
                    client.channelID, version: .v2, escrow: TempoChannelEscrow.v2Address, descriptor: client.descriptor))
            #expect(state.settled == 4_000)
        }
    }

    @Test func idleChannelsAreClosedCooperatively() async throws {
        try await H.with { h in
            let method = h.method()
            let url = try await h.startServer(method) + "/paid"
            let payer = try await h.fundedPayer()
            var client = try await SessionClient.connect(url, payer: payer)
            let open = client.openTransaction(deposit: 30_000)
            #expect(try await client.pay(client.openPayload(open)).status == 204)
            for k: UInt64 in 1...3 { #expect(try await client.pay(client.voucherPayload(EVM.UInt256(k * 1_000))).status == 200) }
            let before = try await h.tokenBalance(payer.address)
            let round = await SessionSettler(method: method, configuration: .init(idle: .zero)).round()
            #expect(round.closed == [client.channelID] && round.failures == 0, "\(round)")
            // Closed on chain with what was spent; the rest went back to the payer.
            #expect(try await h.tokenBalance(payer.address) == before + 27_000)
            let refused = try await client.pay(client.voucherPayload(4_000))
            #expect(refused.status == 410, "\(refused.body)")
            _ = try await h.booker.sync(h.rail)
            #expect(try await h.balance(try h.vouchersAccount(client.channelID)).posted.description == "0")
            #expect(try await h.balance(h.merchant).creditsPosted.description == "3000")
        }
    }

    @Test func aVoucherAcceptedBeforeACrashIsAnsweredOnRetryAndBookedOnce() async throws {
        try await H.with { h in
            let url = try await h.startServer(h.method())
            var client = try await SessionClient.connect(url + "/lost", payer: try await h.fundedPayer())
            let open = client.openTransaction(deposit: 50_000)
            #expect(try await client.pay(client.openPayload(open)).status == 204)
            #expect(try await client.pay(client.voucherPayload(1_000)).status == 200)
            // The voucher is committed, then the answer is lost.
            h.loseNextAnswer.store(true, ordering: .relaxed)
            let credential = try client.authorization(client.voucherPayload(2_000))
            let lost = try await SessionClient.send(url + "/lost", authorization: credential)
            #expect(lost.status == 500 && lost.receipt == nil)
            // A restarted server (a fresh replica with an empty cache) answers the retry and charges nothing more.
            let replica = try await h.startServer(h.method())
            let retried = try await SessionClient.send(replica + "/lost", authorization: credential)
            #expect(retried.status == 200 && retried.receipt?.extensions["spent"] == .string("2000"), "\(retried.body)")
            #expect(try await h.balance(h.merchant).creditsPosted.description == "2000")
            // The two replicas take turns on the channel without losing or doubling a charge.
            for k: UInt64 in 3...8 {
                let target = k % 2 == 0 ? url : replica
                let answer = try await client.pay(client.voucherPayload(EVM.UInt256(k * 1_000)), url: target + "/lost")
                #expect(answer.status == 200, "\(answer.body)")
            }
            #expect(try await h.balance(h.merchant).creditsPosted.description == "8000")
        }
    }

    /// Each harness has a database of its own, so the fault-injecting trigger touches no other suite.
    @Test func aVoucherNotCommittedBeforeACrashIsNotBooked() async throws {
        try await H.with { h in
            let ledger = h.ledger
            let url = try await h.startServer(h.method()) + "/paid"
            var client = try await SessionClient.connect(url, payer: try await h.fundedPayer())
            let open = client.openTransaction(deposit: 50_000)
            #expect(try await client.pay(client.openPayload(open)).status == 204)
            // The database dies under the commit: nothing of it is written.
            try await ledger.client.query(
                """
                create function settle.test_crash() returns trigger language plpgsql as $$
                begin raise exception 'simulated crash'; end $$
                """, logger: H.logger)
            try await ledger.client.query(
                "create trigger test_crash before update on settle.mpp_sessions for each row execute function settle.test_crash()",
                logger: H.logger)
            let credential = try client.authorization(client.voucherPayload(1_000))
            let failed = try await SessionClient.send(url, authorization: credential)
            #expect(failed.status == 500 && failed.problemType?.hasSuffix("internal-payment-error") == true, "\(failed.body)")
            #expect(try await h.store.channel(client.channelID)?.spent == .zero)
            let merchant = try? await h.balance(h.merchant)
            #expect(merchant?.creditsPosted.isZero ?? true)
            try await ledger.client.query("drop trigger test_crash on settle.mpp_sessions", logger: H.logger)
            // The retry is a first payment: booked once.
            let retried = try await SessionClient.send(url, authorization: credential)
            #expect(retried.status == 200, "\(retried.body)")
            #expect(try await h.balance(h.merchant).creditsPosted.description == "1000")
        }
    }
}

extension Int {
    var uInt64: UInt64 { UInt64(self) }
}
