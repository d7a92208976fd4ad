import EVM
import MPP

/// The terms a credential is checked against: the route's own request (never the client's copy),
/// read back into the transfers it asks for.
struct TempoChargeTerms: Sendable {
    /// One transfer the payment must make.
    struct Leg: Sendable {
        var recipient: Address
        var amount: UInt256
        /// nil: any memo or none (a split without one); `attribution`: bound to this challenge.
        var memo: Memo?
    }

    enum Memo: Sendable, Hashable {
        case attribution
        case exact(Hash32)
    }

    var charge: TempoCharge
    var legs: [Leg]
    let challengeID: String

    static let transferWithMemo = ABI.selector("transferWithMemo(address,uint256,bytes32)")
    static let transfer = ABI.selector("transfer(address,uint256)")

    init(request: [String: JSONValue], challengeID: String) throws(PaymentProblem) {
        self.challengeID = challengeID
        func field(_ name: String, in object: [String: JSONValue]) throws(PaymentProblem) -> String {
            guard let value = object[name]?.stringValue else {
                throw PaymentProblem(.internalPaymentError, detail: "The route's tempo/charge terms lack \(name).")
            }
            return value
        }
        do {
            let amount = try UInt256(decimal: try field("amount", in: request))
            let currency = try Address(try field("currency", in: request))
            let recipient = try Address(try field("recipient", in: request))
            let details = request["methodDetails"]?.objectValue ?? [:]
            var splits: [TempoCharge.Split] = []
            if case .array(let items) = details["splits"] ?? .array([]) {
                for item in items {
                    guard let object = item.objectValue else { continue }
                    let memo = try object["memo"]?.stringValue.map { (text) throws(EVMError) in try Hash32(hex: text) }
                    splits.append(
                        TempoCharge.Split(
                            amount: try UInt256(decimal: try field("amount", in: object)),
                            recipient: try Address(try field("recipient", in: object)), memo: memo))
                }
            }
            charge = TempoCharge(
                amount: amount, currency: currency, recipient: recipient, feePayer: details["feePayer"] == .bool(true), splits: splits,
                externalId: request["externalId"]?.stringValue)
        } catch let problem as PaymentProblem {
            throw problem
        } catch {
            throw PaymentProblem(.internalPaymentError, detail: "The route's tempo/charge terms do not parse: \(error).")
        }
        legs =
            [Leg(recipient: charge.recipient, amount: charge.primaryAmount, memo: .attribution)]
            + charge.splits.map { Leg(recipient: $0.recipient, amount: $0.amount, memo: $0.memo.map(Memo.exact)) }
    }

    /// Why the calls are not exactly the offer's transfers, or nil when they are.
    func matchCalls(_ calls: [TempoCall], realm: String) -> String? {
        guard calls.count == legs.count else {
            return "The transaction must make exactly the offer's \(legs.count) transfer(s) and nothing else."
        }
        var open = Array(legs.indices)
        for call in calls {
            guard call.to == charge.currency, call.value.isZero, let decoded = Self.decodeCall(call.input) else {
                return "The transaction calls something other than a transfer of \(charge.currency.checksummed)."
            }
            guard let index = open.firstIndex(where: { matches(legs[$0], decoded.to, decoded.amount, decoded.memo, realm: realm) }) else {
                return "A transfer does not match the offer's recipient, amount or challenge-bound memo."
            }
            open.remove(at: index)
        }
        return nil
    }

    /// Why the receipt's logs do not show the offer's transfers from `sender`, or nil when they do.
    func matchLogs(_ logs: [Log], from sender: Address, realm: String) -> String? {
        var used = Set<Int>()
        for leg in legs {
            let found = logs.indices.first { index in
                guard !used.contains(index), logs[index].address == charge.currency else { return false }
                if let event = try? TransferWithMemoEvent(log: logs[index]) {
                    return event.from == sender && matches(leg, event.to, event.amount, event.memo, realm: realm)
                }
                if leg.memo == nil, let event = try? TransferEvent(log: logs[index]) {
                    return event.from == sender && event.to == leg.recipient && event.value == leg.amount
                }
                return false
            }
            guard let found else {
                return
                    "The transaction's logs do not show a transfer of \(leg.amount) to \(leg.recipient.checksummed) with this challenge's memo."
            }
            used.insert(found)
        }
        return nil
    }

    private func matches(_ leg: Leg, _ to: Address, _ amount: UInt256, _ memo: Hash32?, realm: String) -> Bool {
        guard leg.recipient == to, leg.amount == amount else { return false }
        switch leg.memo {
        case nil: return true
        case .exact(let expected): return memo == expected
        case .attribution: return memo.map { AttributionMemo.binds($0, challengeID: challengeID, realm: realm) } ?? false
        }
    }

    static func decodeCall(_ input: [UInt8]) -> (to: Address, amount: UInt256, memo: Hash32?)? {
        guard input.count >= 4 else { return nil }
        let selector = Array(input.prefix(4))
        let arguments = input.dropFirst(4)
        if selector == transferWithMemo, arguments.count == 96,
            let values = try? ABI.decode([.address, .uint(bits: 256), .fixedBytes(32)], from: arguments),
            let to = values[0].address, case .uint(let amount) = values[1], case .fixedBytes(let memo) = values[2],
            let hash = try? Hash32(bytes: memo)
        {
            return (to, amount, hash)
        }
        if selector == transfer, arguments.count == 64, let values = try? ABI.decode([.address, .uint(bits: 256)], from: arguments),
            let to = values[0].address, case .uint(let amount) = values[1]
        {
            return (to, amount, nil)
        }
        return nil
    }
}
