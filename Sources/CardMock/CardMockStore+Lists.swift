/// Lists with cursors, object lookup by id and `expand`.
extension CardMockStore {
    /// A page of `table` newest first: `limit` (1–100, default 10), `starting_after`, `ending_before`,
    /// `created[gt|gte|lt|lte]`. Reads those parameters and finishes `p`, so the caller reads its
    /// filters first.
    func list<Value>(
        prefix: String, _ table: [String: Value], url: String, _ p: inout Params, created: (Value) -> Int64, json: (Value) -> JSON,
        where include: (Value) -> Bool
    ) throws(StripeError) -> JSON {
        let limit = Int(try p.int("limit") ?? 10)
        guard (1...100).contains(limit) else {
            throw StripeError.invalidRequest(
                "This value must be greater than or equal to 1 and less than or equal to 100.", code: "parameter_invalid_integer",
                param: "limit")
        }
        let after = try p.nonEmpty("starting_after")
        let before = try p.nonEmpty("ending_before")
        let range = try p.range("created")
        try p.finish()
        var ids: [String] = []
        for id in (state.order[prefix] ?? []).reversed() {
            guard let value = table[id], include(value), range.contains(created(value)) else { continue }
            ids.append(id)
        }
        var page: ArraySlice<String>
        var hasMore: Bool
        if let after {
            guard table[after] != nil else { throw StripeError.noSuch("object", after, param: "starting_after") }
            let start = ids.firstIndex(of: after).map { $0 + 1 } ?? ids.endIndex
            page = ids[start...]
            hasMore = page.count > limit
            page = page.prefix(limit)
        } else if let before {
            guard table[before] != nil else { throw StripeError.noSuch("object", before, param: "ending_before") }
            let end = ids.firstIndex(of: before) ?? ids.startIndex
            page = ids[..<end]
            hasMore = page.count > limit
            page = page.suffix(limit)
        } else {
            hasMore = ids.count > limit
            page = ids.prefix(limit)
        }
        return listJSON(url: url, items: page.map { json(table[$0]!) }, hasMore: hasMore)
    }

    func listJSON(url: String, items: [JSON], hasMore: Bool) -> JSON {
        ["object": "list", "url": .string(url), "has_more": .bool(hasMore), "data": .array(items)]
    }

    /// The current rendering of any object by id.
    func render(_ id: String) -> JSON? {
        switch MockState.prefix(of: id) {
        case "pi": state.paymentIntents[id]?.json
        case "ch": state.charges[id]?.json
        case "re": state.refunds[id]?.json
        case "txn": state.balanceTransactions[id]?.json
        case "po": state.payouts[id]?.json
        case "dp": state.disputes[id].map(render)
        case "pm": state.paymentMethods[id]?.json
        case "evt": state.events[id]?.json
        case "we": state.webhookEndpoints[id]?.json(withSecret: false)
        case "spt": state.tokens[id]?.json(at: now)
        default: nil
        }
    }

    /// Replaces ids along each dotted path with the objects (`latest_charge.balance_transaction`;
    /// `data.source` inside lists). Paths through something that is not an id are left alone.
    func expand(_ json: JSON, paths: [String]) -> JSON {
        var result = json
        for path in paths { result = expand(result, path.split(separator: ".").map(String.init)[...]) }
        return result
    }

    private func expand(_ json: JSON, _ path: ArraySlice<String>) -> JSON {
        guard let head = path.first else { return json }
        let rest = path.dropFirst()
        switch json {
        case .array(let items):
            return .array(items.map { expand($0, path) })
        case .object(var members):
            guard let field = members[head] else { return json }
            members[head] = expandValue(field, rest)
            return .object(members)
        default:
            return json
        }
    }

    private func expandValue(_ value: JSON, _ rest: ArraySlice<String>) -> JSON {
        switch value {
        case .string(let id): return render(id).map { expand($0, rest) } ?? value
        case .array(let items): return .array(items.map { expandValue($0, rest) })
        default: return expand(value, rest)
        }
    }
}
