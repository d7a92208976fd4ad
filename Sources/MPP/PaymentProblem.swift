import Foundation

/// A failed payment as an RFC 9457 problem document (`application/problem+json`), with the
/// status and problem type MPP prescribes (spec §1.1 and §1.6; pympp `mpp/errors.py`).
///
/// ``Code`` is the problem's slug: the last segment of its type URI
/// `https://paymentauth.org/problems/<slug>`, which clients dispatch on.
public struct PaymentProblem: Error, CustomStringConvertible, Sendable, Equatable {
    /// A problem type of the `Payment` scheme.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case paymentRequired = "payment-required"
            case paymentInsufficient = "payment-insufficient"
            case paymentExpired = "payment-expired"
            case verificationFailed = "verification-failed"
            case credentialReplayed = "credential-replayed"
            case methodUnsupported = "method-unsupported"
            case malformedCredential = "malformed-credential"
            case invalidChallenge = "invalid-challenge"
            case invalidPayload = "invalid-payload"
            case badRequest = "bad-request"
            case paymentActionRequired = "payment-action-required"
            case internalPaymentError = "internal-payment-error"
            case sessionInvalidSignature = "session/invalid-signature"
            case sessionSignerMismatch = "session/signer-mismatch"
            case sessionAmountExceedsDeposit = "session/amount-exceeds-deposit"
            case sessionDeltaTooSmall = "session/delta-too-small"
            case sessionChannelNotFound = "session/channel-not-found"
            case sessionChannelFinalized = "session/channel-finalized"
            case sessionChallengeNotFound = "session/challenge-not-found"
            case sessionInsufficientBalance = "session/insufficient-balance"
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// No credential came (402, with fresh challenges).
        public static let paymentRequired = Code(.paymentRequired)
        /// The payment is below the price (402).
        public static let paymentInsufficient = Code(.paymentInsufficient)
        /// The challenge's `expires` has passed (402).
        public static let paymentExpired = Code(.paymentExpired)
        /// The proof does not verify (402).
        public static let verificationFailed = Code(.verificationFailed)
        /// A valid proof already consumed, or that policy denies: **403 without a challenge**, so an
        /// auto-paying client does not pay again. Its problem type is `verification-failed`, as pympp's
        /// `CredentialReplayedError`; only the status tells it apart.
        public static let credentialReplayed = Code(.credentialReplayed)
        /// The credential's method is not offered here (400).
        public static let methodUnsupported = Code(.methodUnsupported)
        /// The credential does not decode: base64url, JSON or a missing member (402).
        public static let malformedCredential = Code(.malformedCredential)
        /// The echoed challenge was not issued here, or not for this route (402).
        public static let invalidChallenge = Code(.invalidChallenge)
        /// The method-specific payload is invalid (402).
        public static let invalidPayload = Code(.invalidPayload)
        /// The request itself is unusable (400).
        public static let badRequest = Code(.badRequest)
        /// The payment needs an action of the payer, such as 3-D Secure (402).
        public static let paymentActionRequired = Code(.paymentActionRequired)
        /// Infrastructure failed where the payment may have landed (500, never a retryable 402).
        public static let internalPaymentError = Code(.internalPaymentError)

        /// A session voucher's signature does not recover (malformed, or `s` in the upper half) (402).
        public static let sessionInvalidSignature = Code(.sessionInvalidSignature)
        /// A session voucher recovers to someone other than the channel's signer on chain (402).
        public static let sessionSignerMismatch = Code(.sessionSignerMismatch)
        /// A session voucher is above the channel's deposit (402).
        public static let sessionAmountExceedsDeposit = Code(.sessionAmountExceedsDeposit)
        /// A session voucher raises the cumulative amount by less than `minVoucherDelta`, or lowers it (402).
        public static let sessionDeltaTooSmall = Code(.sessionDeltaTooSmall)
        /// The channel does not exist on the escrow, or the server does not know it: **410**, no challenge.
        public static let sessionChannelNotFound = Code(.sessionChannelNotFound)
        /// The channel is closed, or its payer asked to close it: **410**, no challenge.
        public static let sessionChannelFinalized = Code(.sessionChannelFinalized)
        /// A session action names a challenge the server cannot find (402).
        public static let sessionChallengeNotFound = Code(.sessionChallengeNotFound)
        /// The accepted vouchers do not cover the request; the problem carries `requiredTopUp` when
        /// the deposit itself is too small (402).
        public static let sessionInsufficientBalance = Code(.sessionInsufficientBalance)

