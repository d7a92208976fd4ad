import DevChain
import EVM
import Foundation
import Ledger
import MPP
import MPPTempo
import SettleTesting
import Testing

@Suite struct TempoChargeTests {
    static let problem = "https://paymentauth.org/problems/"

    @Test func theAttributionMemoIsPymppsByteForByte() {
        // pympp 0.16.0 `mpp.methods.tempo._attribution.encode`.
        let id = "ZcHgfEi5_Qyda9NQwUzamsCgCcWXw6N6EH2NLyaSTlg"
        #expect(
            AttributionMemo.encode(challengeID: id, realm: "api.example.com").hex
                == "0xef1ed712011ece072f76bd8b82350e00000000000000000000c9445787acc1c2")
        let withClient = AttributionMemo.encode(challengeID: id, realm: "api.example.com", clientID: "agent-7")
        #expect(withClient.hex == "0xef1ed712011ece072f76bd8b82350e2fc7e051965c2733416bc9445787acc1c2")
        #expect(AttributionMemo.binds(withClient, challengeID: id, realm: "api.example.com"))
        #expect(!AttributionMemo.binds(withClient, challengeID: id + "x", realm: "api.example.com"))
        #expect(!AttributionMemo.binds(withClient, challengeID: id, realm: "api.example.org"))
    }

    @Test func offersRefuseTermsThatCouldPayTwiceOrBreakTheRules() throws {
        let recipient = PrivateKey.random().address
        let pathUSD = TokenConfiguration.pathUSD.address
        func terms(_ charge: TempoCharge) -> TempoChargeError.Code? {
            do {
                _ = try charge.request(chainID: 42431)
                return nil
            } catch { return error.code }
        }
        let split = TempoCharge.Split(amount: 10, recipient: recipient)
        #expect(terms(TempoCharge(amount: 100, currency: pathUSD, recipient: recipient, splits: [split])) == nil)
        #expect(terms(TempoCharge(amount: 10, currency: pathUSD, recipient: recipient, splits: [split])) == .invalidTerms)
        #expect(
            terms(TempoCharge(amount: 100, currency: pathUSD, recipient: recipient, splits: Array(repeating: split, count: 11)))
                == .invalidTerms)
        #expect(terms(TempoCharge(amount: 100, currency: pathUSD, recipient: recipient, feePayer: true, splits: [split])) == .invalidTerms)
        let attributed = TempoCharge.Split(amount: 10, recipient: recipient, memo: AttributionMemo.encode(challengeID: "x", realm: "y"))
        #expect(terms(TempoCharge(amount: 100, currency: pathUSD, recipient: recipient, splits: [attributed])) == .invalidTerms)
        #expect(
            terms(
                TempoCharge(
                    amount: 100, currency: pathUSD, recipient: recipient, splits: [TempoCharge.Split(amount: 0, recipient: recipient)]))
                == .invalidTerms)
    }

    @Test func aSignedTransactionPaysOnceIsBookedAndAReplayIsRefused() async throws {
        try await TempoChargeHarness.with { h in
            let payer = try await h.fundedPayer()
            let challenge = try await h.challenge("/paid")
            #expect(try challenge.requestObject()["methodDetails"]?.objectValue?["chainId"] == .integer(Int64(h.chainID)))
            let signed = h.transaction([h.rightCall(challenge, amount: 250_000)]).signed(with: payer)
            let source = "did:pkh:eip155:\(h.chainID):\(payer.address.lowercased)"
            let paid = try await h.pay(
                "/paid", challenge, ["type": .string("transaction"), "signature": .string(signed.rawHex)], source: source)
            #expect(paid.status == 200 && paid.body == "content of /paid", "\(paid.body)")
            #expect(paid.receipt?.reference == signed.hash.hex && paid.receipt?.method == "tempo")
            #expect(try await h.balance(h.recipient) == 250_000)
            #expect(try await h.revenue() == 250_000)
            #expect(try await h.proofState(signed.hash.hex) == "settled")
            // The same credential, and the same transaction under a fresh challenge: never paid twice.
            let replay = try await h.pay("/paid", challenge, ["type": .string("transaction"), "signature": .string(signed.rawHex)])
            #expect(replay.status == 403 && replay.challenge == nil)
            let fresh = try await h.challenge("/paid")
            let reused = try await h.pay("/paid", fresh, ["type": .string("transaction"), "signature": .string(signed.rawHex)])
            #expect(
                reused.status == 402 && reused.problemType == Self.problem + "verification-failed", "the memo binds the first challenge")
            #expect(try await h.revenue() == 250_000)
        }
    }

    @Test func badTransactionsAreRefusedBeforeBroadcastAndNothingMoves() async throws {
        try await TempoChargeHarness.with { h in
            let payer = try await h.fundedPayer()
            let other = PrivateKey.random().address
            let alphaUSD = TokenConfiguration.alphaUSD.address
            var cases: [(String, (PaymentChallenge) -> [String: MPP.JSONValue], String)] = []
            func signed(_ transaction: TempoTransaction) -> [String: MPP.JSONValue] {
                ["type": .string("transaction"), "signature": .string(transaction.signed(with: payer).rawHex)]
            }
            let memo = { (c: PaymentChallenge) in AttributionMemo.encode(challengeID: c.id, realm: c.realm) }
            cases.append(
                (
                    "less", { c in signed(h.transaction([TempoChargeHarness.transferCall(to: h.recipient, 249_999, memo: memo(c))])) },
                    "verification-failed"
                ))
            cases.append(
                (
                    "more", { c in signed(h.transaction([TempoChargeHarness.transferCall(to: h.recipient, 250_001, memo: memo(c))])) },
                    "verification-failed"
                ))
            cases.append(
                (
                    "recipient", { c in signed(h.transaction([TempoChargeHarness.transferCall(to: other, 250_000, memo: memo(c))])) },
                    "verification-failed"
                ))
            cases.append(
                (
                    "no memo", { _ in signed(h.transaction([TempoChargeHarness.transferCall(to: h.recipient, 250_000, memo: nil)])) },
                    "verification-failed"
                ))
            cases.append(
                (
                    "other challenge's memo",
                    { c in
                        signed(
                            h.transaction([
                                TempoChargeHarness.transferCall(
                                    to: h.recipient, 250_000, memo: AttributionMemo.encode(challengeID: c.id + "x", realm: c.realm))
                            ]))
                    }, "verification-failed"
                ))
            cases.append(
                (
                    "other realm's memo",
                    { c in
                        signed(
                            h.transaction([
                                TempoChargeHarness.transferCall(
                                    to: h.recipient, 250_000, memo: AttributionMemo.encode(challengeID: c.id, realm: "evil.example"))
                            ]))
                    }, "verification-failed"
                ))
            cases.append(
                (
                    "other token",
                    { c in
                        signed(h.transaction([TempoChargeHarness.transferCall(to: h.recipient, 250_000, memo: memo(c), token: alphaUSD)]))
                    }, "verification-failed"
                ))
            cases.append(
                (
                    "extra call",
                    { c in
                        signed(h.transaction([h.rightCall(c, amount: 250_000), TempoChargeHarness.transferCall(to: other, 1, memo: nil)]))
                    }, "verification-failed"
                ))
            cases.append(
                (
                    "other chain", { c in signed(h.transaction([h.rightCall(c, amount: 250_000)], chainID: h.chainID + 1)) },
                    "verification-failed"
                ))
            cases.append(
                (
                    "expired",
                    { c in
                        signed(h.transaction([h.rightCall(c, amount: 250_000)], validBefore: UInt64(Date().timeIntervalSince1970) - 1))
                    }, "verification-failed"
                ))
            cases.append(
                (
                    "envelope on an unsponsored route",
                    { c in
                        let envelope = try! TempoFeePayerEnvelope(
                            h.transaction([h.rightCall(c, amount: 250_000)], sponsored: true).signed(with: payer))
                        return ["type": .string("transaction"), "signature": .string(envelope.rawHex)]
                    }, "verification-failed"
                ))
            cases.append(("not hex", { _ in ["type": .string("transaction"), "signature": .string("0xzz")] }, "invalid-payload"))
            cases.append(
                ("not a transaction", { _ in ["type": .string("transaction"), "signature": .string("0x0102")] }, "invalid-payload"))
            cases.append(("no signature", { _ in ["type": .string("transaction")] }, "invalid-payload"))
            cases.append(("unknown type", { _ in ["type": .string("proof"), "signature": .string("0x00")] }, "invalid-payload"))
            cases.append(("short hash", { _ in ["type": .string("hash"), "hash": .string("0x1234")] }, "invalid-payload"))
            for (name, payload, expected) in cases {
                let challenge = try await h.challenge("/paid")
                let answer = try await h.pay("/paid", challenge, payload(challenge))
                #expect(answer.status == 402, "\(name): \(answer.body)")
                #expect(answer.problemType == Self.problem + expected, "\(name): \(answer.body)")
                #expect(!answer.body.contains("content of"), "\(name)")
            }
            // A source that is not the signer.
            let challenge = try await h.challenge("/paid")
            let right = signed(h.transaction([h.rightCall(challenge, amount: 250_000)]))
            let lying = try await h.pay("/paid", challenge, right, source: "did:pkh:eip155:\(h.chainID):\(other.lowercased)")
            #expect(lying.status == 402 && lying.problemType == Self.problem + "verification-failed")
            #expect(try await h.balance(h.recipient) == 0)
            #expect(try await h.balance(other) == 0)
            #expect(try await h.revenue() == 0)
        }
    }

    @Test func splitsPayEveryRecipientAndBookTheRecipientsPart() async throws {
        try await TempoChargeHarness.with { h in
            let payer = try await h.fundedPayer()
            let challenge = try await h.challenge("/split")
            let memo = AttributionMemo.encode(challengeID: challenge.id, realm: challenge.realm)
            let calls = [
                TempoChargeHarness.transferCall(to: h.splitRecipient, 100_000, memo: nil),
                TempoChargeHarness.transferCall(to: h.recipient, 900_000, memo: memo),
            ]
            let missing = try await h.pay(
                "/split", challenge,
                ["type": .string("transaction"), "signature": .string(h.transaction([calls[1]]).signed(with: payer).rawHex)])
            #expect(missing.status == 402, "a missing split leg is refused")
            let fresh = try await h.challenge("/split")
            let freshMemo = AttributionMemo.encode(challengeID: fresh.id, realm: fresh.realm)
            let paid = try await h.pay(
                "/split", fresh,
                [
                    "type": .string("transaction"),
                    "signature": .string(
                        h.transaction([calls[0], TempoChargeHarness.transferCall(to: h.recipient, 900_000, memo: freshMemo)]).signed(
                            with: payer
                        ).rawHex),
                ])
            #expect(paid.status == 200, "\(paid.body)")
            #expect(try await h.balance(h.recipient) == 900_000)
            #expect(try await h.balance(h.splitRecipient) == 100_000)
            #expect(try await h.revenue() == 900_000)
        }
    }

    @Test func aPushedTransactionPaysByItsHashOnce() async throws {
        try await TempoChargeHarness.with { h in
            let payer = try await h.fundedPayer()
            let challenge = try await h.challenge("/paid")
            let signed = h.transaction([h.rightCall(challenge, amount: 250_000)]).signed(with: payer)
            let _: RPCValue = try await h.rpc.request("eth_sendRawTransactionSync", [.data(signed.rawBytes), .number(20_000)])
            let paid = try await h.pay("/paid", challenge, ["type": .string("hash"), "hash": .string(signed.hash.hex)])
            #expect(paid.status == 200 && paid.receipt?.reference == signed.hash.hex, "\(paid.body)")
            #expect(try await h.revenue() == 250_000)
            let fresh = try await h.challenge("/paid")
            let again = try await h.pay("/paid", fresh, ["type": .string("hash"), "hash": .string(signed.hash.hex)])
            #expect(again.status == 403, "one transaction pays one challenge")
            // A hash the chain does not know, and a transfer made for something else (no memo).
            let unknown = try await h.pay(
                "/paid", try await h.challenge("/paid"), ["type": .string("hash"), "hash": .string(Hash32.zero.hex)])
            #expect(unknown.status == 402 && unknown.problemType == Self.problem + "verification-failed")
            let plain = h.transaction([TempoChargeHarness.transferCall(to: h.recipient, 250_000, memo: nil)]).signed(with: payer)
            let _: RPCValue = try await h.rpc.request("eth_sendRawTransactionSync", [.data(plain.rawBytes), .number(20_000)])
            let unbound = try await h.pay(
                "/paid", try await h.challenge("/paid"), ["type": .string("hash"), "hash": .string(plain.hash.hex)])
            #expect(unbound.status == 402 && unbound.problemType == Self.problem + "verification-failed")
            // The server never sponsored a pushed transaction.
            let sponsoredChallenge = try await h.challenge("/sponsored")
            let sponsored = try await h.pay("/sponsored", sponsoredChallenge, ["type": .string("hash"), "hash": .string(signed.hash.hex)])
            #expect(sponsored.status == 402)
            #expect(try await h.revenue() == 250_000)
        }
    }

    @Test(.enabled(if: PymppClient.enabled, "Python with pympp[tempo] not found (set CI to make this a failure)"))
    func pymppsClientPaysWithAndWithoutFeeSponsoring() async throws {
        if let reason = PymppClient.unavailableReason { Issue.record("pympp unavailable: \(reason)") }
        let python = try #require(InteropPython.interpreter)
        try await TempoChargeHarness.with { h in
            let payer = try await h.fundedPayer()
            let before = try await h.balance(payer.address)
            let output = try await offPool {
                try runChildProcess(
                    python, [PymppClient.script.path, h.url, h.chainURL, String(h.chainID), Hex.encode(payer.bytes), "/paid", "/sponsored"])
            }
            struct Entry: Decodable {
                var status: Int
                var body: String
                var receipt: [String: String]?
                var cacheControl: String?
                var replayStatus: Int?
                var replayChallenges: Int?
                var signedType: String?
                var source: String?
            }
            let entries = try JSONDecoder().decode([String: Entry].self, from: output)
            for path in ["/paid", "/sponsored"] {
                let entry = try #require(entries[path])
                #expect(entry.status == 200 && entry.body == "content of \(path)", "\(path): \(entry.body)")
                #expect(entry.receipt?["method"] == "tempo" && entry.receipt?["status"] == "success", "\(path)")
                #expect(entry.cacheControl == "private", "\(path)")
                #expect(entry.replayStatus == 403 && entry.replayChallenges == 0, "\(path): a replay is refused without a challenge")
                #expect(entry.source?.lowercased() == "did:pkh:eip155:\(h.chainID):\(payer.address.lowercased)")
            }
            #expect(entries["/paid"]?.signedType == "0x76")
            #expect(entries["/sponsored"]?.signedType == "0x78")
            #expect(try await h.balance(h.recipient) == 750_000)
            #expect(try await h.revenue() == 750_000)
            // The sponsored payment cost the payer nothing but the price.
            let spent = before - (try await h.balance(payer.address))
            #expect(spent > 750_000, "the unsponsored payment's fee is the payer's")
            let sponsoredHash = try #require(entries["/sponsored"]?.receipt?["reference"])
            let receipt = try #require(try await h.rpc.transactionReceipt(try Hash32(hex: sponsoredHash)))
            #expect(receipt.feePayer == h.feePayer.address && receipt.from == payer.address)
        }
    }
}

