import EVM

/// An error of the dev chain: a stable machine ``Code``, a human message and, for a revert, the
/// revert data the token contract returned.
///
/// Transaction pool rejections carry the message a geth node would send (`nonce too low`,
/// `insufficient funds for gas * price + value`…), so clients that match on them behave as they
/// would against a real node.
public struct DevChainError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, snake_case machine code.
    public struct Code: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        // Configuration.
        /// A configuration value cannot be used (duplicate token address, zero chain id…).
        public static let invalidConfiguration: Code = "invalid_configuration"

        // Arguments of a call.
        /// A parameter is missing or malformed.
        public static let invalidParams: Code = "invalid_params"
        /// The block (number, hash or tag) does not exist or its state is no longer retained.
        public static let unknownBlock: Code = "unknown_block"
        /// No token is deployed at the address.
        public static let unknownToken: Code = "unknown_token"
        /// No snapshot has the id.
        public static let unknownSnapshot: Code = "unknown_snapshot"

        // Transaction pool (eth_sendRawTransaction).
        /// The bytes are not a transaction the chain accepts (malformed, or not type 2).
        public static let invalidTransaction: Code = "invalid_transaction"
        /// The transaction's chain id is not the chain's.
        public static let wrongChainID: Code = "wrong_chain_id"
        /// No sender can be recovered from the signature (or it is high-s).
        public static let invalidSender: Code = "invalid_sender"
        public static let nonceTooLow: Code = "nonce_too_low"
        public static let nonceTooHigh: Code = "nonce_too_high"
        public static let insufficientFunds: Code = "insufficient_funds"
        public static let intrinsicGasTooLow: Code = "intrinsic_gas_too_low"
        public static let gasLimitExceeded: Code = "gas_limit_exceeded"
        public static let feeCapTooLow: Code = "fee_cap_too_low"
        public static let tipAboveFeeCap: Code = "tip_above_fee_cap"
        /// The pool already holds this very transaction.
        public static let alreadyKnown: Code = "already_known"
        /// Another transaction of the sender with the same nonce is pending and this one does not pay 10% more.
        public static let replacementUnderpriced: Code = "replacement_underpriced"
        /// The pool takes no more transactions of the sender for now (``DevChain/refuseTransactions(from:count:after:)``).
        public static let txPoolFull: Code = "txpool_full"
        /// Contract creation: the dev chain has native token contracts only.
        public static let contractCreationUnsupported: Code = "contract_creation_unsupported"

        // Tempo transaction pool.
        /// `valid_before` is not after the next block's timestamp.
        public static let transactionExpired: Code = "transaction_expired"
        /// `valid_after` is after the next block's timestamp.
        public static let transactionNotYetValid: Code = "transaction_not_yet_valid"
        /// An expiring nonce (`nonce_key` 2^256−1) already used, malformed (nonce ≠ 0, no
        /// `valid_before`) or with a window beyond the maximum.
        public static let invalidExpiringNonce: Code = "invalid_expiring_nonce"
        /// The fee token is not a TIP-20 deployed on the chain.
        public static let invalidFeeToken: Code = "invalid_fee_token"
        /// `eth_sendRawTransactionSync`: pooled but not mined before the timeout (EIP-7966 error 4).
        public static let syncTimeout: Code = "sync_timeout"

        // Execution.
        /// The call reverted; ``DevChainError/revertData`` holds what the contract returned.
        public static let executionReverted: Code = "execution_reverted"
        /// The call needs more gas than its `gas` field gives.
        public static let outOfGas: Code = "out_of_gas"
    }

    public var code: Code
    public var message: String
    /// For ``Code/executionReverted``: the ABI revert data (`Error(string)` for the token's `require`s).
    public var revertData: [UInt8]?

    public init(_ code: Code, _ message: String, revertData: [UInt8]? = nil) {
        self.code = code
        self.message = message
        self.revertData = revertData
    }

    /// The decoded revert reason of an ``Code/executionReverted`` error.
    public var revertReason: RevertReason? { revertData.map { RevertReason(data: $0) } }

    public var description: String { "\(code): \(message)" }
}
