import EVM
import Foundation
import Ledger
import Logging
import RailKit

/// The facilitator `settle serve` mounts for other x402 servers, as its JSON file says:
///
/// ```json
/// {"networks": [{"network": "eip155:8453", "rpc_url": "https://…",
///                "tokens": [{"address": "0x8335…", "name": "USD Coin", "version": "2", "decimals": 6, "asset": "usdc-base"}]}],
///  "signer_key_file": "/etc/settle/x402-signer.key",
///  "merchants": {"0xPayTo…": "merchant:acme"},
///  "access_tokens_env": "SETTLE_X402_FACILITATOR_TOKENS"}
/// ```
///
/// A network also serves x402's prepaid mode (`batch-settlement`) when it has a
/// `"batch_settlement"` object: the receiver authorizer's key (`receiver_authorizer_key_file` or
/// `receiver_authorizer_key_env`, as the signer's), and optionally the channels' `token` (default
/// the network's first). `/supported` then lists the kind with its `receiverAuthorizer`, and the
/// deposits, claims, sweeps and refunds it settles are booked (``X402BatchBookingFacilitator``).
///
/// Secrets never sit in it: the signer key comes from a file (`signer_key_file`, hex, owner-only
/// permissions) or an environment variable (`signer_key_env`), the callers' bearer tokens from an
/// environment variable (`access_tokens_env`, comma-separated) or a file (`access_tokens_file`, one
/// per line). A facilitator without tokens refuses every call, unless `"access": "open"`, which is
/// only accepted when the server listens on loopback.
public struct X402FacilitatorFile: Sendable, Decodable {
    public struct Network: Sendable, Decodable {
        public var network: String
        public var rpcURL: String
        public var tokens: [Token]
        /// Blocks deep a settlement must be before it is no longer followed (default 12).
        public var finalityBlocks: Int?
        /// The prepaid mode on this network; absent, only `exact` is served.
        public var batchSettlement: BatchSettlementSettings?

        enum CodingKeys: String, CodingKey {
            case network, tokens
            case rpcURL = "rpc_url"
            case finalityBlocks = "finality_blocks"
            case batchSettlement = "batch_settlement"
        }
    }

    /// A network's `batch-settlement`: the key that signs claim batches and refunds (never in the
    /// file itself), and the token of its channels.
    public struct BatchSettlementSettings: Sendable, Decodable {
        public var receiverAuthorizerKeyFile: String?
        public var receiverAuthorizerKeyEnv: String?
        /// The channels' token: one of the network's `tokens` (default the first).
        public var token: String?

        enum CodingKeys: String, CodingKey {
            case token
            case receiverAuthorizerKeyFile = "receiver_authorizer_key_file"
            case receiverAuthorizerKeyEnv = "receiver_authorizer_key_env"
        }
    }

    public struct Token: Sendable, Decodable {
        public var address: String
        public var name: String
        public var version: String
        public var decimals: Int
        public var asset: String
        public var code: String?
    }

    public var networks: [Network]
    public var signerKeyFile: String?
    public var signerKeyEnv: String?
    public var merchants: [String: String]
    public var accessTokensEnv: String?
    public var accessTokensFile: String?
    public var access: String?
    /// Where the routes are mounted (default `/x402/facilitator`).
    public var path: String?
    /// How long `/settle` waits for the receipt before answering `settlement_pending` (default 10).
    public var receiptTimeoutSeconds: Int?

    enum CodingKeys: String, CodingKey {
        case networks, merchants, access, path
        case signerKeyFile = "signer_key_file"
        case signerKeyEnv = "signer_key_env"
        case accessTokensEnv = "access_tokens_env"
        case accessTokensFile = "access_tokens_file"
        case receiptTimeoutSeconds = "receipt_timeout_seconds"
    }