enum PymppClient {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/pympp_pays_settle.py")

    static let unavailableReason: String? = {
        guard let python = InteropPython.interpreter else { return "no Python interpreter (.venv)" }
        do {
            _ = try runChildProcess(python, ["-c", "import mpp.client, mpp.methods.tempo.client, pytempo"])
            return nil
        } catch {
            return "cannot import pympp[tempo] (pip install -r requirements-test.txt): \(error)"
        }
    }()

    static var enabled: Bool { unavailableReason == nil || InteropPython.isCI }
}

extension TempoChargeTests {
    @Test(.enabled(if: PymppClient.mcpEnabled, "Python with pympp[mcp] not found (set CI to make this a failure)"))
    func pymppsMCPClientPaysAToolOverMCP() async throws {
        if let reason = PymppClient.mcpUnavailableReason { Issue.record("pympp[mcp] unavailable: \(reason)") }
        let python = try #require(InteropPython.interpreter)
        try await TempoChargeHarness.with { h in
            let payer = try await h.fundedPayer()
            let output = try await offPool {
                try runChildProcess(
                    python, [PymppClient.mcpScript.path, h.url + "/mcp", h.chainURL, String(h.chainID), Hex.encode(payer.bytes), "joke"])
            }
            let result = try #require(
                try JSONSerialization.jsonObject(with: output) as? [String: Any], "\(String(decoding: output, as: UTF8.self))")
            #expect(result["tools"] as? [String] == ["joke"])
            let unpaid = result["unpaid"] as? [String: Any]
            #expect(unpaid?["code"] as? Int == -32042 && unpaid?["challenges"] as? Int == 1, "\(result)")
            let paid = result["paid"] as? [String: Any]
            #expect(paid?["text"] as? [String] == ["two entries walk into a bar"], "\(result)")
            let receipt = paid?["receipt"] as? [String: Any]
            #expect(receipt?["method"] as? String == "tempo" && receipt?["status"] as? String == "success")
            #expect((receipt?["challengeId"] as? String)?.isEmpty == false)
            let replay = result["replay"] as? [String: Any]
            #expect(
                replay?["code"] as? Int == -32043 && replay?["httpStatus"] as? Int == 403 && replay?["challenges"] as? Int == 0, "\(result)"
            )
            #expect(try await h.balance(h.recipient) == 250_000)
            #expect(try await h.revenue() == 250_000)
        }
    }
}

extension PymppClient {
    static let mcpScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Interop/pympp_mcp_pays_settle.py")

    static let mcpUnavailableReason: String? = {
        if let reason = unavailableReason { return reason }
        do {
            _ = try runChildProcess(InteropPython.interpreter!, ["-c", "import mcp.client.streamable_http, mpp.extensions.mcp"])
            return nil
        } catch {
            return "cannot import pympp[mcp] (pip install -r requirements-test.txt): \(error)"
        }
    }()

    static var mcpEnabled: Bool { mcpUnavailableReason == nil || InteropPython.isCI }
}
