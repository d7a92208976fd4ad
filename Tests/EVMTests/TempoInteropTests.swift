import EVM
import Foundation
import SettleTesting
import Testing

/// Runs `Interop/tempo_interop.py` (pytempo 0.6.2, pympp 0.16.0) against Settle's Tempo codec.
enum TempoOracle {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/tempo_interop.py")

    static let unavailableReason: String? = {
        guard let python = InteropPython.interpreter else { return "no Python found; run scripts/bootstrap to create the venv" }
        do {
            _ = try EthAccountOracle.run(python, ["-c", "import pytempo, mpp.methods.tempo"], input: Data())
            return nil
        } catch {
            return "\(python) cannot import pytempo and pympp (pip install -r requirements-test.txt): \(error)"
        }
    }()

    static var enabled: Bool { unavailableReason == nil || InteropPython.isCI }

    static func call(_ arguments: [String], input: Data = Data()) throws -> Data {
        if let unavailableReason { throw EthAccountOracle.Failure(description: "pytempo oracle unavailable: \(unavailableReason)") }
        return try EthAccountOracle.run(InteropPython.interpreter!, [script.path] + arguments, input: input)
    }
}

@Suite(.enabled(if: TempoOracle.enabled, "Python with pytempo not found (set CI to make this a failure)"))
struct TempoInteropTests {
    struct Fields: Codable, Equatable {
        struct Call: Codable, Equatable {
            var to: String
            var value: String
            var input: String
        }
        struct Access: Codable, Equatable {
            var address: String
            var storageKeys: [String]
        }
        var chainId: String
        var maxPriorityFeePerGas: String
        var maxFeePerGas: String
        var gasLimit: String
        var calls: [Call]
        var accessList: [Access]
        var nonceKey: String
        var nonce: String
        var validBefore: String?
        var validAfter: String?
        var feeToken: String?

        init(_ t: TempoTransaction) {
            chainId = String(t.chainID)
            maxPriorityFeePerGas = t.maxPriorityFeePerGas.description
            maxFeePerGas = t.maxFeePerGas.description
            gasLimit = String(t.gasLimit)
            calls = t.calls.map { Call(to: $0.to?.lowercased ?? "0x", value: $0.value.description, input: Hex.encode($0.input)) }
            accessList = t.accessList.map { Access(address: $0.address.lowercased, storageKeys: $0.storageKeys.map(\.hex)) }
            nonceKey = t.nonceKey.description
            nonce = String(t.nonce)
            validBefore = t.validBefore.map { String($0) }
            validAfter = t.validAfter.map { String($0) }
            feeToken = t.feeToken?.lowercased
        }
    }

    struct Generated: Decodable {
        var kind: String
        var key: String
        var fields: Fields
        var sender: String
        var senderHash: String
        var raw: String
        var hash: String
        var envelope: String?
        var feePayerKey: String?
        var feePayer: String?
        var feeToken: String?
        var feePayerHash: String?
    }

