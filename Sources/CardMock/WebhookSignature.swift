import Crypto
import Foundation

/// The `Stripe-Signature` header: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
///
/// The key is the whole `whsec_…` string as UTF-8, as stripe-python's `WebhookSignature` computes it.
public enum WebhookSignature {
    /// The header value for `body` signed at `timestamp` with `secret`.
    public static func header(secret: String, timestamp: Int64, body: Data) -> String {
        "t=\(timestamp),v1=\(signature(secret: secret, timestamp: timestamp, body: body))"
    }

    /// The hex `v1` signature.
    public static func signature(secret: String, timestamp: Int64, body: Data) -> String {
        var message = Data("\(timestamp).".utf8)
        message.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }
}
