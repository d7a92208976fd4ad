import Foundation
import Ledger
import RailKit
import Testing

/// A chain-like flow: a transfer is held while it is seen, posted when final, voided on a reorg.
let chainFlow = FundFlow(
    states: ["seen", "final", "reorged"],
    accounts: [
        .init("chain:{asset}:incoming", normalSide: .debit, clearing: true, summary: "seen, not final"),
        .init("{merchant}", normalSide: .credit, summary: "the merchant"),
        .init("chain:{asset}:gas", normalSide: .debit, summary: "gas"),
        .init("chain:{asset}:hot", normalSide: .debit, limit: .creditsMustNotExceedDebits, summary: "pays gas"),
    ],
    transitions: [
        .init(
            "seen", from: [], to: "seen", action: .hold(timeout: 3_600),
            postings: [.init(.debit, "chain:{asset}:incoming", "amount"), .init(.credit, "{merchant}", "amount")], summary: "a log is seen"),
        .init("final", from: ["seen"], to: "final", action: .postHold(of: "seen", amount: nil), postings: [], summary: "N blocks deep"),
        .init("reorged", from: ["seen"], to: "reorged", action: .voidHold(of: "seen"), postings: [], summary: "the block is gone"),
        .init(
            "gas", from: [], to: "final",
            postings: [.init(.debit, "chain:{asset}:gas", "gas"), .init(.credit, "chain:{asset}:hot", "gas")], summary: "gas paid"),
    ])

@Suite("Fund flows")
struct FundFlowTests {
    let asset = AssetID("usdc-test")

    @Test func validFlowPassesAndRoundTripsAsJSON() throws {
        try chainFlow.validate()
        let data = try JSONEncoder().encode(chainFlow)
        #expect(try JSONDecoder().decode(FundFlow.self, from: data) == chainFlow)
    }

    @Test func incoherentFlowsAreRefused() {
        func refused(_ change: (inout FundFlow) -> Void) -> Bool {
            var flow = chainFlow
            change(&flow)
            do {
                try flow.validate()
                return false
            } catch {
                return error.code == .invalidFundFlow
            }
        }
        #expect(refused { $0.states.append("seen") })
        #expect(refused { $0.transitions[0].to = "nowhere" })
        #expect(refused { $0.transitions[0].postings[0].account = "undeclared:{asset}" })
        #expect(refused { $0.transitions[0].postings.removeLast() })
        #expect(refused { $0.transitions[0].postings[1].direction = .debit })
        #expect(refused { $0.transitions[1].action = .postHold(of: "gas", amount: nil) })
        #expect(refused { $0.transitions[2].postings = chainFlow.transitions[0].postings })
        #expect(refused { $0.transitions.append($0.transitions[0]) })
        #expect(refused { $0.transitions[0].action = .hold(timeout: 0) })
    }

    @Test func rendersTransfersWithIdsFromTheNaturalKey() throws {
        let seen = RailEvent(
            transition: "seen", reference: "eip155:1/0xabc/3", asset: asset, amounts: ["amount": 1_000], bindings: ["merchant": "m:acme"],
            occurredAt: Date(timeIntervalSince1970: 1_800_000_000))
        let transfer = try #require(try chainFlow.transfer(for: seen, rail: "erc20"))
        #expect(transfer.id.rawValue == "erc20:seen:eip155:1/0xabc/3")
        #expect(transfer.railReference == .init(rail: "erc20", reference: "seen:eip155:1/0xabc/3"))
        #expect(transfer.action == .hold([.debit("chain:usdc-test:incoming", 1_000), .credit("m:acme", 1_000)], timeout: 3_600))
        #expect(transfer.effectiveAt == seen.occurredAt)

        var final = seen
        final.transition = "final"
        #expect(try chainFlow.transfer(for: final, rail: "erc20")?.action == .postHold("erc20:seen:eip155:1/0xabc/3", amount: nil))
        final.transition = "reorged"
        #expect(try chainFlow.transfer(for: final, rail: "erc20")?.action == .voidHold("erc20:seen:eip155:1/0xabc/3"))
    }

    @Test func zeroAmountsBookNothingAndMissingDataIsAnError() throws {
        let gas = RailEvent(transition: "gas", reference: "tx1", asset: asset, amounts: ["gas": 0], occurredAt: Date())
        #expect(try chainFlow.transfer(for: gas, rail: "erc20") == nil)

        func code(_ event: RailEvent) -> RailError.Code? {
            do {
                _ = try chainFlow.transfer(for: event, rail: "erc20")
                return nil
            } catch { return error.code }
        }
        #expect(code(RailEvent(transition: "gas", reference: "tx1", asset: asset, amounts: [:], occurredAt: Date())) == .missingAmount)
        #expect(
            code(RailEvent(transition: "seen", reference: "x", asset: asset, amounts: ["amount": 1], occurredAt: Date())) == .missingBinding
        )
        #expect(code(RailEvent(transition: "minted", reference: "x", asset: asset, amounts: [:], occurredAt: Date())) == .unknownTransition)
        #expect(
            code(
                RailEvent(
                    transition: "seen", reference: "x", asset: asset, amounts: ["amount": 1], bindings: ["merchant": "bad id!"],
                    occurredAt: Date())) == .invalidEvent)
    }

    @Test func longReferencesGetAHashedTransferID() throws {
        let reference = "eip155:8453/0x" + String(repeating: "ab", count: 32) + "/" + String(repeating: "9", count: 60)
        let event = RailEvent(transition: "gas", reference: reference, asset: asset, amounts: ["gas": 5], occurredAt: Date())
        let transfer = try #require(try chainFlow.transfer(for: event, rail: "erc20"))
        #expect(transfer.id.rawValue.hasPrefix("erc20:gas:h"))
        #expect(transfer.id.rawValue.count <= 128)
        #expect(transfer.railReference?.reference == "gas:" + reference)
        // The same reference always gives the same id: the booking stays idempotent.
        #expect(try chainFlow.transfer(for: event, rail: "erc20")?.id == transfer.id)
    }
}
