import EVM
import Foundation
import SettleTesting
import Testing

/// Runs `Interop/eth_account_interop.py` with the repository's Python (eth-account 0.14.0).
enum EthAccountOracle {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/eth_account_interop.py")
    static let packageRoot = InteropPython.repositoryRoot
    static let isCI = InteropPython.isCI

    static let python = InteropPython.interpreter

    /// Nil when Python and eth-account are usable, else why not.
    static let unavailableReason: String? = {
        guard let python else {
            return
                "no Python found ($VIRTUAL_ENV/bin/python or \(packageRoot.path)/.venv/bin/python); run scripts/bootstrap to create the venv"
        }
        do {
            _ = try run(python, ["-c", "import eth_account"], input: Data())
            return nil
        } catch {
            return "\(python) cannot import eth_account (pip install -r requirements-test.txt): \(error)"
        }
    }()

    /// Enabled when the oracle is there; on CI always enabled, so that a missing oracle fails loudly.
    static var enabled: Bool { unavailableReason == nil || isCI }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ executable: String, _ arguments: [String], input: Data) throws -> Data {
        try runChildProcess(executable, arguments, input: input)
    }

    static func call(_ arguments: [String], input: Data = Data()) throws -> Data {
        if let unavailableReason { throw Failure(description: "eth-account interop oracle unavailable: \(unavailableReason)") }
        return try run(python!, [script.path] + arguments, input: input)
    }
}

@Suite(.enabled(if: EthAccountOracle.enabled, "Python with eth-account not found (set CI to make this a failure)"))
struct EthAccountInteropTests {
    struct Generated: Decodable {
        struct Authorization: Decodable {
            var key: String
            var primaryType: String
            var domain: [String: String]
            var message: [String: String]
            var digest: String
            var signature: String
            var signer: String
        }
        struct Transaction: Decodable {
            var key: String
            var fields: Fields
            var raw: String
            var hash: String
            var sender: String
        }
        struct Fields: Decodable {
            var chainId: String
            var nonce: String
            var maxPriorityFeePerGas: String
            var maxFeePerGas: String
            var gas: String
            var to: String
            var value: String
            var data: String
            var accessList: [AccessEntry]
        }
        struct AccessEntry: Decodable {
            var address: String
            var storageKeys: [String]
        }
        var authorizations: [Authorization]
        var transactions: [Transaction]
    }

    static func authorization(type: String, message m: [String: String]) throws -> any EIP3009Authorization {
        switch type {
        case "TransferWithAuthorization":
            TransferWithAuthorization(
                from: try Address(m["from"]!), to: try Address(m["to"]!), value: try UInt256(decimal: m["value"]!),
                validAfter: try UInt256(decimal: m["validAfter"]!), validBefore: try UInt256(decimal: m["validBefore"]!),
                nonce: try Hash32(hex: m["nonce"]!))
        case "ReceiveWithAuthorization":
            ReceiveWithAuthorization(
                from: try Address(m["from"]!), to: try Address(m["to"]!), value: try UInt256(decimal: m["value"]!),
                validAfter: try UInt256(decimal: m["validAfter"]!), validBefore: try UInt256(decimal: m["validBefore"]!),
                nonce: try Hash32(hex: m["nonce"]!))
        default:
            CancelAuthorization(authorizer: try Address(m["authorizer"]!), nonce: try Hash32(hex: m["nonce"]!))
        }
    }

    static func domain(_ d: [String: String]) throws -> TokenDomain {
        TokenDomain(
            name: d["name"]!, version: d["version"]!, chainID: try UInt256(decimal: d["chainId"]!),
            verifyingContract: try Address(d["verifyingContract"]!))
    }

