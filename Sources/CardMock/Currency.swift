/// The currencies the mock accepts and their minimum charge amounts (docs.stripe.com/currencies,
/// "Minimum and maximum charge amounts"), in minor units.
enum Currency {
    static let minimumCharge: [String: Int64] = [
        "usd": 50, "aud": 50, "brl": 50, "cad": 50, "chf": 50, "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400,
        "inr": 50, "jpy": 50, "mxn": 1000, "nok": 300, "nzd": 50, "pln": 200, "sek": 300, "sgd": 50,
    ]

    /// Currencies without minor units: the minimum is written without a decimal point.
    static let zeroDecimal: Set<String> = ["jpy"]

    /// "Amount must be at least $0.50 usd".
    static func minimumMessage(_ currency: String) -> String {
        let minimum = minimumCharge[currency] ?? 50
        let amount =
            zeroDecimal.contains(currency)
            ? "\(minimum)" : "\(minimum / 100).\(String(minimum % 100).leftPadded(2))"
        let symbol = currency == "usd" ? "$" : ""
        return "Amount must be at least \(symbol)\(amount) \(currency)"
    }
}
