/// The immutable parameters of an x402 batch-settlement channel (`x402BatchSettlement.ChannelConfig`).
///
/// Its EIP-712 hash under the contract's domain is the channel id, so the same parameters name a
/// different channel on another chain or deployment.
public struct BatchChannelConfig: Sendable, Hashable {
    public var payer: Address
    /// Signs vouchers with plain ECDSA; zero means the payer signs (EIP-1271 for a contract wallet).
    public var payerAuthorizer: Address
    public var receiver: Address
    /// Signs claim batches and cooperative refunds for the receiver.
    public var receiverAuthorizer: Address
    public var token: Address
    /// Seconds between `initiateWithdraw` and the earliest `finalizeWithdraw` (a `uint40`).
    public var withdrawDelay: UInt64
    public var salt: Hash32

    public init(
        payer: Address, payerAuthorizer: Address, receiver: Address, receiverAuthorizer: Address, token: Address, withdrawDelay: UInt64,
        salt: Hash32
    ) {
        self.payer = payer
        self.payerAuthorizer = payerAuthorizer
        self.receiver = receiver
        self.receiverAuthorizer = receiverAuthorizer
        self.token = token
        self.withdrawDelay = withdrawDelay
        self.salt = salt
    }

    /// The ABI tuple type `(address,address,address,address,address,uint40,bytes32)`.
    public static let abiType = ABIType.tuple([.address, .address, .address, .address, .address, .uint(bits: 40), .bytes32])

    /// The Solidity type string hashed into `CHANNEL_CONFIG_TYPEHASH`.
    public static let encodedType =
        "ChannelConfig(address payer,address payerAuthorizer,address receiver,address receiverAuthorizer,address token,uint40 withdrawDelay,bytes32 salt)"
    public static let typeHash = Keccak256.hash(encodedType)

    /// The config as an ABI tuple value.
    public var abiValue: ABIValue {
        .tuple([
            .address(payer), .address(payerAuthorizer), .address(receiver), .address(receiverAuthorizer), .address(token),
            .uint(UInt256(withdrawDelay)), .bytes32(salt),
        ])
    }

    /// Reads a config from its decoded ABI tuple; nil when the value has another shape.
    public init?(abiValue: ABIValue) {
        guard let m = abiValue.elements, m.count == 7, let payer = m[0].address, let payerAuthorizer = m[1].address,
            let receiver = m[2].address, let receiverAuthorizer = m[3].address, let token = m[4].address,
            let delay = m[5].uint?.uint64, let salt = m[6].bytes32
        else { return nil }
        self.init(
            payer: payer, payerAuthorizer: payerAuthorizer, receiver: receiver, receiverAuthorizer: receiverAuthorizer, token: token,
            withdrawDelay: delay, salt: salt)
    }

    /// `hashStruct(ChannelConfig)`.
    public var structHash: Hash32 { Keccak256.hash(ABI.encode([.bytes32(Self.typeHash)] + abiValue.elements!)) }

    /// The channel id: the EIP-712 digest of the config in the contract's domain.
    public func channelID(in domain: TokenDomain) -> Hash32 {
        EIP712.digest(domainSeparator: domain.separator, structHash: structHash)
    }
}
