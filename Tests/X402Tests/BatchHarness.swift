import DevChain
import EVM
import Foundation
import Hummingbird
import Ledger
import Paywall
import PostgresNIO

@testable import X402

/// A batch-settlement route on ``X402Harness``'s chain and database: `/metered` at `price`, paid
/// with `batch-settlement` through Settle's own facilitator, plus `/metered-fails` (500 after
/// payment), and payloads signed in Swift to make bad ones.
struct BatchHarness {
    static let signer = TestAccounts.privateKeys[8]

    let h: X402Harness
    let configuration: X402BatchConfiguration
    private(set) var server: X402BatchServer
    let price: EVM.UInt256
    let minDeposit: EVM.UInt256
    let depositMethod: X402BatchConfiguration.DepositMethod

    /// - Parameters:
    ///   - clock: the facilitator's Unix seconds (a test moves it past a withdrawal's deadline).
    ///   - transactions: where the facilitator stores its transactions to follow them.
    init(
        _ h: X402Harness, price: EVM.UInt256 = 1000, minDeposit: EVM.UInt256 = 10_000,
        clock: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) },
        transactions: X402BatchTransactionStore? = nil, depositMethod: X402BatchConfiguration.DepositMethod = .erc3009
    ) async throws {
        self.h = h
        self.price = price
        self.minDeposit = minDeposit
        self.depositMethod = depositMethod
        configuration = X402BatchConfiguration(
            token: X402Harness.token, signer: Self.signer, receiverAuthorizer: PrivateKey.random(),
            merchantAccounts: [h.payTo.lowercased: h.merchant], clock: clock)
        let facilitator = X402BatchFacilitator(
            configuration: configuration, rpc: h.rpc, transactions: transactions, logger: X402Harness.logger)
        let store = X402BatchStore(ledger: h.ledger, token: X402Harness.token, logger: X402Harness.logger)
        try await store.prepare()
        server = X402BatchServer(facilitator: facilitator, store: store, logger: X402Harness.logger)
    }

    /// Another server of the same merchant on the same database and chain: a replica behind a
    /// load balancer, with its own process state.
    func replica() -> BatchHarness {
        var replica = self
        replica.server = X402BatchServer(
            facilitator: X402BatchFacilitator(configuration: configuration, rpc: h.rpc, logger: X402Harness.logger),
            store: X402BatchStore(ledger: h.ledger, token: X402Harness.token, logger: X402Harness.logger), logger: X402Harness.logger)
        return replica
    }

    var requirements: PaymentRequirements {
        configuration.requirements(
            amount: price.description, payTo: h.payTo, minDeposit: minDeposit.description, depositMethod: depositMethod)
    }

    var domain: TokenDomain { configuration.domain }

    /// Serves `/metered` and `/metered-fails`; returns the base URL.
    func start() async throws -> String {
        let router = Router(context: BasicRequestContext.self)
        let routes = [
            X402Route(path: "/metered", methods: [.get], accepts: [requirements]),
            X402Route(path: "/metered-fails", methods: [.get], accepts: [requirements]),
        ]
        let paid = X402Server.routes(
            on: router, configuration: X402ServerConfiguration(routes: routes), facilitator: h.facilitator,
            store: X402ResponseStore(client: h.ledger.client, logger: X402Harness.logger), batch: server)
        paid.get("/metered") { _, _ in "metered content" }
        paid.get("/metered-fails") { _, _ -> Response in throw HTTPError(.internalServerError) }
        return try await h.serve(router)
    }

    // MARK: Payloads

    /// The channel of `payer` to the route's receiver, or with fields replaced to make a bad one.
    func config(
        payer: PrivateKey, receiver: Address? = nil, receiverAuthorizer: Address? = nil, token: Address? = nil, withdrawDelay: UInt64? = nil
    ) -> BatchChannelConfig {
        BatchChannelConfig(
            payer: payer.address, payerAuthorizer: payer.address, receiver: receiver ?? h.payTo,
            receiverAuthorizer: receiverAuthorizer ?? configuration.receiverAuthorizer.address, token: token ?? X402Harness.tokenAddress,
            withdrawDelay: withdrawDelay ?? configuration.withdrawDelay, salt: .zero)
    }

    func voucherJSON(_ config: BatchChannelConfig, _ maxClaimable: EVM.UInt256, key: PrivateKey, channelID: Hash32? = nil) -> JSONValue {
        X402BatchClient.voucherJSON(config, maxClaimable, key: key, domain: domain, channelID: channelID)
    }

    static func configJSON(_ config: BatchChannelConfig) -> JSONValue { X402BatchClient.configJSON(config) }

    /// A voucher payload for `maxClaimable`.
    func voucher(_ config: BatchChannelConfig, _ maxClaimable: EVM.UInt256, key: PrivateKey, channelID: Hash32? = nil) -> PaymentPayload {
        X402BatchClient.voucher(config, maxClaimable, key: key, requirements: requirements, domain: domain, channelID: channelID)
    }

    /// A deposit of `amount` through the ERC-3009 collector (or `collector`, to make a bad one),
    /// signed by `signer` (the payer by default), with the first voucher.
    func deposit(
        _ config: BatchChannelConfig, amount: EVM.UInt256, key: PrivateKey, maxClaimable: EVM.UInt256? = nil,
        collector: Address = BatchSettlement.erc3009DepositCollector, signer: PrivateKey? = nil, channelID: Hash32? = nil
    ) -> PaymentPayload {
        X402BatchClient.deposit(
            config, amount: amount, maxClaimable: maxClaimable ?? price, key: key, requirements: requirements, domain: domain,
            tokenDomain: X402Harness.token.domain, collector: collector, signer: signer, channelID: channelID)
    }

    /// A deposit of `amount` through the Permit2 collector, with the first voucher; the other
    /// parameters make a bad one (another spender, signer, permitted amount, witness, or a
    /// deadline `deadlineIn` seconds from now).
    func permit2Deposit(
        _ config: BatchChannelConfig, amount: EVM.UInt256, key: PrivateKey, spender: Address = BatchSettlement.permit2DepositCollector,
        signer: PrivateKey? = nil, permitted: EVM.UInt256? = nil, deadlineIn: Int64 = 120, witness: Hash32? = nil
    ) -> PaymentPayload {
        let id = config.channelID(in: domain)
        let permit = DepositPermit(
            from: config.payer, token: X402Harness.tokenAddress, amount: permitted ?? amount, spender: spender,
            nonce: EVM.UInt256(UInt64.random(in: 1...UInt64.max)),
            deadline: EVM.UInt256(UInt64(Int64(Date().timeIntervalSince1970) + deadlineIn)), channelID: witness ?? id)
        let signature = (signer ?? key).sign(digest: permit.digest(chainID: X402Harness.token.chainID))
        return PaymentPayload(
            accepted: requirements,
            payload: .object([
                "type": .string("deposit"), "channelConfig": Self.configJSON(config),
                "voucher": voucherJSON(config, price, key: key, channelID: id),
                "deposit": .object([
                    "amount": .string(amount.description),
                    "authorization": .object([
                        "permit2Authorization": .object([
                            "from": .string(permit.from.checksummed),
                            "permitted": .object([
                                "token": .string(permit.token.checksummed), "amount": .string(permit.amount.description),
                            ]),
                            "spender": .string(permit.spender.checksummed), "nonce": .string(permit.nonce.description),
                            "deadline": .string(permit.deadline.description),
                            "witness": .object(["channelId": .string(permit.channelID.hex)]),
                            "signature": .string(signature.hex),
                        ])
                    ]),
                ]),
            ]))
    }

    /// The payer starts leaving the channel with `amount` (`initiateWithdraw`, sent by the payer,
    /// who is given the ether for it).
    func initiateWithdraw(_ config: BatchChannelConfig, amount: EVM.UInt256, payer: PrivateKey) async throws -> Bool {
        let _: RPCValue = try await h.rpc.request(
            "devchain_fund",
            [.object(["address": .string(payer.address.lowercased), "ether": .quantity(EVM.UInt256(1_000_000_000_000_000_000))])])
        let call = ABI.encodeCall("initiateWithdraw(\(BatchChannelConfig.abiType),uint128)", [config.abiValue, .uint(amount)])
        let fee = try await h.rpc.gasPrice().multipliedReportingOverflow(by: 2).partialValue
        let transaction = EIP1559Transaction(
            chainID: X402Harness.token.chainID, nonce: try await h.rpc.transactionCount(payer.address), maxPriorityFeePerGas: 1,
            maxFeePerGas: fee, gasLimit: 500_000, to: BatchSettlement.address, data: call
        ).signed(with: payer)
        return try await h.rpc.transactionReceipt(try await h.rpc.sendRawTransaction(transaction.rawBytes))?.succeeded == true
    }

    // MARK: Ledger

    func balance(_ account: AccountID) async throws -> (debits: Ledger.UInt256, credits: Ledger.UInt256) {
        do {
            let b = try await h.ledger.balance(of: account)
            return (b.debitsPosted, b.creditsPosted)
        } catch  where error.code == .accountNotFound {
            return (.zero, .zero)
        }
    }

    func channelRow(_ id: Hash32) async throws -> BatchChannelRecord? {
        try await server.store.channel(id)
    }

    /// How many transfers have ids starting with `prefix` and name `channel` (or `receiver`) in their metadata.
    func transfers(prefix: String, mentioning value: String) async throws -> Int {
        let rows = try await h.ledger.client.query(
            """
            select count(*)::int from settle.transfers
            where id like \(prefix + "%") and (metadata->>'channel' = \(value) or metadata->>'receiver' = \(value))
            """, logger: X402Harness.logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    /// The sum of the charges booked on a channel (its transfers to the merchant).
    func chargesBooked(_ id: Hash32) async throws -> Ledger.UInt256 {
        Ledger.UInt256(decimal: try await server.store.chargesBooked(id).description) ?? .zero
    }
}

extension JSONValue {
    var int: Int? { if case .number(let n) = self { Int(n) } else { nil } }
    var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
}