    @Test func pytempoTransactionsDecodeInSwift() async throws {
        let seed = Int.random(in: 0..<1_000_000)
        let output = try await offPool { try TempoOracle.call(["generate", String(seed)]) }
        let generated = try JSONDecoder().decode([Generated].self, from: output)
        #expect(Set(generated.map(\.kind)) == ["plain", "batched", "expiring", "sponsored"])
        for (index, item) in generated.enumerated() {
            let context = Comment(rawValue: "seed \(seed), transaction \(index) (\(item.kind))")
            let decoded = try SignedTempoTransaction(rawHex: item.raw)
            var expectedFields = item.fields
            if item.kind == "sponsored" { expectedFields.feeToken = item.feeToken }
            #expect(Fields(decoded.transaction) == expectedFields, context)
            #expect(decoded.rawHex == item.raw, context)
            #expect(decoded.hash.hex == item.hash, context)
            #expect(try decoded.recoverSender() == (try Address(item.sender)), context)
            #expect(decoded.transaction.senderSigningHash.hex == item.senderHash, context)
            #expect(decoded.transaction.usesExpiringNonce == (item.kind == "expiring" || item.kind == "sponsored"), context)
            let key = try PrivateKey(hex: item.key)
            if item.kind == "sponsored" {
                let sender = try Address(item.sender)
                #expect(decoded.transaction.isSponsored, context)
                #expect(decoded.transaction.feePayerSigningHash(sender: sender).hex == item.feePayerHash, context)
                #expect(try decoded.recoverFeePayer(sender: sender) == (try Address(try #require(item.feePayer))), context)
                // pympp's envelope: Settle decodes it, names the same sender, and co-signs it into the very bytes pytempo made.
                let envelope = try TempoFeePayerEnvelope(rawHex: try #require(item.envelope))
                #expect(envelope.rawHex == item.envelope, context)
                #expect(envelope.sender == sender, context)
                let cosigned = try envelope.cosigned(
                    by: try PrivateKey(hex: try #require(item.feePayerKey)), feeToken: try Address(item.feeToken!))
                #expect(cosigned.rawHex == item.raw, context)
                // And Settle's own sender signature and envelope are byte-identical (RFC 6979 on both sides).
                var unsponsored = decoded.transaction
                unsponsored.feeToken = nil
                #expect(try TempoFeePayerEnvelope(unsponsored.signed(with: key)).rawHex == item.envelope, context)
            } else {
                #expect(try decoded.recoverFeePayer(sender: key.address) == nil, context)
                #expect(decoded.transaction.signed(with: key).rawHex == item.raw, context)
            }
        }
    }

    struct Checked: Decodable {
        var reencoded: String
        var hash: String
        var sender: String?
        var fields: Fields
        var feePayer: String?
        var envelopeSender: String?
        var envelopeNamedSender: String?
    }

    @Test func swiftTransactionsDecodeInPytempo() async throws {
        let pathUSD = try Address("0x20c0000000000000000000000000000000000000")
        var request: [[String: String]] = []
        var expected: [(SignedTempoTransaction, sender: Address, feePayer: Address?)] = []
        for index in 0..<16 {
            let key = PrivateKey.random()
            let recipient = PrivateKey.random().address
            let transfer = ABI.encodeCall(
                "transferWithMemo(address,uint256,bytes32)",
                [
                    .address(recipient), .uint(UInt256(UInt64.random(in: 1...UInt64.max))), .bytes32(Keccak256.hash(key.bytes)),
                ])
            let calls = (0...(index % 3)).map { call in
                TempoCall(to: call == 2 ? recipient : pathUSD, value: UInt256(UInt64(call)), input: transfer)
            }
            let sponsored = index % 4 == 3
            let transaction = TempoTransaction(
                chainID: 42431, maxPriorityFeePerGas: UInt256(UInt64(index)), maxFeePerGas: 20_000_000_000, gasLimit: 1_000_000,
                calls: calls,
                accessList: index % 5 == 1 ? [AccessListEntry(address: pathUSD, storageKeys: [Keccak256.hash(recipient.bytes)])] : [],
                nonceKey: index % 2 == 0 ? TempoTransaction.expiringNonceKey : UInt256(UInt64(index)),
                nonce: index % 2 == 0 ? 0 : UInt64(index),
                validBefore: index % 2 == 0 ? 1_800_000_060 : nil, validAfter: index % 3 == 0 ? 1_700_000_000 : nil,
                feeToken: sponsored ? nil : pathUSD, isSponsored: sponsored)
            var signed = transaction.signed(with: key)
            var item = ["raw": signed.rawHex]
            var feePayer: Address?
            if sponsored {
                item["envelope"] = try TempoFeePayerEnvelope(signed).rawHex
                let payerKey = PrivateKey.random()
                signed = try signed.cosigned(by: payerKey, feeToken: pathUSD)
                item["raw"] = signed.rawHex
                feePayer = payerKey.address
            }
            request.append(item)
            expected.append((signed, key.address, feePayer))
        }
        let input = try JSONSerialization.data(withJSONObject: request)
        let output = try await offPool { try TempoOracle.call(["check"], input: input) }
        let checked = try JSONDecoder().decode([Checked].self, from: output)
        try #require(checked.count == expected.count)
        for (index, (signed, sender, feePayer)) in expected.enumerated() {
            let result = checked[index]
            #expect(result.reencoded == signed.rawHex, "transaction \(index)")
            #expect(result.hash == signed.hash.hex, "transaction \(index)")
            #expect(result.sender == sender.lowercased, "transaction \(index)")
            #expect(result.fields == Fields(signed.transaction), "transaction \(index)")
            #expect(result.feePayer == feePayer?.lowercased, "transaction \(index)")
            if feePayer != nil {
                #expect(
                    result.envelopeSender == sender.lowercased && result.envelopeNamedSender == sender.lowercased, "transaction \(index)")
            }
        }
    }

    @Test func oracleIsAvailable() {
        if let reason = TempoOracle.unavailableReason { Issue.record("pytempo oracle unavailable: \(reason)") }
    }
}
