/// An error of the EVM toolkit: a stable machine ``Code`` plus a human message.
///
/// Codes are part of the API (rails map them to their own rejection reasons), so they never change
/// once published. New codes may be added: switch over them with a default.
public struct EVMError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, snake_case machine code.
    public struct Code: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        /// The machine code, e.g. `invalid_hex`.
        public let rawValue: String

        public init(_ rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
        public var description: String { rawValue }

        // Parsing of primitive values.
        public static let invalidHex: Code = "invalid_hex"
        public static let invalidLength: Code = "invalid_length"
        public static let invalidChecksum: Code = "invalid_checksum"
        public static let invalidNumber: Code = "invalid_number"
        public static let overflow: Code = "overflow"

        // Keys and signatures.
        public static let invalidPrivateKey: Code = "invalid_private_key"
        public static let invalidPublicKey: Code = "invalid_public_key"
        public static let invalidSignature: Code = "invalid_signature"
        /// The signature's `s` is in the upper half of the curve order, which EIP-2 (and OpenZeppelin's
        /// `ECDSA.recover`, used by FiatToken) rejects as malleable.
        public static let highS: Code = "high_s_signature"
        public static let invalidRecoveryID: Code = "invalid_recovery_id"
        /// No public key can be recovered from the signature and digest.
        public static let recoveryFailed: Code = "recovery_failed"

        // Encodings.
        public static let invalidABI: Code = "invalid_abi"
        public static let invalidRLP: Code = "invalid_rlp"
        public static let invalidLog: Code = "invalid_log"
        public static let invalidTypedData: Code = "invalid_typed_data"
        public static let invalidTransaction: Code = "invalid_transaction"

        // JSON-RPC.
        /// The node answered with a JSON-RPC error object; see ``EVMError/rpc``.
        public static let rpcError: Code = "rpc_error"
        /// The node did not answer within the per-call timeout, on every attempt.
        public static let rpcTimeout: Code = "rpc_timeout"
        /// The connection failed or the node answered with an HTTP error status, on every attempt.
        public static let rpcTransport: Code = "rpc_transport"
        /// The node answered with something that is not the JSON-RPC response expected.
        public static let rpcInvalidResponse: Code = "rpc_invalid_response"
    }

    /// What a node said in a JSON-RPC error object.
    public struct RPCDetails: Sendable, Hashable {
        /// The JSON-RPC error code (`-32000` for most execution errors, `3` for reverts on geth).
        public var code: Int
        /// The node's message, e.g. `execution reverted: FiatTokenV2: invalid signature`.
        public var message: String
        /// The `data` member: hex revert data when the node returns some, otherwise its JSON text.
        public var data: String?
        /// The decoded revert data when `data` is hex that decodes as ABI revert data.
        public var revert: RevertReason?

        public init(code: Int, message: String, data: String? = nil, revert: RevertReason? = nil) {
            self.code = code
            self.message = message
            self.data = data
            self.revert = revert
        }
    }

    /// The machine code.
    public var code: Code
    /// A message for humans; not stable.
    public var message: String
    /// The JSON-RPC error object, for ``Code/rpcError``.
    public var rpc: RPCDetails?

    public init(_ code: Code, _ message: String, rpc: RPCDetails? = nil) {
        self.code = code
        self.message = message
        self.rpc = rpc
    }

    public var description: String { "\(code): \(message)" }
}

extension EVMError.Code {
    /// A Tempo signature scheme other than secp256k1 (P256, WebAuthn, keychain, multisig), whose
    /// sender this toolkit does not verify.
    public static let unsupportedSignature: EVMError.Code = "unsupported_signature"
}
