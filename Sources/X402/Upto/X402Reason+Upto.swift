import EVM

/// The reason codes of x402's `upto` scheme and its Permit2 checks (Python SDK 2.25,
/// `mechanisms/evm/constants.py`).
extension X402Reason {
    public static let uptoInvalidScheme: Self = "invalid_upto_evm_scheme"
    public static let uptoNetworkMismatch: Self = "invalid_upto_evm_network_mismatch"
    public static let uptoSettlementExceedsAmount: Self = "invalid_upto_evm_payload_settlement_exceeds_amount"
    public static let uptoFacilitatorMismatch: Self = "upto_facilitator_mismatch"
    public static let uptoAmountExceedsPermitted: Self = "upto_amount_exceeds_permitted"
    public static let uptoUnauthorizedFacilitator: Self = "upto_unauthorized_facilitator"
    public static let uptoTransactionFailed: Self = "invalid_upto_evm_transaction_failed"
    public static let uptoFailedToGetNetworkConfig: Self = "invalid_upto_evm_failed_to_get_network_config"
    public static let permit2InvalidSpender: Self = "invalid_permit2_spender"
    public static let permit2RecipientMismatch: Self = "invalid_permit2_recipient_mismatch"
    public static let permit2DeadlineExpired: Self = "permit2_deadline_expired"
    public static let permit2NotYetValid: Self = "permit2_not_yet_valid"
    public static let permit2AmountMismatch: Self = "permit2_amount_mismatch"
    public static let permit2TokenMismatch: Self = "permit2_token_mismatch"
    public static let permit2InvalidSignature: Self = "invalid_permit2_signature"
    public static let permit2AllowanceRequired: Self = "permit2_allowance_required"
    public static let permit2InsufficientBalance: Self = "permit2_insufficient_balance"
    public static let permit2InvalidNonce: Self = "permit2_invalid_nonce"
    public static let permit2PayloadFormat: Self = "invalid_permit2_payload_format"
    public static let permit2PaymentTooEarly: Self = "permit2_payment_too_early"

    /// The `upto` spelling of a reason the shared EVM checks give in `exact`'s words: the checks
    /// are the same (window, signature, nonce, balance, transfer), the codes are the scheme's.
    var upto: X402Reason {
        switch self {
        case .validBefore: .permit2DeadlineExpired
        case .validAfter: .permit2NotYetValid
        case .invalidSignature: .permit2InvalidSignature
        case .nonceAlreadyUsed: .permit2InvalidNonce
        case .insufficientBalance: .permit2InsufficientBalance
        case .recipientMismatch: .permit2RecipientMismatch
        case .valueMismatch: .permit2AmountMismatch
        case .transactionFailed, .simulationFailed, .transferEventMismatch: .uptoTransactionFailed
        case .networkMismatch: .uptoNetworkMismatch
        default: self
        }
    }

    /// The reason for a failed simulation of the upto proxy's `settle`, from the revert's custom
    /// error (the proxy's or Permit2's), as the SDK maps them.
    static func upto(forRevert error: any Error) -> X402Reason {
        let revert = (error as? EVMError)?.rpc?.revert
        switch revert {
        case .custom(let selector, _):
            return uptoRevertReasons.first { ABI.selector($0.error) == selector }?.reason ?? .uptoTransactionFailed
        case .error(let message) where message == "TRANSFER_FROM_FAILED":
            // The token refused Permit2's transferFrom: no allowance to Permit2, or no balance.
            return .permit2AllowanceRequired
        default:
            return .uptoTransactionFailed
        }
    }

    private static let uptoRevertReasons: [(error: String, reason: X402Reason)] = [
        ("AmountExceedsPermitted()", .uptoAmountExceedsPermitted), ("UnauthorizedFacilitator()", .uptoUnauthorizedFacilitator),
        ("PaymentTooEarly()", .permit2PaymentTooEarly), ("InvalidNonce()", .permit2InvalidNonce),
        ("InvalidSignature()", .permit2InvalidSignature), ("InvalidSigner()", .permit2InvalidSignature),
        ("InvalidSignatureLength()", .permit2InvalidSignature), ("SignatureExpired(uint256)", .permit2DeadlineExpired),
        ("InvalidAmount(uint256)", .uptoAmountExceedsPermitted),
    ]
}
