import EVM

/// A transaction the chain accepted: the signed transaction, its hash, its sender and its fields
/// in one shape for both accepted types.
public struct DevChainTransaction: Sendable, Hashable {
    /// The fields common to the accepted transaction types.
    ///
    /// A legacy transaction's `gasPrice` is both its fee cap and its tip, as EIP-1559 defines.
    public struct Fields: Sendable, Hashable {
        /// 2 for EIP-1559, 0 for legacy, 0x76 for Tempo.
        public var type: UInt8
        public var chainID: UInt64
        public var nonce: UInt64
        public var maxPriorityFeePerGas: UInt256
        public var maxFeePerGas: UInt256
        public var gasLimit: UInt64
        public var to: Address?
        public var value: UInt256
        public var data: [UInt8]
        public var accessList: [AccessListEntry]
        /// The batch of a Tempo transaction; one call (`to`, `value`, `data`) for the other types.
        public var calls: [TempoCall]
        /// Tempo's nonce lane (0 for the other types).
        public var nonceKey: UInt256 = .zero
        public var validBefore: UInt64?
        public var validAfter: UInt64?

        /// The fields of a signed transaction.
        ///
        /// - Throws: ``DevChainError/Code/invalidTransaction`` for a legacy transaction without an
        ///   EIP-155 chain id (geth refuses those over RPC too).
        init(_ signed: SignedTransaction) throws(DevChainError) {
            switch signed {
            case .eip1559(let s):
                let t = s.transaction
                self.init(
                    type: EIP1559Transaction.typeByte, chainID: t.chainID, nonce: t.nonce, maxPriorityFeePerGas: t.maxPriorityFeePerGas,
                    maxFeePerGas: t.maxFeePerGas, gasLimit: t.gasLimit, to: t.to, value: t.value, data: t.data, accessList: t.accessList)
            case .tempo(let s):
                let t = s.transaction
                self.init(
                    type: TempoTransaction.typeByte, chainID: t.chainID, nonce: t.nonce, maxPriorityFeePerGas: t.maxPriorityFeePerGas,
                    maxFeePerGas: t.maxFeePerGas, gasLimit: t.gasLimit, to: t.calls[0].to, value: t.calls[0].value, data: t.calls[0].input,
                    accessList: t.accessList)
                calls = t.calls
                nonceKey = t.nonceKey
                validBefore = t.validBefore
                validAfter = t.validAfter
            case .legacy(let s):
                let t = s.transaction
                guard let chainID = t.chainID else {
                    throw DevChainError(.invalidTransaction, "only replay-protected (EIP-155) transactions allowed over RPC")
                }
                self.init(
                    type: 0, chainID: chainID, nonce: t.nonce, maxPriorityFeePerGas: t.gasPrice, maxFeePerGas: t.gasPrice,
                    gasLimit: t.gasLimit, to: t.to, value: t.value, data: t.data, accessList: [])
            }
        }

        init(
            type: UInt8, chainID: UInt64, nonce: UInt64, maxPriorityFeePerGas: UInt256, maxFeePerGas: UInt256, gasLimit: UInt64,
            to: Address?, value: UInt256, data: [UInt8], accessList: [AccessListEntry]
        ) {
            self.type = type
            self.chainID = chainID
            self.nonce = nonce
            self.maxPriorityFeePerGas = maxPriorityFeePerGas
            self.maxFeePerGas = maxFeePerGas
            self.gasLimit = gasLimit
            self.to = to
            self.value = value
            self.data = data
            self.accessList = accessList
            self.calls = [TempoCall(to: to, value: value, input: data)]
        }
    }

    /// The transaction as signed.
    public let signed: SignedTransaction
    /// keccak256 of the raw bytes.
    public let hash: Hash32
    /// The address the signature recovers to.
    public let sender: Address
    public let transaction: Fields
    /// Tempo: the account that pays the fees when it is not the sender (a sponsor).
    public let feePayer: Address?
    /// Tempo: the TIP-20 token the fees are paid in.
    public let feeToken: Address?
    /// Tempo: the replay key of an expiring nonce, keccak256(sender preimage ‖ sender).
    let expiringNonceHash: Hash32?

    init(
        signed: SignedTransaction, hash: Hash32, sender: Address, fields: Fields, feePayer: Address? = nil, feeToken: Address? = nil,
        expiringNonceHash: Hash32? = nil
    ) {
        self.signed = signed
        self.hash = hash
        self.sender = sender
        self.transaction = fields
        self.feePayer = feePayer
        self.feeToken = feeToken
        self.expiringNonceHash = expiringNonceHash
    }

    /// Who pays the fees.
    public var payer: Address { feePayer ?? sender }

    /// The signature's `r`, `s` and `v` as the JSON-RPC transaction object shows them (`v` is the
    /// y parity for typed transactions, EIP-155's `chainId * 2 + 35 + parity` for legacy ones).
    var signatureParts: (r: Hash32, s: Hash32, v: UInt256, yParity: UInt8) {
        switch signed {
        case .eip1559(let s): (s.signature.r, s.signature.s, UInt256(UInt64(s.signature.recoveryID)), s.signature.recoveryID)
        case .legacy(let s): (s.signature.r, s.signature.s, s.v, s.signature.recoveryID)
        case .tempo(let s):
            if case .secp256k1(let signature) = s.senderSignature {
                (signature.r, signature.s, UInt256(UInt64(signature.recoveryID)), signature.recoveryID)
            } else {
                (.zero, .zero, .zero, 0)
            }
        }
    }

    /// The price per gas the sender pays in a block of `baseFee`: min(maxFee, baseFee + tip).
    func effectiveGasPrice(baseFee: UInt256) -> UInt256 {
        let (sum, overflow) = baseFee.addingReportingOverflow(transaction.maxPriorityFeePerGas)
        return overflow ? transaction.maxFeePerGas : min(transaction.maxFeePerGas, sum)
    }
}