        /// Every code, for tables and tests.
        public static let all: [Code] = [
            .paymentRequired, .paymentInsufficient, .paymentExpired, .verificationFailed, .credentialReplayed,
            .methodUnsupported, .malformedCredential, .invalidChallenge, .invalidPayload, .badRequest,
            .paymentActionRequired, .internalPaymentError, .sessionInvalidSignature, .sessionSignerMismatch,
            .sessionAmountExceedsDeposit, .sessionDeltaTooSmall, .sessionChannelNotFound, .sessionChannelFinalized,
            .sessionChallengeNotFound, .sessionInsufficientBalance,
        ]

        /// The problem type's slug, for example `invalid-challenge`.
        public var slug: String { self == .credentialReplayed ? Code.verificationFailed.slug : base.rawValue }

        /// The stable machine code: the slug, except `credential-replayed`, which shares its slug
        /// with ``verificationFailed`` and must stay distinguishable in code.
        public var description: String { base.rawValue }

        /// The HTTP status the spec gives this problem.
        public var status: Int {
            switch base {
            case .methodUnsupported, .badRequest: 400
            case .credentialReplayed: 403
            case .sessionChannelNotFound, .sessionChannelFinalized: 410
            case .internalPaymentError: 500
            default: 402
            }
        }

        /// Whether the response carries fresh `WWW-Authenticate` challenges: only 402s do; a 403 or
        /// 500 must not invite another payment.
        public var carriesChallenge: Bool { status == 402 }

        /// The problem type URI, `https://paymentauth.org/problems/<slug>`.
        public var type: String { "https://paymentauth.org/problems/" + slug }

        /// The problem's title, as pympp spells it.
        public var title: String {
            switch base {
            case .credentialReplayed: "Verification Failed"
            case .internalPaymentError: "Internal Payment Error"
            default:
                slug.split(separator: "/").last!.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(
                    separator: " ")
            }
        }
    }

    /// The problem type.
    public var code: Code
    /// A human-readable explanation for this occurrence. Never contains credential data.
    public var detail: String
    /// The id of the challenge the failed credential answered, when there was one.
    public var challengeId: String?
    /// What the client should do, when there is advice.
    public var hint: String?
    /// For ``Code/sessionInsufficientBalance``: how much the channel's deposit must grow, in base
    /// units (a decimal string, as MPP amounts travel).
    public var requiredTopUp: String?

    /// Creates a problem.
    public init(_ code: Code, detail: String, challengeId: String? = nil, hint: String? = nil, requiredTopUp: String? = nil) {
        self.code = code
        self.detail = detail
        self.challengeId = challengeId
        self.hint = hint
        self.requiredTopUp = requiredTopUp
    }

    /// The HTTP status of the response.
    public var status: Int { code.status }

    /// The problem document: `type`, `title`, `status`, `detail`[, `challengeId`][, `hint`][, `requiredTopUp`].
    public var document: JSONValue {
        var members: [String: JSONValue] = [
            "type": .string(code.type), "title": .string(code.title), "status": .integer(Int64(code.status)),
            "detail": .string(detail),
        ]
        if let challengeId { members["challengeId"] = .string(challengeId) }
        if let hint { members["hint"] = .string(hint) }
        if let requiredTopUp { members["requiredTopUp"] = .string(requiredTopUp) }
        return .object(members)
    }

    /// The body of the response, `application/problem+json`.
    public var body: Data {
        // Only strings and a small integer: canonicalization cannot fail.
        (try? JCS.canonicalize(document)) ?? Data()
    }

    /// The `Content-Type` of ``body``.
    public static let contentType = "application/problem+json"

    public var description: String { "\(code) (\(code.status)): \(detail)" }
}
