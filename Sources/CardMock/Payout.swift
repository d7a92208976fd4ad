/// A payout (`po_…`), automatic (swept on the daily schedule) or manual (card.md §1.7).
struct Payout: Sendable, Codable, Hashable {
    var id: String
    var created: Int64
    var amount: Int64
    var currency: String
    var status: String
    var automatic: Bool
    var arrivalDate: Int64
    var method: String
    var balanceTransaction: String
    var failureBalanceTransaction: String?
    var failureCode: String?
    var failureMessage: String?
    var reconciliationStatus: String
    var description: String?
    var statementDescriptor: String?
    var metadata: [String: String]

    var json: JSON {
        [
            "id": .string(id), "object": "payout", "created": .int(created), "amount": .int(amount), "currency": .string(currency),
            "status": .string(status), "automatic": .bool(automatic), "arrival_date": .int(arrivalDate), "method": .string(method),
            "type": "bank_account", "balance_transaction": .string(balanceTransaction),
            "failure_balance_transaction": .from(failureBalanceTransaction), "failure_code": .from(failureCode),
            "failure_message": .from(failureMessage), "reconciliation_status": .string(reconciliationStatus),
            "description": .from(description), "statement_descriptor": .from(statementDescriptor), "metadata": .from(metadata),
            "destination": "ba_mock", "source_type": "card", "livemode": false,
        ]
    }
}
