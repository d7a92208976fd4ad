import EVM
import Foundation
import Ledger
import Testing

@testable import X402

/// Settle's facilitator behind other servers books what its `/settle` calls move.
struct BatchBookingFacilitatorTests {
    @Test func aClaimWhoseAnswerWasLostIsBookedWhenTheServerClaimsAgain() async throws {
        try await BatchSettlementSettlerTests.withChannel { h, b, _, payer, config in
            let id = config.channelID(in: b.domain)
            let booking = X402BatchBookingFacilitator(facilitator: b.server.facilitator, store: b.server.store, logger: X402Harness.logger)
            #expect(try await booking.settle(b.deposit(config, amount: 10_000, key: payer), requirements: b.requirements).success)
            let signature = try #require(b.voucherJSON(config, 3000, key: payer)["signature"])
            let claim = PaymentPayload(
                accepted: b.requirements,
                payload: .object([
                    "type": .string("claim"),
                    "claims": .array([
                        .object([
                            "voucher": .object(["channel": BatchHarness.configJSON(config), "maxClaimableAmount": .string("3000")]),
                            "signature": signature, "totalClaimed": .string("3000"),
                        ])
                    ]),
                ]))
            // Mined, but its answer never reached the booking (a /settle answered pending, say).
            #expect(try await b.server.facilitator.settle(claim, requirements: b.requirements).success)
            #expect(try await b.chargesBooked(id) == .zero)
            // The server claims again: a no-op on chain, booked now, and once.
            #expect(try await booking.settle(claim, requirements: b.requirements).success)
            #expect(try await booking.settle(claim, requirements: b.requirements).success)
            #expect(try await b.chargesBooked(id) == Ledger.UInt256(3000))
            #expect(try await b.transfers(prefix: "x402:batch:claim:", mentioning: id.hex) == 1)
            #expect(try await h.merchantBalance().posted == Ledger.UInt256(3000))
            let clearing = try await b.balance(try BatchBookings.clearing(X402Harness.token.assetID, id))
            #expect(clearing.debits == Ledger.UInt256(10_000) && clearing.credits == Ledger.UInt256(3000))
        }
    }
}
