import Crypto
import Foundation

/// The `digest` a challenge may carry to bind the request body: `sha-256=<base64>` of the body's
/// bytes (RFC 9530 style, without the draft's `:…:` wrapper, as pympp and mppx emit it).
///
/// Only the issuing server recomputes it, from the body it receives again with the credential.
public enum BodyDigest {
    /// The digest of `body`.
    public static func of(_ body: some DataProtocol) -> String {
        "sha-256=" + Data(SHA256.hash(data: Data(body))).base64EncodedString()
    }

    /// Whether `digest` is the digest of `body`, compared in constant time (the digest comes from an
    /// unauthenticated credential until its challenge id has been checked).
    public static func matches(_ digest: String, body: some DataProtocol) -> Bool {
        ConstantTime.equal(of(body), digest)
    }
}
