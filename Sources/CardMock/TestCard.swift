/// What a test card does when charged (docs.stripe.com/testing), keyed by PAN and magic id.
struct TestCard: Sendable, Hashable, Codable {
    enum Outcome: String, Sendable, Hashable, Codable {
        /// Approved; funds pending until `available_on`.
        case approve
        /// Approved; funds available at once (4000000000000077).
        case approveAvailable
        /// Declined at charge time with ``TestCard/declineCode``.
        case decline
        /// Needs 3-D Secure on session; `authentication_required` off session.
        case threeDSecure
        /// Approved, then a fraudulent dispute opens (4000000000000259).
        case dispute
    }

    var number: String
    var brand: String
    var outcome: Outcome
    /// The error `code` of a decline: `card_declined`, `expired_card`, `incorrect_cvc`, `processing_error`.
    var errorCode: String?
    var declineCode: String?

    var last4: String { String(number.suffix(4)) }

    var declineMessage: String {
        switch errorCode {
        case "expired_card": "Your card has expired."
        case "incorrect_cvc": "Your card's security code is incorrect."
        case "processing_error": "An error occurred while processing your card. Try again in a little bit."
        default:
            switch declineCode {
            case "insufficient_funds": "Your card has insufficient funds."
            case "lost_card", "stolen_card": "Your card has been declined."
            default: "Your card was declined."
            }
        }
    }

    static func card(_ number: String, _ outcome: Outcome = .approve, code: String? = nil, decline: String? = nil) -> TestCard {
        let brand: String =
            switch number.first {
            case "5", "2": "mastercard"
            case "3": "amex"
            case "6": "discover"
            default: "visa"
            }
        return TestCard(number: number, brand: brand, outcome: outcome, errorCode: code, declineCode: decline)
    }

    /// The test PANs of docs.stripe.com/testing that the mock knows; other Luhn-valid numbers approve.
    static let byNumber: [String: TestCard] = {
        let cards: [TestCard] = [
            .card("4242424242424242"),
            .card("4000056655665556"),
            .card("5555555555554444"),
            .card("378282246310005"),
            .card("4000000000000077", .approveAvailable),
            .card("4000000000000002", .decline, code: "card_declined", decline: "generic_decline"),
            .card("4000000000009995", .decline, code: "card_declined", decline: "insufficient_funds"),
            .card("4000000000009987", .decline, code: "card_declined", decline: "lost_card"),
            .card("4000000000009979", .decline, code: "card_declined", decline: "stolen_card"),
            .card("4000000000000069", .decline, code: "expired_card", decline: "expired_card"),
            .card("4000000000000127", .decline, code: "incorrect_cvc", decline: "incorrect_cvc"),
            .card("4000000000000119", .decline, code: "processing_error", decline: "processing_error"),
            .card("4000000000000341", .decline, code: "card_declined", decline: "generic_decline"),
            .card("4000002760003184", .threeDSecure),
            .card("4000000000003220", .threeDSecure),
            .card("4000002500003155", .threeDSecure),
            .card("4000000000000259", .dispute),
        ]
        return Dictionary(uniqueKeysWithValues: cards.map { ($0.number, $0) })
    }()

    /// Magic PaymentMethod ids (and `tok_` tokens) accepted wherever a `pm_` id is.
    static let byMagicID: [String: String] = [
        "pm_card_visa": "4242424242424242", "tok_visa": "4242424242424242",
        "pm_card_visa_debit": "4000056655665556", "tok_visa_debit": "4000056655665556",
        "pm_card_mastercard": "5555555555554444", "tok_mastercard": "5555555555554444",
        "pm_card_amex": "378282246310005", "tok_amex": "378282246310005",
        "pm_card_bypassPending": "4000000000000077", "tok_bypassPending": "4000000000000077",
        "pm_card_visa_chargeDeclined": "4000000000000002", "tok_chargeDeclined": "4000000000000002",
        "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
        "tok_chargeDeclinedInsufficientFunds": "4000000000009995",
        "pm_card_visa_chargeDeclinedLostCard": "4000000000009987", "tok_chargeDeclinedLostCard": "4000000000009987",
        "pm_card_visa_chargeDeclinedStolenCard": "4000000000009979", "tok_chargeDeclinedStolenCard": "4000000000009979",
        "pm_card_chargeDeclinedExpiredCard": "4000000000000069", "tok_chargeDeclinedExpiredCard": "4000000000000069",
        "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127", "tok_chargeDeclinedIncorrectCvc": "4000000000000127",
        "pm_card_chargeDeclinedProcessingError": "4000000000000119",
        "tok_chargeDeclinedProcessingError": "4000000000000119",
        "pm_card_chargeCustomerFail": "4000000000000341", "tok_chargeCustomerFail": "4000000000000341",
        "pm_card_threeDSecure2Required": "4000000000003220", "tok_threeDSecure2Required": "4000000000003220",
        "pm_card_authenticationRequired": "4000002760003184", "tok_authenticationRequired": "4000002760003184",
        "pm_card_authenticationRequiredOnSetup": "4000002500003155",
        "pm_card_createDispute": "4000000000000259", "tok_createDispute": "4000000000000259",
    ]

    /// The card for a PAN.
    /// - Throws: 402 `incorrect_number` when the number fails the Luhn check (4242424242424241).
    static func forNumber(_ raw: String) throws(StripeError) -> TestCard {
        let number = raw.filter { !$0.isWhitespace && $0 != "-" }
        if let card = byNumber[number] { return card }
        guard (12...19).contains(number.count), number.allSatisfy(\.isNumber), luhn(number) else {
            throw StripeError(
                status: .paymentRequired, type: "card_error", code: "incorrect_number", message: "Your card number is incorrect.",
                param: "card[number]", isStored: true)
        }
        return .card(number)
    }

    static func luhn(_ number: String) -> Bool {
        var sum = 0
        for (index, char) in number.reversed().enumerated() {
            guard var digit = char.wholeNumberValue else { return false }
            if index % 2 == 1 {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
        }
        return sum % 10 == 0
    }
}
