import Foundation
import HTTPTypes
import Hummingbird

/// An error the mock answers in Stripe's envelope: `{"error": {"type", "code", "message", "param", ...}}`.
///
/// The HTTP status and `type` decide which exception stripe-python raises (`CardError` for 402,
/// `IdempotencyError` for `idempotency_error`, `InvalidRequestError` for other 400/404s).
public struct StripeError: Error, Sendable, CustomStringConvertible {
    /// 400, 401, 402 (declines), 404, 409 (concurrent idempotent request) or 500.
    public var status: HTTPResponse.Status
    /// `invalid_request_error`, `card_error`, `idempotency_error` or `api_error`.
    public var type: String
    /// A machine code such as `card_declined`, `amount_too_small`, `parameter_unknown`.
    public var code: String?
    /// The issuer's reason on card declines: `insufficient_funds`, `generic_decline`, ...
    public var declineCode: String?
    /// For humans; not stable.
    public var message: String
    /// The request parameter at fault.
    public var param: String?
    /// Extra members of the envelope, e.g. `payment_intent` with the declined intent.
    public var extra: [String: JSON]
    /// Whether an idempotent request that failed this way stores its answer: validation failures do
    /// not (the request never began executing), business outcomes such as declines do.
    public var isStored: Bool

    public init(
        status: HTTPResponse.Status, type: String, code: String? = nil, declineCode: String? = nil, message: String,
        param: String? = nil, extra: [String: JSON] = [:], isStored: Bool = true
    ) {
        self.status = status
        self.type = type
        self.code = code
        self.declineCode = declineCode
        self.message = message
        self.param = param
        self.extra = extra
        self.isStored = isStored
    }

    public var description: String { "\(status.code) \(type)/\(code ?? "-"): \(message)" }

    /// The `error` envelope.
    public var json: JSON {
        var error: [String: JSON] = ["type": .string(type), "message": .string(message)]
        if let code {
            error["code"] = .string(code)
            error["doc_url"] = .string("https://stripe.com/docs/error-codes/\(code.replacingOccurrences(of: "_", with: "-"))")
        }
        if let declineCode { error["decline_code"] = .string(declineCode) }
        if let param { error["param"] = .string(param) }
        error.merge(extra) { _, new in new }
        return ["error": .object(error)]
    }

    static func invalidRequest(_ message: String, code: String? = nil, param: String? = nil, stored: Bool = false) -> StripeError {
        StripeError(status: .badRequest, type: "invalid_request_error", code: code, message: message, param: param, isStored: stored)
    }

    static func unknownParameter(_ name: String) -> StripeError {
        invalidRequest("Received unknown parameter: \(name)", code: "parameter_unknown", param: name)
    }

    static func missingParameter(_ name: String) -> StripeError {
        invalidRequest("Missing required param: \(name).", code: "parameter_missing", param: name)
    }

    static func invalidInteger(_ name: String) -> StripeError {
        invalidRequest("Invalid integer: \(name)", code: "parameter_invalid_integer", param: name)
    }

    static func invalidValue(_ name: String, _ message: String) -> StripeError {
        invalidRequest(message, code: "parameter_invalid_empty", param: name)
    }

    static func noSuch(_ kind: String, _ id: String, param: String = "id") -> StripeError {
        StripeError(
            status: .notFound, type: "invalid_request_error", code: "resource_missing", message: "No such \(kind): '\(id)'", param: param,
            isStored: true)
    }

    /// A business rule refused the request once it began executing; stored for idempotent replay.
    static func state(_ code: String, _ message: String, param: String? = nil, extra: [String: JSON] = [:]) -> StripeError {
        StripeError(status: .badRequest, type: "invalid_request_error", code: code, message: message, param: param, extra: extra)
    }

    static func unauthorized(_ message: String) -> StripeError {
        StripeError(status: .unauthorized, type: "invalid_request_error", message: message, isStored: false)
    }
}

extension HTTPResponse.Status {
    /// swift-http-types has no static for 402.
    static let paymentRequired = Self(code: 402, reasonPhrase: "Payment Required")
}
