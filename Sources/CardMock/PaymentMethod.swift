import Crypto
import Foundation

/// A card PaymentMethod (`pm_…`): the test card it stands for and its public card details.
struct PaymentMethod: Sendable, Codable, Hashable {
    var id: String
    var created: Int64
    var card: TestCard
    var expMonth: Int64
    var expYear: Int64
    var customer: String?
    var metadata: [String: String]

    var json: JSON {
        [
            "id": .string(id), "object": "payment_method", "type": "card", "created": .int(created), "livemode": false,
            "customer": .from(customer), "metadata": .from(metadata),
            "billing_details": ["address": nil, "email": nil, "name": nil, "phone": nil],
            "card": [
                "brand": .string(card.brand), "last4": .string(card.last4), "exp_month": .int(expMonth), "exp_year": .int(expYear),
                "funding": "credit", "country": "US",
                "fingerprint": .string(fingerprint),
                "checks": ["address_line1_check": nil, "address_postal_code_check": nil, "cvc_check": "pass"],
                "three_d_secure_usage": ["supported": true], "wallet": nil,
            ],
        ]
    }

    /// Stable per card number (not per process, unlike `hashValue`), so it survives restarts.
    var fingerprint: String {
        "fp_" + SHA256.hash(data: Data(card.number.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// `payment_method_details` of a charge made with this method.
    var chargeDetails: JSON {
        [
            "type": "card",
            "card": [
                "brand": .string(card.brand), "last4": .string(card.last4), "exp_month": .int(expMonth), "exp_year": .int(expYear),
                "funding": "credit", "country": "US", "network": .string(card.brand),
                "checks": ["address_line1_check": nil, "address_postal_code_check": nil, "cvc_check": "pass"],
            ],
        ]
    }
}
