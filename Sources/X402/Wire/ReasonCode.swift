/// Why a payment was refused, as x402 facilitators and servers spell it (`invalidReason`,
/// `errorReason`).
///
/// The set is open: facilitators add codes (`settlement_pending` came with SDK 2.20), so a code
/// this type has no static for is kept verbatim, never mapped to a generic one.
public struct X402Reason: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    // Spec §9.
    public static let insufficientFunds: Self = "insufficient_funds"
    public static let validAfter: Self = "invalid_exact_evm_payload_authorization_valid_after"
    public static let validBefore: Self = "invalid_exact_evm_payload_authorization_valid_before"
    public static let valueMismatch: Self = "invalid_exact_evm_payload_authorization_value_mismatch"
    public static let invalidSignature: Self = "invalid_exact_evm_payload_signature"
    public static let recipientMismatch: Self = "invalid_exact_evm_payload_recipient_mismatch"
    public static let invalidNetwork: Self = "invalid_network"
    public static let invalidPayload: Self = "invalid_payload"
    public static let invalidPaymentRequirements: Self = "invalid_payment_requirements"
    public static let invalidScheme: Self = "invalid_scheme"
    public static let unsupportedScheme: Self = "unsupported_scheme"
    public static let invalidX402Version: Self = "invalid_x402_version"
    public static let invalidTransactionState: Self = "invalid_transaction_state"
    public static let unexpectedVerifyError: Self = "unexpected_verify_error"
    public static let unexpectedSettleError: Self = "unexpected_settle_error"
    // Python SDK 2.25, EVM exact.
    public static let networkMismatch: Self = "network_mismatch"
    public static let missingEIP712Domain: Self = "missing_eip712_domain"
    public static let nonceAlreadyUsed: Self = "invalid_exact_evm_nonce_already_used"
    public static let insufficientBalance: Self = "invalid_exact_evm_insufficient_balance"
    public static let failedToGetNetworkConfig: Self = "invalid_exact_evm_failed_to_get_network_config"
    public static let failedToGetAssetInfo: Self = "invalid_exact_evm_failed_to_get_asset_info"
    public static let transactionFailed: Self = "transaction_failed"
    public static let settlementPending: Self = "settlement_pending"
    public static let tokenNameMismatch: Self = "invalid_exact_evm_token_name_mismatch"
    public static let tokenVersionMismatch: Self = "invalid_exact_evm_token_version_mismatch"
    public static let simulationFailed: Self = "invalid_exact_evm_transaction_simulation_failed"
    public static let transferEventMismatch: Self = "invalid_exact_evm_transfer_event_mismatch"
    // Resource-server side.
    public static let paymentRequired: Self = "payment_required"
    public static let paymentIdentifierConflict: Self = "payment_identifier_conflict"
    public static let paymentInProgress: Self = "payment_in_progress"
    /// Settled, but the record that it was served could not be written: the content was held back
    /// and a retry of the same payment serves it.
    public static let servedNotRecorded: Self = "payment_served_not_recorded"
}
