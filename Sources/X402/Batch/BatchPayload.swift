import EVM
import Ledger

/// A batch-settlement payload: what the official client sends (`deposit`, `voucher`, `refund`) and
/// what a resource server sends its facilitator's `/settle` (`refund` with its claims and nonce,
/// `claim`, `settle`), read from the JSON of ``PaymentPayload/payload``.
enum BatchPayload: Sendable {
    /// A cumulative voucher: the payer (authorizer) lets the receiver claim up to `maxClaimable`.
    struct Voucher: Sendable, Hashable {
        var channelID: Hash32
        var maxClaimable: EVM.UInt256
        var signature: [UInt8]
    }

    /// Money into a channel, through one of the contract's two collectors.
    struct Deposit: Sendable, Hashable {
        enum Authorization: Sendable, Hashable {
            /// An ERC-3009 `receiveWithAuthorization` to the ERC-3009 collector; `from`, `to`,
            /// `value` and the nonce follow from the channel and the amount.
            case erc3009(validAfter: EVM.UInt256, validBefore: EVM.UInt256, salt: EVM.UInt256, signature: [UInt8])
            /// A Permit2 `PermitWitnessTransferFrom` to the Permit2 collector, its witness the channel
            /// (`permit2Authorization`).
            case permit2(DepositPermit, signature: [UInt8])
        }

        var amount: EVM.UInt256
        var authorization: Authorization

        /// Unique to this deposit of this channel: its booking's id.
        func reference(channelID: Hash32) -> Hash32 {
            switch authorization {
            case .erc3009(_, _, let salt, _): BatchSettlement.erc3009DepositNonce(channelID: channelID, salt: salt)
            case .permit2(let permit, _): Keccak256.hash(ABI.encode([.bytes32(channelID), .address(permit.from), .uint(permit.nonce)]))
            }
        }

        /// The last moment it can be mined: the authorization's `validBefore` or the permit's deadline.
        var expiry: EVM.UInt256 {
            switch authorization {
            case .erc3009(_, let validBefore, _, _): validBefore
            case .permit2(let permit, _): permit.deadline
            }
        }

        /// The `assetTransferMethod` this deposit uses, as a route's `extra` names it.
        var method: String {
            switch authorization {
            case .erc3009: "eip3009"
            case .permit2: "permit2"
            }
        }
    }

    /// One row of `claimWithSignature`.
    struct Claim: Sendable, Hashable {
        var config: BatchChannelConfig
        var maxClaimable: EVM.UInt256
        var signature: [UInt8]
        var totalClaimed: EVM.UInt256
    }

    /// What the resource server adds to a client's refund before `/settle`.
    struct RefundOrder: Sendable, Hashable {
        var amount: EVM.UInt256
        var nonce: EVM.UInt256
        var claims: [Claim]
        var refundSignature: [UInt8]?
        var claimSignature: [UInt8]?
    }

    case deposit(BatchChannelConfig, Voucher, Deposit)
    case voucher(BatchChannelConfig, Voucher)
    /// `amount`: what the client asks back (nil: everything unused); `order`: set by the server.
    case refund(BatchChannelConfig, Voucher, amount: EVM.UInt256?, order: RefundOrder?)
    case claim([Claim], signature: [UInt8]?)
    case settle(receiver: Address, token: Address)

    /// Why a payload does not parse: the scheme's reason for its type.
    struct Malformed: Error, Sendable {
        var reason: X402Reason
        var message: String
    }

    static func parse(_ json: JSONValue) throws(Malformed) -> BatchPayload {
        let type = json["type"]?.stringValue
        let reason: X402Reason =
            switch type {
            case "deposit": .batchDepositPayload
            case "voucher": .batchVoucherPayload
            case "refund": .batchRefundPayload
            case "claim": .batchClaimPayload
            default: .batchPayloadType
            }
        do {
            switch type {
            case "deposit":
                return .deposit(try config(json["channelConfig"]), try voucher(json["voucher"]), try deposit(json["deposit"]))
            case "voucher":
                return .voucher(try config(json["channelConfig"]), try voucher(json["voucher"]))
            case "refund":
                let amount = try json["amount"].map { try uint($0) }
                var order: RefundOrder?
                if let nonce = json["refundNonce"], case .array(let rows)? = json["claims"] {
                    order = RefundOrder(
                        amount: try amount ?? uint(.string("0")), nonce: try uint(nonce), claims: try rows.map(claim),
                        refundSignature: try json["refundAuthorizerSignature"].map { try bytes($0) },
                        claimSignature: try json["claimAuthorizerSignature"].map { try bytes($0) })
                }
                return .refund(try config(json["channelConfig"]), try voucher(json["voucher"]), amount: amount, order: order)
            case "claim":
                guard case .array(let rows)? = json["claims"] else { throw Malformed(reason: reason, message: "claims is required") }
                return .claim(try rows.map(claim), signature: try json["claimAuthorizerSignature"].map { try bytes($0) })
            case "settle":
                return .settle(receiver: try address(json["receiver"]), token: try address(json["token"]))
            default:
                throw Malformed(reason: reason, message: "unknown batch-settlement payload type \(type ?? "(none)")")
            }
        } catch let error as Malformed {
            throw error
        } catch {
            throw Malformed(reason: reason, message: "\(error)")
        }
    }

