/// The scheme payload of x402's `upto` on EVM: a Permit2 `PermitWitnessTransferFrom` of at most
/// `permitted.amount`, signed by `from` for the upto proxy, with the witness binding the recipient,
/// the settling facilitator and the start of the window. Every number is a decimal string.
public struct UptoPermit2Payload: Sendable, Hashable, Codable {
    public struct TokenPermissions: Sendable, Hashable, Codable {
        public var token: String
        public var amount: String

        public init(token: String, amount: String) {
            self.token = token
            self.amount = amount
        }
    }

    public struct Witness: Sendable, Hashable, Codable {
        public var to: String
        public var facilitator: String
        public var validAfter: String

        public init(to: String, facilitator: String, validAfter: String) {
            self.to = to
            self.facilitator = facilitator
            self.validAfter = validAfter
        }
    }

    public struct Authorization: Sendable, Hashable, Codable {
        public var from: String
        public var permitted: TokenPermissions
        public var spender: String
        /// A Permit2 unordered nonce (uint256, decimal).
        public var nonce: String
        public var deadline: String
        public var witness: Witness

        public init(from: String, permitted: TokenPermissions, spender: String, nonce: String, deadline: String, witness: Witness) {
            self.from = from
            self.permitted = permitted
            self.spender = spender
            self.nonce = nonce
            self.deadline = deadline
            self.witness = witness
        }
    }

    public var signature: String
    public var permit2Authorization: Authorization

    public init(signature: String, permit2Authorization: Authorization) {
        self.signature = signature
        self.permit2Authorization = permit2Authorization
    }
}