    /// Reads and checks the file at `path`.
    public static func load(_ path: String) throws(X402FacilitatorFileError) -> X402FacilitatorFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw X402FacilitatorFileError(.unreadable, "cannot read \(path): \(error.localizedDescription)")
        }
        return try decode(data, name: path)
    }

    /// Decodes a facilitator file's contents; `name` says where they came from in errors.
    public static func decode(_ data: Data, name: String = "the facilitator file") throws(X402FacilitatorFileError) -> X402FacilitatorFile {
        do {
            return try JSONDecoder().decode(X402FacilitatorFile.self, from: data)
        } catch {
            throw X402FacilitatorFileError(.invalid, "\(name) is not a facilitator file: \(error)")
        }
    }

    /// What the file describes, ready to serve.
    public struct Built: Sendable {
        public var facilitator: NetworkFacilitators
        public var facilitators: [X402Facilitator]
        /// The networks' batch-settlement facilitators, whose transactions the worker follows.
        public var batchFacilitators: [X402BatchFacilitator]
        public var access: X402FacilitatorAccess
        public var path: String
    }

    /// Builds one facilitator per network over `ledger`.
    /// - Parameters:
    ///   - loopback: Whether the server listens on loopback only (the only place `"access": "open"` is allowed).
    ///   - environment: Where `*_env` keys are read.
    public func build(
        ledger: PostgresLedger, loopback: Bool, environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger
    ) throws(X402FacilitatorFileError) -> Built {
        guard !networks.isEmpty else { throw X402FacilitatorFileError(.invalid, "networks must name at least one network") }
        let signer = try signerKey(environment)
        var accounts: [String: AccountID] = [:]
        for (payTo, account) in merchants {
            guard let address = try? Address(payTo) else {
                throw X402FacilitatorFileError(.invalid, "merchants: \(payTo) is not an address")
            }
            guard let id = try? AccountID(account) else {
                throw X402FacilitatorFileError(.invalid, "merchants: \(account) is not an account id")
            }
            accounts[address.lowercased] = id
        }
        guard !accounts.isEmpty else {
            throw X402FacilitatorFileError(.invalid, "merchants must map at least one payTo address to its revenue account")
        }
        let receiptTimeout = receiptTimeoutSeconds ?? 10
        guard (1...600).contains(receiptTimeout) else { throw X402FacilitatorFileError(.invalid, "receipt_timeout_seconds must be 1-600") }
        var byNetwork: [String: any Facilitator] = [:]
        var facilitators: [X402Facilitator] = []
        var batchFacilitators: [X402BatchFacilitator] = []
        for network in networks {
            let parts = network.network.split(separator: ":")
            guard parts.count == 2, parts[0] == "eip155", let chainID = UInt64(parts[1]) else {
                throw X402FacilitatorFileError(.invalid, "network \(network.network) is not eip155:<chain id>")
            }
            guard byNetwork[network.network] == nil else {
                throw X402FacilitatorFileError(.invalid, "network \(network.network) is listed twice")
            }
            guard let url = URL(string: network.rpcURL), ["http", "https"].contains(url.scheme ?? "") else {
                throw X402FacilitatorFileError(.invalid, "\(network.network): rpc_url must be an http(s) URL")
            }
            var tokens: [X402Token] = []
            for token in network.tokens {
                guard let address = try? Address(token.address), let asset = try? AssetID(token.asset), (0...77).contains(token.decimals)
                else {
                    throw X402FacilitatorFileError(
                        .invalid, "\(network.network): token \(token.address) needs an address, an asset id and decimals 0-77")
                }
                tokens.append(
                    X402Token(
                        chainID: chainID, address: address, name: token.name, version: token.version, decimals: token.decimals,
                        assetID: asset,
                        code: token.code ?? "USDC"))
            }
            guard !tokens.isEmpty else {
                throw X402FacilitatorFileError(.invalid, "\(network.network): tokens must name at least one token")
            }
            let finality = network.finalityBlocks ?? 12
            guard (1...10_000).contains(finality) else {
                throw X402FacilitatorFileError(.invalid, "\(network.network): finality_blocks must be 1-10000")
            }
            let rpc = EthereumRPC(url: network.rpcURL, logger: logger)
            let facilitator = X402Facilitator(
                configuration: X402FacilitatorConfiguration(
                    tokens: tokens, signer: signer, receiptTimeout: .seconds(receiptTimeout), merchantAccounts: accounts,
                    railID: "x402-" + network.network.replacingOccurrences(of: ":", with: "-"), finality: UInt64(finality)),
                rpc: rpc, store: X402SettlementStore(client: ledger.client, logger: logger),
                booker: RailBooker(ledger: ledger), logger: logger)
            if let settings = network.batchSettlement {
                let token: X402Token
                if let named = settings.token {
                    guard let address = try? Address(named), let found = tokens.first(where: { $0.address == address }) else {
                        throw X402FacilitatorFileError(.invalid, "\(network.network): batch_settlement.token must be one of its tokens")
                    }
                    token = found
                } else {
                    token = tokens[0]
                }
                let batch = X402BatchFacilitator(
                    configuration: X402BatchConfiguration(
                        token: token, signer: signer,
                        receiverAuthorizer: try key(
                            file: settings.receiverAuthorizerKeyFile, env: settings.receiverAuthorizerKeyEnv, environment,
                            what: "\(network.network): the receiver authorizer key", keys: "receiver_authorizer_key"),
                        merchantAccounts: accounts, receiptTimeout: .seconds(receiptTimeout), finality: UInt64(finality)),
                    rpc: rpc, transactions: X402BatchTransactionStore(client: ledger.client, logger: logger), logger: logger,
                    sender: facilitator.sender)
                batchFacilitators.append(batch)
                byNetwork[network.network] = SchemeFacilitators([
                    "exact": facilitator, X402Facilitator.upto: facilitator,
                    X402BatchFacilitator.scheme: X402BatchBookingFacilitator(
                        facilitator: batch, store: X402BatchStore(ledger: ledger, token: token, logger: logger), logger: logger),
                ])
            } else {
                byNetwork[network.network] = facilitator
            }
            facilitators.append(facilitator)
        }
        return Built(
            facilitator: NetworkFacilitators(byNetwork), facilitators: facilitators, batchFacilitators: batchFacilitators,
            access: try access(environment, loopback: loopback),
            path: path ?? "/x402/facilitator")
    }

    private func signerKey(_ environment: [String: String]) throws(X402FacilitatorFileError) -> PrivateKey {
        try key(file: signerKeyFile, env: signerKeyEnv, environment, what: "the signer key", keys: "signer_key")
    }

    /// A key from the file or the environment variable its settings name (`<keys>_file`,
    /// `<keys>_env`), never from the facilitator file itself.
    private func key(file: String?, env: String?, _ environment: [String: String], what: String, keys: String)
        throws(X402FacilitatorFileError) -> PrivateKey
    {
        let text: String
        switch (file, env) {
        case (let file?, nil):
            guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw X402FacilitatorFileError(.unreadable, "cannot read \(what) file \(file)")
            }
            text = contents
        case (nil, let name?):
            guard let value = environment[name], !value.isEmpty else {
                throw X402FacilitatorFileError(.invalid, "\(what) variable \(name) is not set")
            }
            text = value
        default:
            throw X402FacilitatorFileError(.invalid, "give exactly one of \(keys)_file and \(keys)_env (never the key itself)")
        }
        guard let key = try? PrivateKey(hex: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw X402FacilitatorFileError(.invalid, "\(what) is not a 32-byte hex secp256k1 key")
        }
        return key
    }

    private func access(_ environment: [String: String], loopback: Bool) throws(X402FacilitatorFileError) -> X402FacilitatorAccess {
        if access == "open" {
            guard loopback else {
                throw X402FacilitatorFileError(.invalid, "\"access\": \"open\" is only allowed when the server listens on loopback")
            }
            return .open
        }
        guard access == nil else { throw X402FacilitatorFileError(.invalid, "access is \"open\" or absent") }
        var tokens: [String] = []
        if let name = accessTokensEnv {
            tokens += (environment[name] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let file = accessTokensFile {
            guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw X402FacilitatorFileError(.unreadable, "cannot read the access tokens file \(file)")
            }
            tokens += contents.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        }
        tokens.removeAll { $0.isEmpty }
        guard tokens.allSatisfy({ $0.utf8.count >= 32 }) else {
            throw X402FacilitatorFileError(.invalid, "every access token must be at least 32 characters")
        }
        return .bearer(tokens: tokens)
    }
}

/// A facilitator file that cannot be served.
public struct X402FacilitatorFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case unreadable
            case invalid
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file (or a file it names) cannot be read.
        public static let unreadable = Code(.unreadable)
        /// A value is missing, malformed or not allowed.
        public static let invalid = Code(.invalid)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "x402 facilitator file \(code): \(message)" }
}