    // MARK: Fields

    struct FieldError: Error, CustomStringConvertible {
        var description: String
    }

    static func config(_ json: JSONValue?) throws -> BatchChannelConfig {
        guard let json else { throw FieldError(description: "channelConfig is required") }
        let delay = try uint(json["withdrawDelay"])
        guard let seconds = delay.uint64, seconds < 1 << 40 else { throw FieldError(description: "withdrawDelay is not a uint40") }
        return BatchChannelConfig(
            payer: try address(json["payer"]), payerAuthorizer: try address(json["payerAuthorizer"]),
            receiver: try address(json["receiver"]),
            receiverAuthorizer: try address(json["receiverAuthorizer"]), token: try address(json["token"]), withdrawDelay: seconds,
            salt: try Hash32(hex: try string(json["salt"], "salt")))
    }

    static func voucher(_ json: JSONValue?) throws -> Voucher {
        guard let json else { throw FieldError(description: "voucher is required") }
        let amount = try uint(json["maxClaimableAmount"])
        guard amount <= BatchSettlement.maxAmount else { throw FieldError(description: "maxClaimableAmount is not a uint128") }
        return Voucher(
            channelID: try Hash32(hex: try string(json["channelId"], "channelId")), maxClaimable: amount,
            signature: try bytes(json["signature"]))
    }

    static func deposit(_ json: JSONValue?) throws -> Deposit {
        guard let json else { throw FieldError(description: "deposit is required") }
        let amount = try uint(json["amount"])
        guard amount > .zero, amount <= BatchSettlement.maxAmount else {
            throw FieldError(description: "deposit amount is not a positive uint128")
        }
        if let authorization = json["authorization"]?["erc3009Authorization"] {
            return Deposit(
                amount: amount,
                authorization: .erc3009(
                    validAfter: try uint(authorization["validAfter"]), validBefore: try uint(authorization["validBefore"]),
                    salt: try uint(authorization["salt"]), signature: try bytes(authorization["signature"])))
        }
        if let permit = json["authorization"]?["permit2Authorization"] {
            return Deposit(
                amount: amount,
                authorization: .permit2(
                    DepositPermit(
                        from: try address(permit["from"]), token: try address(permit["permitted"]?["token"]),
                        amount: try uint(permit["permitted"]?["amount"]), spender: try address(permit["spender"]),
                        nonce: try uint(permit["nonce"]), deadline: try uint(permit["deadline"]),
                        channelID: try Hash32(hex: try string(permit["witness"]?["channelId"], "witness.channelId"))),
                    signature: try bytes(permit["signature"])))
        }
        throw Malformed(
            reason: .batchERC3009AuthorizationRequired,
            message: "a deposit carries an erc3009Authorization or a permit2Authorization")
    }

    static func claim(_ json: JSONValue) throws -> Claim {
        Claim(
            config: try config(json["voucher"]?["channel"]), maxClaimable: try uint(json["voucher"]?["maxClaimableAmount"]),
            signature: try bytes(json["signature"]), totalClaimed: try uint(json["totalClaimed"]))
    }

    static func string(_ json: JSONValue?, _ name: String) throws -> String {
        guard let text = json?.stringValue else { throw FieldError(description: "\(name) must be a string") }
        return text
    }

    static func address(_ json: JSONValue?) throws -> Address {
        try Address(try string(json, "address"))
    }

    static func bytes(_ json: JSONValue?) throws -> [UInt8] {
        try Hex.decode(try string(json, "signature"))
    }

    /// A decimal string or JSON number; `0x` hex for salts.
    static func uint(_ json: JSONValue?) throws -> EVM.UInt256 {
        let text: String
        switch json {
        case .string(let s)?: text = s
        case .number(let n)?: text = n
        default: throw FieldError(description: "an unsigned integer is required")
        }
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return try EVM.UInt256(hex: text) }
        return try EVM.UInt256(decimal: text)
    }
}
