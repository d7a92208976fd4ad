import EVM
import Foundation
import Ledger
import MPP
import MPPTesting
import SettleTesting
import Testing

@testable import MPPEVM

/// Authorizations that must not pay: each gets the spec's status and problem with a fresh
/// challenge, nothing is served, nothing is sent on chain and nothing is booked.
@Suite("evm/charge refusals", .timeLimit(.minutes(3)))
struct EVMChargeRefusalTests {
    @Test func badAuthorizationsGetTheSpecsProblemAndMoveNothing() async throws {
        try await EVMChargeHarness.with { h in
            let payer = try await h.fundedPayer()
            let broke = PrivateKey.random()
            let now = UInt64(Date().timeIntervalSince1970)
            let price = EVMChargeHarness.price
            typealias Build = @Sendable (PaymentChallenge) -> [String: MPP.JSONValue]
            func signed(_ change: @escaping @Sendable (inout [String: MPP.JSONValue]) -> Void) -> Build {
                { challenge in
                    var payload = EVMChargeHarness.payload(challenge, key: payer, to: h.payTo)
                    change(&payload)
                    return payload
                }
            }
            let payTo = h.payTo
            let cases: [(name: String, slug: String, build: Build)] = [
                (
                    "tampered validBefore", "verification-failed",
                    signed { $0["validBefore"] = .string(String(now + 200)) }
                ),
                ("tampered signature", "verification-failed", { EVMChargeHarness.payload($0, key: payer, to: payTo, signer: broke) }),
                (
                    "another token's domain", "verification-failed",
                    {
                        EVMChargeHarness.payload(
                            $0, key: payer, to: payTo,
                            domain: TokenDomain(
                                name: "USDC", version: "2", chainID: 31337, verifyingContract: EVMChargeHarness.tokenAddress))
                    }
                ),
                ("wrong recipient", "verification-failed", { EVMChargeHarness.payload($0, key: payer, to: PrivateKey.random().address) }),
                (
                    "amount below the price", "verification-failed",
                    { EVMChargeHarness.payload($0, key: payer, to: payTo, value: price - 1) }
                ),
                (
                    "amount above the price", "verification-failed",
                    { EVMChargeHarness.payload($0, key: payer, to: payTo, value: price + 1) }
                ),
                (
                    "expired validBefore", "verification-failed",
                    { EVMChargeHarness.payload($0, key: payer, to: payTo, validBefore: now - 1) }
                ),
                (
                    "validBefore inside the settlement margin", "verification-failed",
                    { EVMChargeHarness.payload($0, key: payer, to: payTo, validBefore: now + 2) }
                ),
                ("not valid yet", "verification-failed", { EVMChargeHarness.payload($0, key: payer, to: payTo, validAfter: now + 600) }),
                (
                    "valid for too long", "verification-failed",
                    { EVMChargeHarness.payload($0, key: payer, to: payTo, validBefore: now + 7_200) }
                ),
                (
                    "another challenge's nonce", "verification-failed",
                    {
                        EVMChargeHarness.payload(
                            $0, key: payer, to: payTo, nonce: EVMChargeMethod.challengeHash(id: "other", realm: $0.realm))
                    }
                ),
                ("a payer without funds", "verification-failed", { EVMChargeHarness.payload($0, key: broke, to: payTo) }),
                ("value not a decimal", "invalid-payload", signed { $0["value"] = .string("0x9c4") }),
                ("no signature", "invalid-payload", signed { $0["signature"] = nil }),
                ("another type", "invalid-payload", signed { $0["type"] = .string("hash") }),
            ]
            for (name, slug, build) in cases {
                let challenge = try await h.app.challenge()
                let answer = try await h.app.pay(challenge, build(challenge))
                #expect(answer.status == 402, "\(name): \(answer.status) \(answer.body)")
                #expect(answer.problemSlug == slug, "\(name): \(answer.body)")
                #expect(!answer.challenges.isEmpty, "\(name): a 402 carries fresh challenges")
            }
            // A source that names someone else.
            let challenge = try await h.app.challenge()
            let answer = try await h.app.pay(
                challenge, EVMChargeHarness.payload(challenge, key: payer, to: payTo),
                source: "did:pkh:eip155:31337:\(broke.address.checksummed)")
            #expect(answer.status == 402 && answer.problemSlug == "verification-failed", "\(answer.body)")

            #expect(h.app.servedCount == 0)
            #expect(try await h.facilitatorTransactions() == 0)
            #expect(try await h.tokenBalance(payer.address) == EVM.UInt256(1_000_000))
            let balance = try await h.merchantBalance()
            #expect(balance.posted == .zero && balance.pending == .zero)
        }
    }

    @Test func aRefusedAuthorizationLeavesTheChallengePayable() async throws {
        try await EVMChargeHarness.with { h in
            let payer = try await h.fundedPayer()
            let challenge = try await h.app.challenge()
            func pay(_ payload: [String: MPP.JSONValue]) async throws -> MPPTestAnswer {
                try await h.app.pay(challenge, payload)
            }
            // Signed in the wrong domain: the facilitator refuses it before anything is sent.
            let wrong = EVMChargeHarness.payload(
                challenge, key: payer, to: h.payTo,
                domain: TokenDomain(name: "USD Coin", version: "1", chainID: 31337, verifyingContract: EVMChargeHarness.tokenAddress))
            let refused = try await pay(wrong)
            #expect(refused.status == 402 && refused.problemSlug == "verification-failed", "\(refused.body)")
            // Nothing moved, so the same challenge pays with a good signature.
            let good = EVMChargeHarness.payload(challenge, key: payer, to: h.payTo)
            let paid = try await pay(good)
            #expect(paid.status == 200, "\(paid.body)")
            let receipt = try #require(paid.receipt)
            #expect(receipt.method == "evm")
            // The same authorization again, concurrently twice: refused without a challenge, never settled twice.
            async let first = pay(good)
            async let second = pay(good)
            let replays = try await [first, second]
            let notRefused = replays.filter { $0.status != 403 || !$0.challenges.isEmpty }
            #expect(notRefused.isEmpty, "\(notRefused.map(\.body))")
            #expect(h.app.servedCount == 1)
            #expect(try await h.facilitatorTransactions() == 1)
            let balance = try await h.merchantBalance()
            #expect(balance.posted == Ledger.UInt256(UInt64(2_500)) && balance.pending == .zero)
        }
    }

    @Test func theChallengeHashIsPymppsNonce() {
        // Computed with pympp 0.16.0's `mpp.methods.evm._eip3009.challenge_hash`.
        #expect(
            EVMChargeMethod.challengeHash(id: "abc", realm: "127.0.0.1").hex
                == "0x6abd33b8a20765ed737f6300cd92e2b3fb006616fcb04a8ef8faeb060a4e8f55")
        #expect(
            EVMChargeMethod.challengeHash(id: "6QDs0BmhrI_v67iWeCMvGqQJEFQ6ErWKlk7zi5xL6t0", realm: "api.example.com").hex
                == "0x2344a3a5948d50d5099294233cd40856dd20c6f73d1383a2c5b7c9af592b6102")
        #expect(
            EVMChargeMethod.challengeHash(id: "id-1", realm: "r\"é/\u{01}").hex
                == "0x3a389d512f74816ff9dfeedb3698a95bf189ff27a522d0549c57979f425ba309")
    }
}