    @Test func ethAccountSignaturesVerifyInSwift() async throws {
        let seed = Int.random(in: 0..<1_000_000)
        let output = try await offPool { try EthAccountOracle.call(["generate", "30", String(seed)]) }
        let generated = try JSONDecoder().decode(Generated.self, from: output)
        #expect(generated.authorizations.count == 30 && generated.transactions.count == 30)
        for (index, item) in generated.authorizations.enumerated() {
            let context = Comment(rawValue: "seed \(seed), authorization \(index) (\(item.primaryType))")
            let authorization = try Self.authorization(type: item.primaryType, message: item.message)
            let domain = try Self.domain(item.domain)
            #expect(authorization.digest(in: domain).hex == item.digest, context)
            let signature = try Signature(hex: item.signature)
            #expect(try authorization.recoverSigner(signature, in: domain) == (try Address(item.signer)), context)
            try authorization.verify(signature, in: domain)
            // RFC 6979 on both sides: the same key signs the same bytes.
            #expect(authorization.sign(with: try PrivateKey(hex: item.key), in: domain).hex == item.signature, context)
        }
        for (index, item) in generated.transactions.enumerated() {
            let context = Comment(rawValue: "seed \(seed), transaction \(index)")
            let f = item.fields
            let transaction = EIP1559Transaction(
                chainID: UInt64(f.chainId)!, nonce: UInt64(f.nonce)!, maxPriorityFeePerGas: try UInt256(decimal: f.maxPriorityFeePerGas),
                maxFeePerGas: try UInt256(decimal: f.maxFeePerGas), gasLimit: UInt64(f.gas)!, to: try Address(f.to),
                value: try UInt256(decimal: f.value), data: try Hex.decode(f.data),
                accessList: try f.accessList.map { entry in
                    AccessListEntry(address: try Address(entry.address), storageKeys: try entry.storageKeys.map { try Hash32(hex: $0) })
                })
            let signed = transaction.signed(with: try PrivateKey(hex: item.key))
            #expect(signed.rawHex == item.raw, context)
            #expect(signed.hash.hex == item.hash, context)
            let decoded = try SignedEIP1559Transaction(rawHex: item.raw)
            #expect(decoded.transaction == transaction, context)
            #expect(try decoded.recoverSender() == (try Address(item.sender)), context)
        }
    }

    @Test func swiftSignaturesRecoverInEthAccount() async throws {
        var typed: [[String: Any]] = []
        var hashes: [[String: String]] = []
        var transactions: [String] = []
        var expected: [Address] = []
        let names = ["USD Coin", "USDC", "Tést ☃"]
        for index in 0..<24 {
            let key = PrivateKey.random()
            expected.append(key.address)
            let domain = TokenDomain(
                name: names[index % names.count], version: index % 2 == 0 ? "2" : "1", chainID: UInt256(UInt64.random(in: 1...100_000)),
                verifyingContract: PrivateKey.random().address)
            let nonce = Keccak256.hash(key.bytes)
            let to = PrivateKey.random().address
            let value = UInt256(UInt64.random(in: 0...UInt64.max)).multipliedReportingOverflow(by: UInt64.random(in: 1...UInt64.max))
                .partialValue
            let domainJSON: [String: String] = [
                "name": domain.name, "version": domain.version, "chainId": domain.chainID.description,
                "verifyingContract": domain.verifyingContract.checksummed,
            ]
            let transferLike: [String: String] = [
                "from": key.address.checksummed, "to": to.checksummed, "value": value.description, "validAfter": "0",
                "validBefore": "1800000000", "nonce": nonce.hex,
            ]
            let (type, message): (String, [String: String]) =
                switch index % 3 {
                case 0: ("TransferWithAuthorization", transferLike)
                case 1: ("ReceiveWithAuthorization", transferLike)
                default: ("CancelAuthorization", ["authorizer": key.address.checksummed, "nonce": nonce.hex])
                }
            let authorization = try Self.authorization(type: type, message: message)
            let signature = authorization.sign(with: key, in: domain)
            typed.append(["primaryType": type, "domain": domainJSON, "message": message, "signature": signature.hex])
            let digest = Keccak256.hash(nonce.bytes)
            hashes.append(["digest": digest.hex, "signature": key.sign(digest: digest).hex])
            let transaction = EIP1559Transaction(
                chainID: UInt64.random(in: 1...100_000), nonce: UInt64.random(in: 0...1000),
                maxPriorityFeePerGas: UInt256(UInt64.random(in: 0...10)),
                maxFeePerGas: UInt256(UInt64.random(in: 10...UInt64.max)), gasLimit: 21000 + UInt64(index), to: index % 5 == 0 ? nil : to,
                value: value,
                data: Array(nonce.bytes.prefix(index)),
                accessList: index % 4 == 0 ? [AccessListEntry(address: to, storageKeys: [nonce])] : [])
            transactions.append(transaction.signed(with: key).rawHex)
        }
        let request = try JSONSerialization.data(withJSONObject: ["typed": typed, "hashes": hashes, "transactions": transactions])
        let output = try await offPool { try EthAccountOracle.call(["recover"], input: request) }
        let recovered = try JSONDecoder().decode([String: [String]].self, from: output)
        for key in ["typed", "hashes", "transactions"] {
            let addresses = try #require(recovered[key]).map { try Address($0) }
            #expect(addresses == expected, "eth-account recovered other signers from Swift's \(key)")
        }
    }

    /// The oracle itself must be present on CI: this is what makes a missing venv a failure there.
    @Test func oracleIsAvailable() throws {
        if let reason = EthAccountOracle.unavailableReason {
            Issue.record("eth-account interop oracle unavailable: \(reason)")
        }
    }
}
