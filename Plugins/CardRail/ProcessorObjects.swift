import Foundation

/// The parts of the processor's objects the card rail reads. Unknown fields are ignored: the
/// processor adds fields without notice.
struct ProcessorEvent: Decodable, Sendable {
    struct Data: Decodable, Sendable {
        var object: ProcessorObject
        var previousAttributes: [String: PreviousValue]?

        enum CodingKeys: String, CodingKey {
            case object
            case previousAttributes = "previous_attributes"
        }
    }

    /// Only `status` is read from previous attributes.
    struct PreviousValue: Decodable, Sendable {
        var string: String?
        init(from decoder: any Decoder) throws {
            string = try? decoder.singleValueContainer().decode(String.self)
        }
    }

    var id: String
    var type: String
    var created: Int64
    var data: Data
}

/// Any object the rail reads, with the fields of all kinds it needs (each optional; a balance has
/// no id).
struct ProcessorObject: Decodable, Sendable {
    var id: String
    var object: String
    var amount: Int64?
    var amountCapturable: Int64?
    var amountReceived: Int64?
    var amountCaptured: Int64?
    var currency: String?
    var status: String?
    var captureMethod: String?
    var captured: Bool?
    var metadata: [String: String]?
    var paymentIntent: String?
    var charge: String?
    var balanceTransaction: String?
    var failureBalanceTransaction: String?
    var balanceTransactions: [BalanceTransaction]?
    var latestCharge: String?
    var created: Int64?
    var arrivalDate: Int64?

    enum CodingKeys: String, CodingKey {
        case id, object, amount, currency, status, captured, metadata, charge, created
        case amountCapturable = "amount_capturable"
        case amountReceived = "amount_received"
        case amountCaptured = "amount_captured"
        case captureMethod = "capture_method"
        case paymentIntent = "payment_intent"
        case balanceTransaction = "balance_transaction"
        case failureBalanceTransaction = "failure_balance_transaction"
        case balanceTransactions = "balance_transactions"
        case latestCharge = "latest_charge"
        case arrivalDate = "arrival_date"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
        object = try c.decode(String.self, forKey: .object)
        amount = try c.decodeIfPresent(Int64.self, forKey: .amount)
        amountCapturable = try c.decodeIfPresent(Int64.self, forKey: .amountCapturable)
        amountReceived = try c.decodeIfPresent(Int64.self, forKey: .amountReceived)
        amountCaptured = try c.decodeIfPresent(Int64.self, forKey: .amountCaptured)
        currency = try c.decodeIfPresent(String.self, forKey: .currency)
        status = try c.decodeIfPresent(String.self, forKey: .status)
        captureMethod = try c.decodeIfPresent(String.self, forKey: .captureMethod)
        captured = try c.decodeIfPresent(Bool.self, forKey: .captured)
        metadata = try c.decodeIfPresent([String: String].self, forKey: .metadata)
        created = try c.decodeIfPresent(Int64.self, forKey: .created)
        arrivalDate = try c.decodeIfPresent(Int64.self, forKey: .arrivalDate)
        // Expandable fields: an id, or the object itself when expanded.
        paymentIntent = try c.decodeExpandable(.paymentIntent)
        charge = try c.decodeExpandable(.charge)
        balanceTransaction = try c.decodeExpandable(.balanceTransaction)
        failureBalanceTransaction = try c.decodeExpandable(.failureBalanceTransaction)
        latestCharge = try c.decodeExpandable(.latestCharge)
        balanceTransactions = try c.decodeIfPresent([BalanceTransaction].self, forKey: .balanceTransactions)
    }
}

/// A balance transaction: the processor's record of one money movement, and the only source of
/// fees and nets the rail books.
struct BalanceTransaction: Decodable, Sendable, Hashable {
    var id: String
    var amount: Int64
    var fee: Int64
    var net: Int64
    var currency: String
    var type: String
    var status: String
    var created: Int64
    var availableOn: Int64
    var source: String?

    enum CodingKeys: String, CodingKey {
        case id, amount, fee, net, currency, type, status, created, source
        case availableOn = "available_on"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        amount = try c.decode(Int64.self, forKey: .amount)
        fee = try c.decode(Int64.self, forKey: .fee)
        net = try c.decode(Int64.self, forKey: .net)
        currency = try c.decode(String.self, forKey: .currency)
        type = try c.decode(String.self, forKey: .type)
        status = try c.decode(String.self, forKey: .status)
        created = try c.decode(Int64.self, forKey: .created)
        availableOn = try c.decode(Int64.self, forKey: .availableOn)
        source = try c.decodeExpandable(.source)
    }
}

/// A page of a list.
struct ProcessorList<Item: Decodable & Sendable>: Decodable, Sendable {
    var data: [Item]
    var hasMore: Bool

    enum CodingKeys: String, CodingKey {
        case data
        case hasMore = "has_more"
    }
}

/// The processor's error envelope.
struct ProcessorErrorBody: Decodable {
    struct Detail: Decodable {
        var type: String?
        var code: String?
        var declineCode: String?
        var message: String?

        enum CodingKeys: String, CodingKey {
            case type, code, message
            case declineCode = "decline_code"
        }
    }
    var error: Detail
}

extension KeyedDecodingContainer {
    /// An expandable field: the id string, or the id of the expanded object.
    fileprivate func decodeExpandable(_ key: Key) throws -> String? {
        if let id = try? decodeIfPresent(String.self, forKey: key) { return id }
        return try? decodeIfPresent(ExpandedObject.self, forKey: key)?.id
    }
}

/// An expanded object, of which only the id is read.
private struct ExpandedObject: Decodable {
    var id: String
}
