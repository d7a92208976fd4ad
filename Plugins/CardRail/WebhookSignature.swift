import Crypto
import Foundation
import RailKit

/// The processor's webhook signature: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256>` over
/// `"<t>." + raw body`, keyed with the endpoint's whole `whsec_…` secret. Several `v1` may be
/// present (secret rotation); other schemes are ignored.
enum WebhookSignature {
    /// Checks `header` for `body`: a matching `v1` first, then a timestamp no older than `tolerance`.
    static func verify(header: String?, body: [UInt8], secret: String, tolerance: TimeInterval, now: Date) throws(RailError) {
        guard let header, !header.isEmpty else { throw RailError(.invalidSignature, "no Stripe-Signature header") }
        var timestamp: Int64?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) } else if pair[0] == "v1" { signatures.append(pair[1].lowercased()) }
        }
        guard let timestamp else { throw RailError(.invalidSignature, "Stripe-Signature has no timestamp") }
        guard !signatures.isEmpty else { throw RailError(.invalidSignature, "Stripe-Signature has no v1 signature") }
        var message = Array("\(timestamp).".utf8)
        message += body
        let expected = Data(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8))))
        guard signatures.contains(where: { Data(hex: $0).map { constantTimeEqual($0, expected) } ?? false }) else {
            throw RailError(.invalidSignature, "no v1 signature matches the payload")
        }
        guard Double(timestamp) >= now.timeIntervalSince1970 - tolerance else {
            throw RailError(.staleTimestamp, "signature timestamp \(timestamp) is older than \(Int(tolerance)) s")
        }
    }

    private static func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

extension Data {
    fileprivate init?(hex: String) {
        guard hex.utf8.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let h = Self.nibble(high), let l = Self.nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        self.init(bytes)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
